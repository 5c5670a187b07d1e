/**
 * What a protocol server sees of the emulated bridge: commands in, sequenced events and
 * heartbeats out, and a signal to drop its connections. The injected faults (delay, refuse,
 * duplicate, reorder, silent heartbeats, drops, restarts) are applied here, below the wire, so
 * both protocol servers (server-2035.ts, server-2313.ts) suffer them alike and stay free of
 * fault logic: a server only encodes what it is handed.
 */
import type { BridgeCommand, BridgeEvent, PortUsage, ReplyOf } from '../driver.js';
import { BridgeError } from '../errors.js';
import { systemClock, type Cancel, type Clock } from './clock.js';
import type { BridgeModel } from './model.js';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
export const DEFAULT_USERNAME = 'tsp';
export const DEFAULT_PASSWORD = 'tsp';
export const EMULATOR_MODEL_NAME = 'voyant-emulator';
/** A reordered event waits this long for a successor to swap with before it goes out alone. */
export const REORDER_HOLD_MS = 50;

/** A bridge event with the bridge's own sequence number (monotonic per bridge, from 1). */
export interface SequencedEvent {
  seq: number;
  event: BridgeEvent;
}

export interface Heartbeat {
  /** Bridge clock, ms since epoch. */
  at: number;
  ports: PortUsage;
}

export interface EmulatorEndpoint {
  /** Reported at login, e.g. 'voyant-emulator'. */
  readonly model: string;
  checkLogin(username: string, password: string): boolean;
  /** Applies the delay/refuse faults; rejects with a BridgeError (errors.ts). */
  execute<C extends BridgeCommand>(command: C): Promise<ReplyOf<C>>;
  /** Applies the duplicate/reorder faults. Returns the unsubscribe function. */
  subscribe(listener: (e: SequencedEvent) => void): () => void;
  /** Silent while heartbeats are stopped (TCP stays open). Returns the unsubscribe function. */
  onHeartbeat(listener: (hb: Heartbeat) => void): () => void;
  /** The 'drop connection' fault and bridge restarts: the server must destroy its sockets. */
  onDrop(listener: () => void): () => void;
}

/** A listening protocol server. `ports` names each bound port, e.g. `{ voyant2035: 7035 }`. */
export interface ProtocolServer {
  readonly ports: Record<string, number>;
  close(): Promise<void>;
}

/** The injectable faults that persist until cleared; drops and restarts are one-shot actions. */
export interface Faults {
  /** Heartbeats stop while TCP stays open. */
  silentHeartbeats: boolean;
  /** Every command waits this long before the bridge runs it. */
  commandDelayMs: number;
  /** Every command fails with BRIDGE_ERR_REFUSED. */
  refuseCommands: boolean;
  /** Every event is delivered twice. */
  duplicateEvents: boolean;
  /** Adjacent events are swapped. */
  reorderEvents: boolean;
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  silentHeartbeats: false,
  commandDelayMs: 0,
  refuseCommands: false,
  duplicateEvents: false,
  reorderEvents: false,
});

export interface BridgeEndpointOptions {
  clock?: Clock;
  heartbeatIntervalMs?: number;
  username?: string;
  password?: string;
}

/** Counts kept for the benchmark: what the model emitted and what went out to servers. */
export interface EndpointCounters {
  eventsEmitted: number;
  eventsDelivered: number;
  heartbeats: number;
}

/** The model seen through the faults; one per emulator, shared by both protocol servers. */
export class BridgeEndpoint implements EmulatorEndpoint {
  readonly model = EMULATOR_MODEL_NAME;
  readonly #bridge: BridgeModel;
  readonly #clock: Clock;
  readonly #heartbeatIntervalMs: number;
  readonly #credentials: { username: string; password: string };
  readonly #eventListeners = new Set<(e: SequencedEvent) => void>();
  readonly #heartbeatListeners = new Set<(hb: Heartbeat) => void>();
  readonly #dropListeners = new Set<() => void>();
  readonly #pendingDelays = new Set<{ cancel: Cancel; reject: (err: Error) => void }>();
  readonly #counters: EndpointCounters = { eventsEmitted: 0, eventsDelivered: 0, heartbeats: 0 };
  #faults: Faults = { ...NO_FAULTS };
  #held: { event: SequencedEvent; cancelRelease: Cancel } | undefined;
  #state: { kind: 'idle' } | { kind: 'beating'; cancelBeat: Cancel } | { kind: 'closed' } = { kind: 'idle' };
  readonly #unsubscribeModel: () => void;

  constructor(bridge: BridgeModel, options: BridgeEndpointOptions = {}) {
    this.#bridge = bridge;
    this.#clock = options.clock ?? systemClock;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!(this.#heartbeatIntervalMs > 0)) throw new RangeError('heartbeat interval must be positive');
    this.#credentials = { username: options.username ?? DEFAULT_USERNAME, password: options.password ?? DEFAULT_PASSWORD };
    const onEvent = (e: SequencedEvent): void => this.#onModelEvent(e);
    bridge.on('event', onEvent);
    this.#unsubscribeModel = () => bridge.off('event', onEvent);
  }

  /** Starts the heartbeat loop. */
  start(): void {
    if (this.#state.kind !== 'idle') return;
    const beat = (): void => {
      if (!this.#faults.silentHeartbeats) {
        this.#counters.heartbeats++;
        const hb = { at: this.#clock.now(), ports: this.#bridge.usage() };
        for (const listener of [...this.#heartbeatListeners]) callSafely(() => listener(hb));
      }
      // A listener may have closed the endpoint.
      if (this.#state.kind !== 'beating') return;
      this.#state = { kind: 'beating', cancelBeat: this.#clock.schedule(this.#heartbeatIntervalMs, beat) };
    };
    this.#state = { kind: 'beating', cancelBeat: this.#clock.schedule(this.#heartbeatIntervalMs, beat) };
  }

  /** Stops heartbeats and fails commands still waiting out a delay. Idempotent. */
  close(): void {
    if (this.#state.kind === 'beating') this.#state.cancelBeat();
    this.#state = { kind: 'closed' };
    this.#unsubscribeModel();
    this.#held?.cancelRelease();
    this.#held = undefined;
    for (const pending of [...this.#pendingDelays]) {
      pending.cancel();
      pending.reject(new BridgeError('BRIDGE_ERR_REFUSED', 'the emulator is closing'));
    }
    this.#pendingDelays.clear();
  }

  checkLogin(username: string, password: string): boolean {
    return username === this.#credentials.username && password === this.#credentials.password;
  }

  async execute<C extends BridgeCommand>(command: C): Promise<ReplyOf<C>> {
    if (this.#state.kind === 'closed') throw new BridgeError('BRIDGE_ERR_REFUSED', 'the emulator is closed');
    if (this.#faults.refuseCommands) throw new BridgeError('BRIDGE_ERR_REFUSED', 'refuse-commands fault');
    if (this.#faults.commandDelayMs > 0) await this.#delay(this.#faults.commandDelayMs);
    return this.#bridge.execute(command);
  }

  subscribe(listener: (e: SequencedEvent) => void): () => void {
    return addTo(this.#eventListeners, listener);
  }

  onHeartbeat(listener: (hb: Heartbeat) => void): () => void {
    return addTo(this.#heartbeatListeners, listener);
  }

  onDrop(listener: () => void): () => void {
    return addTo(this.#dropListeners, listener);
  }

  get faults(): Faults {
    return { ...this.#faults };
  }

  get counters(): EndpointCounters {
    return { ...this.#counters };
  }

  setFaults(faults: Partial<Faults>): void {
    if (faults.commandDelayMs !== undefined && !(faults.commandDelayMs >= 0)) throw new RangeError('commandDelayMs must be >= 0');
    this.#faults = { ...this.#faults, ...faults };
    if (!this.#faults.reorderEvents) this.#releaseHeld();
  }

  clearFaults(): void {
    this.setFaults(NO_FAULTS);
  }

  /** Every protocol connection is cut now; drivers must reconnect and resync. */
  dropConnections(): void {
    for (const listener of [...this.#dropListeners]) callSafely(listener);
  }

  /** The bridge restarts, keeping or losing its calls; every connection is cut. */
  restart(keepState: boolean): void {
    if (!keepState) {
      // Whatever was held back belonged to the bridge's previous life.
      this.#held?.cancelRelease();
      this.#held = undefined;
    }
    this.#bridge.restart(keepState);
    this.dropConnections();
  }

  #onModelEvent(e: SequencedEvent): void {
    this.#counters.eventsEmitted++;
    if (!this.#faults.reorderEvents) {
      this.#deliver(e);
      return;
    }
    const held = this.#held;
    if (!held) {
      this.#held = { event: e, cancelRelease: this.#clock.schedule(REORDER_HOLD_MS, () => this.#releaseHeld()) };
      return;
    }
    held.cancelRelease();
    this.#held = undefined;
    this.#deliver(e);
    this.#deliver(held.event);
  }

  #releaseHeld(): void {
    const held = this.#held;
    if (!held) return;
    held.cancelRelease();
    this.#held = undefined;
    this.#deliver(held.event);
  }

  #deliver(e: SequencedEvent): void {
    const copies = this.#faults.duplicateEvents ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.#counters.eventsDelivered++;
      for (const listener of [...this.#eventListeners]) callSafely(() => listener(e));
    }
  }

  #delay(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending = {
        cancel: this.#clock.schedule(ms, () => {
          this.#pendingDelays.delete(pending);
          resolve();
        }),
        reject,
      };
      this.#pendingDelays.add(pending);
    });
  }
}

function addTo<T>(set: Set<T>, listener: T): () => void {
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

/** A server's listener that throws must not stop the others from hearing the bridge. */
function callSafely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.emitWarning(`emulator endpoint listener threw: ${String(err)}`);
  }
}
