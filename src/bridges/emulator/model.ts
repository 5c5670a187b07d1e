/**
 * The emulated bridge itself: one chassis of ports, its conferences, callers and dial-outs.
 * It executes every `BridgeCommand` of the driver contract, throws the contract's `BridgeError`
 * codes for refusals, and emits every `BridgeEvent` with a per-bridge sequence number. Both
 * protocol servers sit on one model, so what a driver sees is what the other would see.
 *
 * The model is plain deterministic code: the clock (and its timers) and the randomness are
 * injected, so a test with a FakeClock and a seed replays exactly. The keypad, call-ins and
 * hang-ups come from the control interface or the traffic generator (see docs/emulator.md).
 */
import type {
  BridgeCommand,
  BridgeConfId,
  BridgeEvent,
  BridgeOp,
  BridgeSnapshot,
  CommandOf,
  CommandReplies,
  LeaveReason,
  LegId,
  PortId,
  PortUsage,
  ReplyOf,
} from '../driver.js';
import { BridgeError } from '../errors.js';
import { TypedEmitter } from '../../common/typed-emitter.js';
import { systemClock, type Clock } from './clock.js';
import { seededRandom, type Random } from './random.js';
import { PortTable } from './port-table.js';
import { DEFAULT_DIAL_OUT_ODDS, decideDialOut, validateDialOutPlan, type DialOutPlanSettings } from './dial-out-plan.js';
import { Conference, type Caller, type ConferenceDeps, type DialOut } from './conference.js';
import type { SequencedEvent } from './endpoint.js';

export const DEFAULT_SPANS = 56;
export const DEFAULT_CHANNELS_PER_SPAN = 24;
export const DEFAULT_CALL_IN_NUMBERS = ['1,408,5550100', '1,800,5550100'] as const;
export const DEFAULT_KEY_ATTEMPTS = 3;
export const DEFAULT_RING_MS = 3_000;
export const DEFAULT_MAX_SUB_CONFERENCES = 9;

const CONF_KEY_PATTERN = /^\d{4,16}$/;
const DTMF_PATTERN = /^[0-9*#]+$/;
const DIAL_NUMBER_PATTERN = /^\d{1,4},\d{0,6},\d{1,15}$/;
const ENTRY_TONES = new Set(['none', 'beep', 'announce']);

export interface BridgeModelOptions {
  spans?: number;
  channelsPerSpan?: number;
  reservedPorts?: number;
  /** The numbers callers may dial in on (DNIS), `CountryCode,AreaCode,LocalNumber`. */
  callInNumbers?: readonly string[];
  /** Wrong conference keys a caller may key in before being dropped. */
  keyAttempts?: number;
  /** How long a dial-out rings when no rule says otherwise. */
  ringMs?: number;
  /** Highest sub-conference id; 0 means the bridge has none. */
  maxSubConferences?: number;
  /** Echo each passthrough command back as a `passthrough` event (default true). */
  echoPassthrough?: boolean;
  clock?: Clock;
  random?: Random;
}

/** A caller who dialled in and is being asked for the conference key. */
interface Prompt {
  port: PortId;
  legId: LegId;
  dialledNumber: string;
  callerId?: string;
  name?: string;
  wrongKeys: number;
  keyed: string;
}

/** Who holds a seized port. */
export type Occupant =
  | { kind: 'prompting'; prompt: Prompt }
  | { kind: 'ringing'; dialOut: DialOut }
  | { kind: 'caller'; caller: Caller };

export interface CallInRequest {
  dialledNumber: string;
  /** Keyed digits: the conference key then `#`, possibly several attempts, then keypad digits. */
  digits: string;
  callerId?: string;
  name?: string;
}

export type CallInResult =
  | { state: 'joined'; port: PortId; legId: LegId; bridgeConfId: BridgeConfId }
  | { state: 'prompting'; port: PortId; legId: LegId; attemptsLeft: number };

/** The bridge's true state: the snapshot plus what only the emulator can see. */
export interface EmulatorState extends BridgeSnapshot {
  conferences: ReturnType<Conference['describe']>[];
  prompting: { port: PortId; legId: LegId; dialledNumber: string; callerId?: string; attemptsLeft: number }[];
}

type Handlers = { [O in BridgeOp]: (command: CommandOf<O>) => CommandReplies[O] };

export class BridgeModel extends TypedEmitter<{ event: [SequencedEvent] }> {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #ports: PortTable<Occupant>;
  readonly #callInNumbers: ReadonlySet<string>;
  readonly #keyAttempts: number;
  readonly #conferenceDeps: ConferenceDeps;
  readonly #conferences = new Map<BridgeConfId, Conference>();
  readonly #byKey = new Map<string, Conference>();
  #dialOutPlan: DialOutPlanSettings;
  #seq = 0;
  #confCounter = 0;
  #legCounter = 0;
  #lastUsage: PortUsage;
  /** Nesting of changes in progress; usage is reported when the outermost ends. */
  #changeDepth = 0;

  constructor(options: BridgeModelOptions = {}) {
    super();
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? seededRandom(1);
    this.#ports = new PortTable({
      spans: options.spans ?? DEFAULT_SPANS,
      channelsPerSpan: options.channelsPerSpan ?? DEFAULT_CHANNELS_PER_SPAN,
      reserved: options.reservedPorts ?? 0,
    });
    this.#callInNumbers = new Set(options.callInNumbers ?? DEFAULT_CALL_IN_NUMBERS);
    this.#keyAttempts = options.keyAttempts ?? DEFAULT_KEY_ATTEMPTS;
    this.#conferenceDeps = {
      ports: this.#ports,
      emit: (event) => this.#emit(event),
      schedule: (delayMs, callback) => this.#clock.schedule(delayMs, () => this.#changingPorts(callback)),
      maxSubConferences: options.maxSubConferences ?? DEFAULT_MAX_SUB_CONFERENCES,
      echoPassthrough: options.echoPassthrough ?? true,
    };
    this.#dialOutPlan = { rules: [], odds: DEFAULT_DIAL_OUT_ODDS, ringMs: options.ringMs ?? DEFAULT_RING_MS };
    this.#lastUsage = this.#ports.usage();
  }

  get callInNumbers(): readonly string[] {
    return [...this.#callInNumbers];
  }

  usage(): PortUsage {
    return this.#ports.usage();
  }

  /** Seq of the last event emitted (0 before the first). */
  get eventSeq(): number {
    return this.#seq;
  }

  /** Runs one command from a driver; throws BridgeError when the bridge refuses it. */
  execute<C extends BridgeCommand>(command: C): ReplyOf<C> {
    const handler = this.#handlers[command.op] as unknown as ((c: C) => ReplyOf<C>) | undefined;
    if (!handler) throw new BridgeError('BRIDGE_ERR_UNSUPPORTED', `op ${String(command.op)}`);
    return this.#changingPorts(() => handler(command));
  }

  readonly #handlers: Handlers = {
    createConference: ({ options }) => {
      if (!CONF_KEY_PATTERN.test(options.confKey)) throw new BridgeError('BRIDGE_ERR_INVALID', 'confKey must be 4 to 16 digits');
      if (!ENTRY_TONES.has(options.entryTone)) throw new BridgeError('BRIDGE_ERR_INVALID', `entryTone ${options.entryTone}`);
      if (this.#byKey.has(options.confKey)) throw new BridgeError('BRIDGE_ERR_KEY_IN_USE', options.confKey);
      const conf = new Conference(`conf-${++this.#confCounter}`, options, this.#conferenceDeps);
      this.#conferences.set(conf.bridgeConfId, conf);
      this.#byKey.set(options.confKey, conf);
      return { bridgeConfId: conf.bridgeConfId };
    },
    endConference: ({ bridgeConfId }) => {
      const conf = this.#conference(bridgeConfId);
      conf.end();
      this.#conferences.delete(bridgeConfId);
      this.#byKey.delete(conf.options.confKey);
    },
    lockConference: ({ bridgeConfId, locked }) => this.#conference(bridgeConfId).lock(locked),
    mute: ({ bridgeConfId, port, muted }) => this.#conference(bridgeConfId).mute(port, muted),
    muteAll: ({ bridgeConfId, ...how }) => this.#conference(bridgeConfId).muteAll(how),
    expel: ({ bridgeConfId, port }) => this.#conference(bridgeConfId).expel(port),
    dialOut: (command) => {
      const conf = this.#conference(command.bridgeConfId);
      if (!DIAL_NUMBER_PATTERN.test(command.number)) throw new BridgeError('BRIDGE_ERR_INVALID', `number ${command.number}`);
      const { outcome, ringMs } = decideDialOut(this.#dialOutPlan, command.number, this.#random);
      conf.dialOut(command, this.#newLegId(), outcome, ringMs);
    },
    cancelDialOut: ({ bridgeConfId, dialOutId }) => this.#conference(bridgeConfId).cancelDialOut(dialOutId),
    moveToSubConference: ({ bridgeConfId, port, subConfId }) =>
      this.#conference(bridgeConfId).moveToSubConference(port, subConfId),
    playTone: ({ bridgeConfId, port, tone }) => this.#conference(bridgeConfId).playTone(tone, port),
    passthrough: ({ bridgeConfId, port, data }) => this.#conference(bridgeConfId).passthrough(data, port),
    snapshot: () => this.snapshot(),
  };

  /**
   * A caller dials in and keys `digits`. Throws BridgeError when the call is refused: INVALID
   * (not a call-in number), NO_PORTS (bridge full), LOCKED, or CONF_NOT_FOUND (dropped after
   * the last wrong key). Answers `prompting` while the caller has attempts left but no more
   * digits; `sendDtmf` continues the entry.
   */
  callIn(request: CallInRequest): CallInResult {
    return this.#changingPorts(() => {
      if (!this.#callInNumbers.has(request.dialledNumber)) {
        throw new BridgeError('BRIDGE_ERR_INVALID', `${request.dialledNumber} is not a call-in number`);
      }
      checkDigits(request.digits, { allowEmpty: true });
      const seized = this.#ports.seize((port) => ({
        kind: 'prompting' as const,
        prompt: {
          port,
          legId: this.#newLegId(),
          dialledNumber: request.dialledNumber,
          wrongKeys: 0,
          keyed: '',
          ...(request.callerId !== undefined && { callerId: request.callerId }),
          ...(request.name !== undefined && { name: request.name }),
        },
      }));
      if (!seized) throw new BridgeError('BRIDGE_ERR_NO_PORTS');
      const { prompt } = seized;
      return this.#keyIn(prompt, request.digits);
    });
  }

  /** Keys pressed on a port: key entry while prompting, `*6` or `dtmf` events once joined. */
  sendDtmf(port: PortId, digits: string): CallInResult {
    return this.#changingPorts(() => {
      checkDigits(digits, { allowEmpty: false });
      const occupant = this.#ports.get(port);
      if (occupant?.kind === 'prompting') return this.#keyIn(occupant.prompt, digits);
      const caller = this.#callerOnPort(port);
      this.#conference(caller.bridgeConfId).keypad(caller, digits);
      return joinedResult(caller);
    });
  }

  /** A talking burst of `durationMs`. Returns false for a muted caller, who is not heard. */
  talk(port: PortId, durationMs: number): boolean {
    const caller = this.#callerOnPort(port);
    if (!(durationMs > 0)) throw new BridgeError('BRIDGE_ERR_INVALID', 'talking needs a positive duration');
    return this.#conference(caller.bridgeConfId).talk(caller, durationMs);
  }

  /** The far end hangs up (or the line drops). */
  hangUp(port: PortId, reason: Extract<LeaveReason, 'hangup' | 'dropped'> = 'hangup'): void {
    this.#changingPorts(() => {
      if (this.#ports.get(port)?.kind === 'prompting') {
        this.#ports.release(port);
        return;
      }
      const caller = this.#callerOnPort(port);
      this.#conference(caller.bridgeConfId).remove(caller, reason);
    });
  }

  setDialOutPlan(plan: DialOutPlanSettings): void {
    this.#dialOutPlan = validateDialOutPlan(plan);
  }

  get dialOutPlan(): DialOutPlanSettings {
    return validateDialOutPlan(this.#dialOutPlan);
  }

  /**
   * The bridge restarts. Keeping state, nothing changes here (the endpoint drops connections).
   * Losing it, every call is gone without events (the bridge was down) and the sequence starts
   * again at 1: drivers compare seqs within one connection only.
   */
  restart(keepState: boolean): void {
    if (keepState) return;
    this.close();
    this.#conferences.clear();
    this.#byKey.clear();
    this.#ports.clear();
    this.#seq = 0;
    this.#lastUsage = this.#ports.usage();
  }

  /** Cancels every timer of the bridge (talking bursts, ringing dial-outs). */
  close(): void {
    for (const conf of this.#conferences.values()) conf.cancelTimers();
  }

  snapshot(): BridgeSnapshot {
    const { prompting: _, conferences, ...rest } = this.state();
    return { ...rest, conferences: conferences.map(({ tones: _t, ...conf }) => conf) };
  }

  state(): EmulatorState {
    const prompting: EmulatorState['prompting'] = [];
    for (const [, occupant] of this.#ports.occupants()) {
      if (occupant.kind !== 'prompting') continue;
      const { port, legId, dialledNumber, callerId, wrongKeys } = occupant.prompt;
      const attemptsLeft = this.#keyAttempts - wrongKeys;
      prompting.push({ port, legId, dialledNumber, ...(callerId !== undefined && { callerId }), attemptsLeft });
    }
    return {
      takenAt: this.#clock.now(),
      eventSeq: this.#seq,
      ports: this.#ports.usage(),
      conferences: [...this.#conferences.values()].map((conf) => conf.describe()),
      prompting,
    };
  }

  #keyIn(prompt: Prompt, digits: string): CallInResult {
    for (let i = 0; i < digits.length; i++) {
      const digit = digits[i]!;
      if (digit !== '#') {
        prompt.keyed += digit;
        continue;
      }
      const conf = this.#byKey.get(prompt.keyed);
      prompt.keyed = '';
      if (!conf) {
        if (++prompt.wrongKeys < this.#keyAttempts) continue; // re-prompted
        this.#ports.release(prompt.port);
        throw new BridgeError('BRIDGE_ERR_CONF_NOT_FOUND', `wrong conference key ${prompt.wrongKeys} times: dropped`);
      }
      if (conf.locked) {
        this.#ports.release(prompt.port);
        throw new BridgeError('BRIDGE_ERR_LOCKED', conf.bridgeConfId);
      }
      const { wrongKeys: _, keyed: _k, ...leg } = prompt;
      const caller = conf.join(leg, { silent: false });
      // Whatever the caller keys after the conference key is keypad input in the conference.
      const rest = digits.slice(i + 1);
      if (rest) conf.keypad(caller, rest);
      return joinedResult(caller);
    }
    return { state: 'prompting', port: prompt.port, legId: prompt.legId, attemptsLeft: this.#keyAttempts - prompt.wrongKeys };
  }

  /**
   * Runs several changes as one: port usage is reported once, after the last. The traffic
   * generator runs each tick this way, so a tick of arrivals gives one `ports` event.
   */
  batch<T>(changes: () => T): T {
    return this.#changingPorts(changes);
  }

  /** Runs a change, then reports port usage once if it moved (once per outermost change). */
  #changingPorts<T>(change: () => T): T {
    this.#changeDepth++;
    try {
      return change();
    } finally {
      if (--this.#changeDepth === 0) this.#reportUsage();
    }
  }

  #reportUsage(): void {
    const usage = this.#ports.usage();
    if (usage.inUse === this.#lastUsage.inUse) return;
    this.#lastUsage = usage;
    this.#emit({ type: 'ports', usage });
  }

  #emit(event: BridgeEvent): void {
    this.emit('event', { seq: ++this.#seq, event });
  }

  #conference(bridgeConfId: BridgeConfId): Conference {
    const conf = this.#conferences.get(bridgeConfId);
    if (!conf) throw new BridgeError('BRIDGE_ERR_CONF_NOT_FOUND', bridgeConfId);
    return conf;
  }

  #callerOnPort(port: PortId): Caller {
    const occupant = this.#ports.get(port);
    if (occupant?.kind !== 'caller') throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND', port);
    return occupant.caller;
  }

  #newLegId(): LegId {
    return `leg-${++this.#legCounter}`;
  }
}

function checkDigits(digits: string, { allowEmpty }: { allowEmpty: boolean }): void {
  if (digits === '' && allowEmpty) return;
  if (!DTMF_PATTERN.test(digits)) throw new BridgeError('BRIDGE_ERR_INVALID', `digits '${digits}'`);
}

function joinedResult(caller: Caller): CallInResult {
  return { state: 'joined', port: caller.port, legId: caller.legId, bridgeConfId: caller.bridgeConfId };
}
