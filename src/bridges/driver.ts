/**
 * The bridge driver contract: everything the engine may ask of an audio bridge, and everything
 * it hears back. Any bridge type is supported by implementing `BridgeDriver` and passing the
 * driver conformance suite (test/bridges/conformance.test.ts) against the emulator.
 *
 * The engine imports this file and `errors.ts`, never a concrete driver; `registry.ts` turns a
 * configured driver name into an instance at the composition root.
 *
 * Shapes are plain data so the same types serve three places: the driver API, each driver's
 * codec (which encodes `BridgeCommand` and decodes `BridgeEvent` on the wire), and the emulator's
 * bridge model (which executes `BridgeCommand` and emits `BridgeEvent`). See docs/bridges.md.
 */
import type { Logger } from 'pino';
import type { TypedEmitter } from '../common/typed-emitter.js';

/** The bridge's own id for a conference (not WebEx's ExtConfID). */
export type BridgeConfId = string;
/** One port (one T1 channel) as `"span/channel"`, both 1-based: `"1/1"` .. `"56/24"`. */
export type PortId = string;
/** The bridge's id for one call leg: one caller's occupancy of one port, never reused. */
export type LegId = string;
/** Chosen by the engine for a dial-out, echoed by the bridge in dial-out and join events. */
export type DialOutId = string;

export type EntryTone = 'none' | 'beep' | 'announce';

export interface ConferenceOptions {
  /** Digits callers key in to join (the spec's ConfKey). */
  confKey: string;
  entryTone: EntryTone;
  silentJoin: boolean;
  muteOnEntry: boolean;
}

/** Who changed a mute state, as the bridge knows it. The engine maps these to the spec's MuteBy. */
export type BridgeMuteSource = 'keypad' | 'command' | 'bridge';

export type LeaveReason = 'hangup' | 'expelled' | 'dropped' | 'conference-ended';

/** Progress of a dial-out. `answered` means connected and, if asked, confirmed (pressed 1). */
export type DialOutState =
  | 'ringing'
  | 'answered'
  | 'busy'
  | 'no-answer'
  | 'rejected'
  | 'invalid'
  | 'failed'
  | 'cancelled';

export const TERMINAL_DIAL_OUT_STATES: ReadonlySet<DialOutState> = new Set([
  'answered', 'busy', 'no-answer', 'rejected', 'invalid', 'failed', 'cancelled',
]);

export interface PortUsage {
  total: number;
  inUse: number;
  /** Kept back for operators: never offered to conferences. */
  reserved: number;
}

// ---------------------------------------------------------------------------------------------
// Commands: what the engine asks. Each op's reply type is in CommandReplies.
// ---------------------------------------------------------------------------------------------

export type BridgeCommand =
  | { op: 'createConference'; options: ConferenceOptions }
  | { op: 'endConference'; bridgeConfId: BridgeConfId }
  | { op: 'lockConference'; bridgeConfId: BridgeConfId; locked: boolean }
  | { op: 'mute'; bridgeConfId: BridgeConfId; port: PortId; muted: boolean }
  | {
      op: 'muteAll';
      bridgeConfId: BridgeConfId;
      muted: boolean;
      /** This caller keeps their state (the presenter). */
      exceptPort?: PortId;
      /** Later callers join with `muted` until the next muteAll. */
      applyToNewCallers: boolean;
    }
  | { op: 'expel'; bridgeConfId: BridgeConfId; port: PortId }
  | {
      op: 'dialOut';
      bridgeConfId: BridgeConfId;
      dialOutId: DialOutId;
      /** `CountryCode,AreaCode,LocalNumber`, as in the TSP spec. */
      number: string;
      name?: string;
      /** The callee must press 1 before joining. */
      confirm: boolean;
      silent: boolean;
    }
  | { op: 'cancelDialOut'; bridgeConfId: BridgeConfId; dialOutId: DialOutId }
  /** subConfId 0 is the main conference. */
  | { op: 'moveToSubConference'; bridgeConfId: BridgeConfId; port: PortId; subConfId: number }
  /** Without a port: to the whole conference. */
  | { op: 'playTone'; bridgeConfId: BridgeConfId; port?: PortId; tone: 'beep' | 'announce' }
  /** Opaque Hybrid data for the bridge (W2A_CSPClientPassthrough). */
  | { op: 'passthrough'; bridgeConfId: BridgeConfId; port?: PortId; data: string }
  | { op: 'snapshot' };

export type BridgeOp = BridgeCommand['op'];
export type CommandOf<O extends BridgeOp> = Extract<BridgeCommand, { op: O }>;

export interface CommandReplies {
  createConference: { bridgeConfId: BridgeConfId };
  endConference: void;
  lockConference: void;
  mute: void;
  muteAll: void;
  expel: void;
  /** Resolves once the bridge has started dialling; the outcome comes as `dialOut` events. */
  dialOut: void;
  cancelDialOut: void;
  moveToSubConference: void;
  playTone: void;
  passthrough: void;
  snapshot: BridgeSnapshot;
}
export type ReplyOf<C extends BridgeCommand> = CommandReplies[C['op']];

export interface CommandOptions {
  /** Fail with BRIDGE_ERR_TIMEOUT when no reply came within this time. Default: the driver's. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Events: what the bridge reports, in bridge order, each at most once.
// ---------------------------------------------------------------------------------------------

interface LegRef {
  bridgeConfId: BridgeConfId;
  port: PortId;
  legId: LegId;
}

export type BridgeEvent =
  | (LegRef & {
      type: 'callerJoined';
      /** Caller's number (ANI), when known. */
      callerId?: string;
      /** The call-in number used (DNIS); absent for dial-outs. */
      dialledNumber?: string;
      name?: string;
      muted: boolean;
      subConfId: number;
      /** Set when this leg is the answered dial-out with that id. */
      dialOutId?: DialOutId;
    })
  | (LegRef & { type: 'callerLeft'; reason: LeaveReason })
  | (LegRef & { type: 'muteChanged'; muted: boolean; by: BridgeMuteSource })
  | (LegRef & { type: 'talking'; talking: boolean })
  | (LegRef & { type: 'dtmf'; digits: string })
  | (LegRef & { type: 'subConferenceChanged'; subConfId: number })
  | {
      type: 'dialOut';
      bridgeConfId: BridgeConfId;
      dialOutId: DialOutId;
      state: DialOutState;
      /** The port allocated to the call, once there is one. */
      port?: PortId;
    }
  | {
      type: 'conferenceChanged';
      bridgeConfId: BridgeConfId;
      state: 'started' | 'locked' | 'unlocked' | 'ended';
    }
  | { type: 'ports'; usage: PortUsage }
  | { type: 'passthrough'; bridgeConfId: BridgeConfId; port?: PortId; data: string };

export type BridgeEventType = BridgeEvent['type'];

// ---------------------------------------------------------------------------------------------
// Snapshot: the bridge's whole state, taken after every (re)connect for resynchronisation.
// ---------------------------------------------------------------------------------------------

export interface SnapshotCaller {
  port: PortId;
  legId: LegId;
  callerId?: string;
  dialledNumber?: string;
  name?: string;
  muted: boolean;
  mutedBy: BridgeMuteSource;
  talking: boolean;
  subConfId: number;
  dialOutId?: DialOutId;
}

export interface SnapshotDialOut {
  dialOutId: DialOutId;
  number: string;
  state: DialOutState;
  port?: PortId;
}

export interface SnapshotConference {
  bridgeConfId: BridgeConfId;
  options: ConferenceOptions;
  locked: boolean;
  /** The last muteAll, if any: what new callers get while applyToNewCallers holds. */
  muteAll?: { muted: boolean; exceptPort?: PortId; applyToNewCallers: boolean };
  callers: SnapshotCaller[];
  /** Dial-outs not yet answered or failed. */
  dialOuts: SnapshotDialOut[];
}

export interface BridgeSnapshot {
  /** Bridge clock, ms since epoch. */
  takenAt: number;
  /**
   * Sequence number of the last bridge event this snapshot reflects. A driver drops events
   * of the same connection at or below it, so nothing is applied twice after a resync.
   */
  eventSeq: number;
  ports: PortUsage;
  conferences: SnapshotConference[];
}

// ---------------------------------------------------------------------------------------------
// The link, capabilities, health.
// ---------------------------------------------------------------------------------------------

/** One state machine per driver; feeds metrics, /readyz and the live feed alike. */
export type LinkStatus =
  | { state: 'idle' }
  | { state: 'connecting'; attempt: number }
  | { state: 'up'; since: number }
  /** The connection failed or dropped; the loop retries after `retryInMs`. */
  | { state: 'down'; error: string; retryInMs: number }
  /** TCP looks open but no heartbeat came for `missed` intervals; treated as down. */
  | { state: 'stale'; missed: number }
  | { state: 'closed' };

/** What this bridge model can do, so the engine answers honestly when a feature is missing. */
export interface BridgeCapabilities {
  model: string;
  subConferences: boolean;
  /** Highest SubConfID the bridge accepts (0 when subConferences is false). */
  maxSubConferences: number;
  dialOut: boolean;
  dialOutConfirm: boolean;
  muteAllException: boolean;
  muteNewCallers: boolean;
  talkingEvents: boolean;
  tones: boolean;
  passthrough: boolean;
}

/** Counters a driver keeps for metrics and diagnosis. */
export interface LinkHealth {
  status: LinkStatus;
  /** ms since epoch of the last heartbeat (or any traffic) from the bridge; 0 if none yet. */
  lastHeartbeatAt: number;
  reconnects: number;
  /** Lines or frames from the bridge that could not be decoded (logged and skipped). */
  malformedFrames: number;
  /** Replies whose correlation id matched no pending command (late or stray). */
  unknownReplies: number;
  /** Events dropped as duplicates of one already delivered. */
  duplicateEvents: number;
  commandsInFlight: number;
  ports?: PortUsage;
}

export type DriverEvents = {
  status: [LinkStatus];
  /** After every (re)connect, before any event of the new connection is delivered. */
  resync: [BridgeSnapshot];
  event: [BridgeEvent];
  heartbeat: [{ at: number; ports?: PortUsage }];
};

/**
 * One bridge, reached over the network. Lifecycle: `connect()` starts the connection loop
 * (reconnect with back-off and jitter, heartbeat supervision) which runs until `close()`.
 * Commands while the link is not up fail at once with BRIDGE_ERR_LINK_DOWN: nothing is queued
 * for replay after a reconnect. Every command settles exactly once: resolved with its reply,
 * or rejected with a `BridgeError` (errors.ts) whose code says why.
 */
export interface BridgeDriver extends TypedEmitter<DriverEvents> {
  /** The configured bridge id (e.g. `bridge-a`), used in logs, metrics and the store. */
  readonly id: string;
  readonly capabilities: BridgeCapabilities;
  readonly status: LinkStatus;
  health(): LinkHealth;

  /** Starts the loop; resolves when the link is first up (and `resync` was emitted). */
  connect(): Promise<void>;
  /** Stops the loop, fails in-flight commands with BRIDGE_ERR_CLOSED. Idempotent. */
  close(): Promise<void>;

  execute<C extends BridgeCommand>(command: C, options?: CommandOptions): Promise<ReplyOf<C>>;
}

// ---------------------------------------------------------------------------------------------
// Configuration and construction (used by registry.ts and the composition root only).
// ---------------------------------------------------------------------------------------------

export interface DriverConfig {
  /** Bridge id, unique in the deployment. */
  id: string;
  /** Registry name: 'voyant2035' | 'voyant2313' | a provider's own. */
  driver: string;
  host: string;
  /** Command (or only) connection. */
  port: number;
  /** Notification connection, for drivers that use a second one (voyant2313). */
  notifyPort?: number;
  username: string;
  password: string;
  heartbeatIntervalMs: number;
  /** Declared stale after this many intervals without a heartbeat. */
  missedHeartbeats: number;
  commandTimeoutMs: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
}

export interface DriverDeps {
  logger: Logger;
}

export type DriverFactory = (config: DriverConfig, deps: DriverDeps) => BridgeDriver;
