/**
 * LinkedDriver: everything a bridge driver does that is not wire format. A concrete driver
 * subclasses it and supplies only how to open a logged-in session (`openSession`) and how to
 * turn a reply body into the command's reply (`decodeReply`); this class runs the one
 * reconnect loop, heartbeat supervision, correlation of replies, resync after every
 * (re)connect, event ordering and de-duplication, counters and the status union.
 *
 * Per connection: open session -> heartbeat watch starts -> `snapshot` command (events are held
 * back meanwhile) -> `resync` emitted -> status up -> held events after the snapshot delivered.
 * Any loss (socket error, stale heartbeat, fatal protocol error) takes one path, #lose: the
 * session is destroyed, in-flight commands fail with BRIDGE_ERR_LINK_DOWN, the loop waits a
 * jittered back-off and tries again. Nothing is replayed after a reconnect (docs/bridges.md).
 */
import type { Logger } from 'pino';
import { TypedEmitter } from '../../common/typed-emitter.js';
import type {
  BridgeCapabilities,
  BridgeCommand,
  BridgeDriver,
  BridgeSnapshot,
  CommandOptions,
  DriverConfig,
  DriverDeps,
  DriverEvents,
  LinkHealth,
  LinkStatus,
  PortUsage,
  ReplyOf,
} from '../driver.js';
import { BridgeError, isBridgeError } from '../errors.js';
import { cancellableDelay, reconnectDelayMs } from './backoff.js';
import { EventSequencer } from './event-sequencer.js';
import { HeartbeatMonitor } from './heartbeat-monitor.js';
import { PendingRequests } from './pending-requests.js';
import type { InboundFrame, LinkSession, LinkSink } from './session.js';

/** How long an out-of-order event waits for the missing one before the gap is skipped. */
const DEFAULT_REORDER_WINDOW_MS = 200;
/** Events held before the snapshot arrives or across a gap; beyond it something is wrong. */
const MAX_HELD_EVENTS = 10_000;
/** Raw bytes of a malformed frame kept in the log line. */
const MALFORMED_LOG_CHARS = 200;

export interface LinkOptions {
  reorderWindowMs?: number;
  /** For tests of the back-off: replaces Math.random in the jitter. */
  random?: () => number;
}

/** Internal link state; `session` only exists where one is open. */
type State =
  | { name: 'idle' }
  | { name: 'connecting'; conn: Connection }
  | { name: 'syncing'; conn: Connection }
  | { name: 'up'; conn: Connection; since: number }
  | { name: 'waiting' }
  | { name: 'closed' };

interface Connection {
  session: LinkSession | undefined;
  sequencer: EventSequencer;
  heartbeat: HeartbeatMonitor;
  lost: Promise<Error>;
  markLost: (error: Error) => void;
  ended: boolean;
}

export abstract class LinkedDriver<P> extends TypedEmitter<DriverEvents> implements BridgeDriver {
  abstract readonly capabilities: BridgeCapabilities;
  readonly id: string;
  protected readonly config: DriverConfig;
  protected readonly log: Logger;

  readonly #options: Required<LinkOptions>;
  readonly #pending = new PendingRequests();
  readonly #abort = new AbortController();
  #state: State = { name: 'idle' };
  #status: LinkStatus = { state: 'idle' };
  #loop: Promise<void> | undefined;
  #firstUp: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #counters = { lastHeartbeatAt: 0, reconnects: 0, malformedFrames: 0, unknownReplies: 0, duplicateEvents: 0 };
  #ports: PortUsage | undefined;
  #everUp = false;

  // Public so a subclass needs no constructor of its own; the class is abstract anyway.
  constructor(config: DriverConfig, deps: DriverDeps, options: LinkOptions = {}) {
    super();
    this.id = config.id;
    this.config = config;
    this.log = deps.logger.child({ bridge: config.id, driver: config.driver });
    this.#options = { reorderWindowMs: DEFAULT_REORDER_WINDOW_MS, random: Math.random, ...options };
    this.onListenerError = (event, err) => this.log.error({ err, event }, 'driver event listener threw');
  }

  /** Connects and logs in; resolves with the session once frames may flow to `sink`. Must reject when `signal` aborts. */
  protected abstract openSession(sink: LinkSink<P>, signal: AbortSignal): Promise<LinkSession>;

  /** Shapes a successful reply body into the command's reply; throws when the body does not fit. */
  protected abstract decodeReply<C extends BridgeCommand>(command: C, payload: P): ReplyOf<C>;

  get status(): LinkStatus {
    return this.#status;
  }

  health(): LinkHealth {
    return {
      status: this.#status,
      ...this.#counters,
      commandsInFlight: this.#pending.size,
      ...(this.#ports ? { ports: this.#ports } : {}),
    };
  }

  connect(): Promise<void> {
    if (this.#closing) return Promise.reject(new BridgeError('BRIDGE_ERR_CLOSED', 'connect() after close()'));
    if (!this.#firstUp) {
      this.#firstUp = new Promise<void>((resolve, reject) => {
        this.#loop = this.#run(resolve, reject);
      });
    }
    return this.#firstUp;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  execute<C extends BridgeCommand>(command: C, options: CommandOptions = {}): Promise<ReplyOf<C>> {
    const state = this.#state;
    if (state.name === 'closed') return Promise.reject(new BridgeError('BRIDGE_ERR_CLOSED', `${command.op} not sent`));
    if (state.name !== 'up') {
      return Promise.reject(new BridgeError('BRIDGE_ERR_LINK_DOWN', `${command.op} not sent: the link is ${this.#status.state}`));
    }
    const missing = unsupported(this.capabilities, command);
    if (missing) return Promise.reject(new BridgeError('BRIDGE_ERR_UNSUPPORTED', `${this.capabilities.model}: ${missing}`));
    return this.#request(state.conn, command, options.timeoutMs ?? this.config.commandTimeoutMs);
  }

  async #run(firstUp: () => void, failFirstUp: (err: Error) => void): Promise<void> {
    const signal = this.#abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      attempt += 1;
      const conn = this.#newConnection();
      this.#state = { name: 'connecting', conn };
      this.#setStatus({ state: 'connecting', attempt });
      let error: Error;
      try {
        const upAt = await this.#establish(conn, signal);
        firstUp();
        error = await conn.lost;
        // Only a link that stayed up a while earns a fresh back-off; a bridge that accepts and
        // drops at once keeps backing off instead of being hammered.
        if (Date.now() - upAt >= this.config.reconnectMaxDelayMs) attempt = 0;
      } catch (err) {
        error = toError(err);
        this.#lose(conn, error);
      }
      if (signal.aborted) break;
      const retryInMs = reconnectDelayMs(attempt, this.config.reconnectInitialDelayMs, this.config.reconnectMaxDelayMs, this.#options.random);
      this.#state = { name: 'waiting' };
      this.log.warn({ err: error.message, retryInMs, attempt }, 'bridge link down');
      this.#setStatus({ state: 'down', error: error.message, retryInMs });
      await cancellableDelay(retryInMs, signal);
    }
    failFirstUp(new BridgeError('BRIDGE_ERR_CLOSED', 'closed before the link came up'));
  }

  /** Opens, logs in and resyncs one connection; resolves with the time it came up. */
  async #establish(conn: Connection, signal: AbortSignal): Promise<number> {
    const sink: LinkSink<P> = {
      frame: (frame) => this.#onFrame(conn, frame),
      lost: (error) => this.#lose(conn, error),
    };
    const openSignal = AbortSignal.any([signal, AbortSignal.timeout(this.config.commandTimeoutMs)]);
    const session = await this.openSession(sink, openSignal);
    conn.session = session;
    if (conn.ended) {
      // Lost (or closed) while logging in: #lose ran before there was a session to destroy.
      session.destroy();
      throw await conn.lost;
    }
    conn.heartbeat.start();
    this.#state = { name: 'syncing', conn };
    const snapshot = await this.#request(conn, { op: 'snapshot' }, this.config.commandTimeoutMs);
    if (conn.ended) throw await conn.lost;
    const since = Date.now();
    this.#state = { name: 'up', conn, since };
    if (this.#everUp) this.#counters.reconnects += 1;
    this.#everUp = true;
    this.#ports = snapshot.ports;
    this.log.info({ eventSeq: snapshot.eventSeq, conferences: snapshot.conferences.length }, 'bridge link up, resynchronised');
    this.emit('resync', snapshot);
    this.#setStatus({ state: 'up', since });
    conn.sequencer.start(snapshot.eventSeq);
    return since;
  }

  #newConnection(): Connection {
    let markLost!: (error: Error) => void;
    const lost = new Promise<Error>((resolve) => (markLost = resolve));
    const conn: Connection = {
      session: undefined,
      lost,
      markLost,
      ended: false,
      sequencer: new EventSequencer(
        {
          deliver: (event) => {
            if (event.type === 'ports') this.#ports = event.usage;
            this.emit('event', event);
          },
          duplicate: () => {
            this.#counters.duplicateEvents += 1;
          },
          gapSkipped: (from, to) => this.log.warn({ from, to }, 'bridge events never arrived; skipped'),
        },
        { reorderWindowMs: this.#options.reorderWindowMs, maxHeld: MAX_HELD_EVENTS },
      ),
      heartbeat: new HeartbeatMonitor(
        { intervalMs: this.config.heartbeatIntervalMs, maxMissed: this.config.missedHeartbeats },
        (missed) => {
          if (conn.ended) return;
          this.#setStatus({ state: 'stale', missed });
          this.#lose(conn, new Error(`no heartbeat for ${missed} intervals`));
        },
      ),
    };
    return conn;
  }

  /** The one way a connection ends, whatever the cause. Idempotent per connection. */
  #lose(conn: Connection, error: Error): void {
    if (conn.ended) return;
    conn.ended = true;
    conn.heartbeat.stop();
    conn.sequencer.stop();
    conn.session?.destroy();
    const closing = this.#abort.signal.aborted;
    this.#pending.rejectAll(closing ? 'BRIDGE_ERR_CLOSED' : 'BRIDGE_ERR_LINK_DOWN', closing ? 'the driver was closed' : error.message);
    conn.markLost(error);
  }

  #onFrame(conn: Connection, frame: InboundFrame<P>): void {
    if (conn.ended) return;
    switch (frame.kind) {
      case 'reply':
        this.#onReply(frame.id, frame.outcome);
        return;
      case 'event':
        conn.sequencer.push(frame.seq, frame.event);
        if (conn.sequencer.overflowing) this.#lose(conn, new Error('too many events before the resync snapshot'));
        return;
      case 'heartbeat': {
        conn.heartbeat.beat();
        this.#counters.lastHeartbeatAt = Date.now();
        if (frame.ports) this.#ports = frame.ports;
        this.emit('heartbeat', frame.ports ? { at: frame.at, ports: frame.ports } : { at: frame.at });
        return;
      }
      case 'malformed':
        this.#counters.malformedFrames += 1;
        // A decoder's reason quotes the offending value, which may be as long as the frame (64 MiB).
        this.log.warn({ raw: frame.raw.slice(0, MALFORMED_LOG_CHARS), reason: frame.reason.slice(0, MALFORMED_LOG_CHARS) }, 'malformed frame from bridge skipped');
    }
  }

  #onReply(id: string, outcome: Extract<InboundFrame<P>, { kind: 'reply' }>['outcome']): void {
    const command = this.#pending.commandOf(id);
    if (!command) {
      this.#counters.unknownReplies += 1;
      this.log.debug({ id }, 'reply to no pending command dropped');
      return;
    }
    if (!outcome.ok) {
      this.#pending.reject(id, outcome.error);
      return;
    }
    try {
      this.#pending.resolve(id, this.decodeReply(command, outcome.payload));
    } catch (err) {
      this.#counters.malformedFrames += 1;
      const error = isBridgeError(err) ? err : new BridgeError('BRIDGE_ERR_PROTOCOL', `${command.op} reply: ${toError(err).message}`, { cause: err });
      this.log.warn({ id, op: command.op, err: error.message }, 'reply could not be decoded');
      this.#pending.reject(id, error);
    }
  }

  #request<C extends BridgeCommand>(conn: Connection, command: C, timeoutMs: number): Promise<ReplyOf<C>> {
    const { id, reply } = this.#pending.open(command, timeoutMs);
    try {
      if (!conn.session) throw new BridgeError('BRIDGE_ERR_LINK_DOWN', 'no session');
      conn.session.send(id, command);
    } catch (err) {
      this.#pending.reject(id, isBridgeError(err) ? err : new BridgeError('BRIDGE_ERR_INVALID', toError(err).message, { cause: err }));
    }
    return reply as Promise<ReplyOf<C>>;
  }

  async #shutdown(): Promise<void> {
    this.#abort.abort();
    const state = this.#state;
    this.#state = { name: 'closed' };
    if ('conn' in state) this.#lose(state.conn, new Error('closed'));
    this.#pending.rejectAll('BRIDGE_ERR_CLOSED', 'the driver was closed');
    await this.#loop;
    this.#setStatus({ state: 'closed' });
  }

  #setStatus(status: LinkStatus): void {
    if (this.#state.name === 'closed' && status.state !== 'closed') return;
    this.#status = status;
    this.emit('status', status);
  }
}

/** Why this bridge cannot carry `command`, judged from its capabilities; undefined when it can. */
function unsupported(caps: BridgeCapabilities, command: BridgeCommand): string | undefined {
  switch (command.op) {
    case 'passthrough':
      return caps.passthrough ? undefined : 'no passthrough';
    case 'playTone':
      return caps.tones ? undefined : 'no tones';
    case 'dialOut':
      if (!caps.dialOut) return 'no dial-out';
      return command.confirm && !caps.dialOutConfirm ? 'no dial-out confirmation' : undefined;
    case 'cancelDialOut':
      return caps.dialOut ? undefined : 'no dial-out';
    case 'muteAll':
      if (command.exceptPort !== undefined && !caps.muteAllException) return 'no mute-all exception';
      return command.applyToNewCallers && !caps.muteNewCallers ? 'new callers cannot join muted' : undefined;
    case 'moveToSubConference':
      if (!caps.subConferences && command.subConfId !== 0) return 'no sub-conferences';
      return command.subConfId > caps.maxSubConferences ? `sub-conferences only up to ${caps.maxSubConferences}` : undefined;
    default:
      return undefined;
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
