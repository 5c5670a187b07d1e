/**
 * The sd_notify protocol (systemd.service Type=notify): the daemon tells systemd READY=1 once
 * it can take traffic, STATUS= lines with live counts, WATCHDOG=1 pings from the event loop (a
 * blocked loop misses them and systemd restarts the service), and STOPPING=1 on shutdown.
 *
 * The notify socket is an AF_UNIX datagram socket, which Node cannot open by itself. The native
 * `unix-dgram` module (an optional dependency, loaded on demand) sends from this process, which
 * `NotifyAccess=main` requires. Without it, or for an abstract socket (`@...`, which unix-dgram
 * cannot address), the `systemd-notify` command sends instead; systemd only accepts that from a
 * child with `NotifyAccess=all`. Without NOTIFY_SOCKET (not under systemd) nothing is attempted.
 * https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

/** What carries a notification to systemd; `none` when not run by systemd. */
export type NotifyTransport = 'unix-dgram' | 'systemd-notify' | 'none';

/** The subset of a unix-dgram socket used here. */
interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error) => void): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(): void;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram'): DgramSocket;
}

/** Environment variables systemd sets for a Type=notify service. */
export interface NotifyEnv {
  NOTIFY_SOCKET?: string | undefined;
  WATCHDOG_USEC?: string | undefined;
  WATCHDOG_PID?: string | undefined;
}

const SYSTEMD_NOTIFY_TIMEOUT_MS = 5_000;

export class SystemdNotifier {
  readonly transport: NotifyTransport;
  /** Half the watchdog interval systemd asked for, or undefined when the watchdog is off. */
  readonly watchdogIntervalMs: number | undefined;
  #socketPath: string;
  #socket: DgramSocket | undefined;
  #log: Logger;
  #closed = false;

  private constructor(transport: NotifyTransport, socketPath: string, socket: DgramSocket | undefined, watchdogIntervalMs: number | undefined, log: Logger) {
    this.transport = transport;
    this.#socketPath = socketPath;
    this.#socket = socket;
    this.watchdogIntervalMs = watchdogIntervalMs;
    this.#log = log;
  }

  /**
   * Chooses the transport from the environment; never throws (a failure only costs
   * notifications). Synchronous, so the daemon's signal handlers follow start-up without a gap.
   */
  static open(log: Logger, env: NotifyEnv = process.env): SystemdNotifier {
    const socketPath = env.NOTIFY_SOCKET ?? '';
    const watchdog = watchdogIntervalMs(env);
    if (socketPath === '') return new SystemdNotifier('none', '', undefined, undefined, log);
    if (!socketPath.startsWith('@')) {
      const socket = openUnixDgram(log);
      if (socket) return new SystemdNotifier('unix-dgram', socketPath, socket, watchdog, log);
    }
    log.info({ notifySocket: socketPath }, 'sd_notify through the systemd-notify command: the unit needs NotifyAccess=all for systemd to accept it');
    return new SystemdNotifier('systemd-notify', socketPath, undefined, watchdog, log);
  }

  /** Sends `KEY=value` lines; resolves once handed over (errors are logged, not thrown). */
  send(...assignments: string[]): Promise<void> {
    if (this.#closed || this.transport === 'none') return Promise.resolve();
    const state = assignments.join('\n');
    return new Promise((resolve) => {
      const done = (err?: Error | null): void => {
        if (err) this.#log.warn({ err, state: state.split('\n')[0] }, 'sd_notify failed; systemd may consider the service not ready or hung');
        resolve();
      };
      if (this.#socket) {
        const buf = Buffer.from(state);
        this.#socket.send(buf, 0, buf.length, this.#socketPath, done);
      } else {
        execFile('systemd-notify', assignments, { timeout: SYSTEMD_NOTIFY_TIMEOUT_MS, env: { ...process.env, NOTIFY_SOCKET: this.#socketPath } }, done);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.close();
  }
}

/** Half of WATCHDOG_USEC in ms, as sd_watchdog_enabled advises; undefined if it is not for this process. */
export function watchdogIntervalMs(env: NotifyEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2_000));
}

const requireOptional = createRequire(import.meta.url);

function openUnixDgram(log: Logger): DgramSocket | undefined {
  try {
    // A native CommonJS module, loaded only under systemd: absent when the optional dependency failed to build.
    const socket = (requireOptional('unix-dgram') as UnixDgramModule).createSocket('unix_dgram');
    socket.on('error', (err) => log.warn({ err }, 'sd_notify socket error'));
    return socket;
  } catch (err) {
    log.info({ err }, 'unix-dgram is not available');
    return undefined;
  }
}
