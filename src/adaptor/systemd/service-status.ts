/**
 * What the daemon tells systemd over its life: READY=1 once listeners and store are up, then a
 * STATUS= line with live counts (shown by `systemctl status`) every STATUS_INTERVAL_MS, WATCHDOG=1
 * from the event loop at half the watchdog interval, and STOPPING=1 when the ordered stop begins.
 * The pings ride on plain timers on purpose: a loop blocked for longer than WatchdogSec= sends
 * none, and systemd restarts the service.
 */
import type { Engine } from '../engine.js';
import type { SystemdNotifier } from './notify.js';

export const STATUS_INTERVAL_MS = 10_000;

/** The live counts in the STATUS= line. */
export interface ServiceCounts {
  conferences: number;
  callers: number;
  bridgesUp: number;
  bridges: number;
  outboxDepth: number;
  /** A cluster member's role, shown first. */
  role?: string;
}

/** The counts over the engines an instance runs (one; or, on a cluster member, one per take-over, none on a standby). */
export function engineCounts(engines: readonly Pick<Engine, 'snapshot' | 'outboxDepth'>[]): ServiceCounts {
  const snapshots = engines.map((e) => e.snapshot());
  const conferences = snapshots.flatMap((s) => s.conferences);
  const bridges = snapshots.flatMap((s) => s.bridges);
  return {
    conferences: conferences.length,
    callers: conferences.reduce((sum, c) => sum + c.callers.filter((x) => x.phase === 'joined').length, 0),
    bridgesUp: bridges.filter((b) => b.link.state === 'up').length,
    bridges: bridges.length,
    outboxDepth: engines.reduce((sum, e) => sum + e.outboxDepth().messages, 0),
  };
}

type Phase = 'starting' | 'ready' | 'stopping' | 'closed';

export class ServiceStatus {
  #notifier: SystemdNotifier;
  #counts: () => ServiceCounts;
  #statusIntervalMs: number;
  #phase: Phase = 'starting';
  #statusTimer: NodeJS.Timeout | undefined;
  #watchdogTimer: NodeJS.Timeout | undefined;

  constructor(notifier: SystemdNotifier, counts: () => ServiceCounts, statusIntervalMs = STATUS_INTERVAL_MS) {
    this.#notifier = notifier;
    this.#counts = counts;
    this.#statusIntervalMs = statusIntervalMs;
  }

  /** Tells systemd the service is up and starts the status and watchdog timers. */
  async ready(): Promise<void> {
    if (this.#phase !== 'starting') return;
    this.#phase = 'ready';
    await this.#notifier.send('READY=1', `STATUS=${statusLine(this.#counts())}`, `MAINPID=${process.pid}`);
    if (this.#notifier.transport === 'none') return;
    // Neither timer may keep a stopped daemon alive.
    this.#statusTimer = setInterval(() => void this.#notifier.send(`STATUS=${statusLine(this.#counts())}`), this.#statusIntervalMs).unref();
    const watchdogMs = this.#notifier.watchdogIntervalMs;
    if (watchdogMs !== undefined) {
      void this.#notifier.send('WATCHDOG=1');
      this.#watchdogTimer = setInterval(() => void this.#notifier.send('WATCHDOG=1'), watchdogMs).unref();
    }
  }

  /** The ordered stop began: systemd shows it and stops expecting status lines. */
  async stopping(reason: string): Promise<void> {
    if (this.#phase === 'stopping' || this.#phase === 'closed') return;
    this.#phase = 'stopping';
    // The watchdog keeps pinging through the drain: a stop that hangs is TimeoutStopSec='s to end.
    clearInterval(this.#statusTimer);
    await this.#notifier.send('STOPPING=1', `STATUS=stopping (${reason})`);
  }

  close(): void {
    this.#phase = 'closed';
    clearInterval(this.#statusTimer);
    clearInterval(this.#watchdogTimer);
    this.#notifier.close();
  }
}

export function statusLine(c: ServiceCounts): string {
  return `${c.role === undefined ? '' : `${c.role}: `}${c.conferences} conference(s), ${c.callers} caller(s), bridges up ${c.bridgesUp}/${c.bridges}, outbox ${c.outboxDepth}`;
}
