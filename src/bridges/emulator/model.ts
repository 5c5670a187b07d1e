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
  BridgeMuteSource,
  BridgeOp,
  BridgeSnapshot,
  CommandOf,
  CommandReplies,
  ConferenceOptions,
  DialOutId,
  LeaveReason,
  LegId,
  PortId,
  PortUsage,
  ReplyOf,
  SnapshotCaller,
  SnapshotConference,
} from '../driver.js';
import type { BridgeEvent } from '../driver.js';
import { BridgeError } from '../errors.js';
import { TypedEmitter } from '../../common/typed-emitter.js';
import { systemClock, type Cancel, type Clock } from './clock.js';
import { seededRandom, type Random } from './random.js';
import { PortTable } from './port-table.js';
import { DEFAULT_DIAL_OUT_ODDS, decideDialOut, validateDialOutPlan, type DialOutOutcome, type DialOutPlanSettings } from './dial-out-plan.js';
import type { SequencedEvent } from './endpoint.js';

export const DEFAULT_SPANS = 56;
export const DEFAULT_CHANNELS_PER_SPAN = 24;
export const DEFAULT_CALL_IN_NUMBERS = ['1,408,5550100', '1,800,5550100'] as const;
export const DEFAULT_KEY_ATTEMPTS = 3;
export const DEFAULT_RING_MS = 3_000;
export const DEFAULT_MAX_SUB_CONFERENCES = 9;
/** The keypad sequence that toggles a caller's own mute. */
export const SELF_MUTE_KEYS = '*6';

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

export type ToneCounts = Record<'beep' | 'announce', number>;

interface Caller {
  bridgeConfId: BridgeConfId;
  port: PortId;
  legId: LegId;
  callerId?: string;
  dialledNumber?: string;
  name?: string;
  muted: boolean;
  mutedBy: BridgeMuteSource;
  subConfId: number;
  dialOutId?: DialOutId;
  /** Ends the current talking burst; present exactly while talking. */
  stopTalking?: Cancel;
}

interface DialOut {
  bridgeConfId: BridgeConfId;
  dialOutId: DialOutId;
  number: string;
  name?: string;
  confirm: boolean;
  silent: boolean;
  port: PortId;
  legId: LegId;
  cancelRinging: Cancel;
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

type Occupant =
  | { kind: 'prompting'; prompt: Prompt }
  | { kind: 'ringing'; dialOut: DialOut }
  | { kind: 'caller'; caller: Caller };

interface Conference {
  bridgeConfId: BridgeConfId;
  options: ConferenceOptions;
  locked: boolean;
  muteAll?: SnapshotConference['muteAll'];
  callers: Map<PortId, Caller>;
  dialOuts: Map<DialOutId, DialOut>;
  tones: ToneCounts;
}

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
  conferences: (SnapshotConference & { tones: ToneCounts })[];
  prompting: { port: PortId; legId: LegId; dialledNumber: string; callerId?: string; attemptsLeft: number }[];
}

type Handlers = { [O in BridgeOp]: (command: CommandOf<O>) => CommandReplies[O] };

export class BridgeModel extends TypedEmitter<{ event: [SequencedEvent] }> {
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #ports: PortTable<Occupant>;
  readonly #callInNumbers: ReadonlySet<string>;
  readonly #keyAttempts: number;
  readonly #maxSubConferences: number;
  readonly #echoPassthrough: boolean;
  readonly #conferences = new Map<BridgeConfId, Conference>();
  readonly #byKey = new Map<string, Conference>();
  #dialOutPlan: DialOutPlanSettings;
  #seq = 0;
  #confCounter = 0;
  #legCounter = 0;
  #lastUsage: PortUsage;

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
    this.#maxSubConferences = options.maxSubConferences ?? DEFAULT_MAX_SUB_CONFERENCES;
    this.#echoPassthrough = options.echoPassthrough ?? true;
    this.#dialOutPlan = { rules: [], odds: DEFAULT_DIAL_OUT_ODDS, ringMs: options.ringMs ?? DEFAULT_RING_MS };
    this.#lastUsage = this.#ports.usage();
  }

  get maxSubConferences(): number {
    return this.#maxSubConferences;
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

  // ---------------------------------------------------------------------------------------------
  // Commands from a driver.
  // ---------------------------------------------------------------------------------------------

  /** Runs one command; throws BridgeError when the bridge refuses it. */
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
      const conf: Conference = {
        bridgeConfId: `conf-${++this.#confCounter}`,
        options: { ...options },
        locked: false,
        callers: new Map(),
        dialOuts: new Map(),
        tones: { beep: 0, announce: 0 },
      };
      this.#conferences.set(conf.bridgeConfId, conf);
      this.#byKey.set(options.confKey, conf);
      this.#emit({ type: 'conferenceChanged', bridgeConfId: conf.bridgeConfId, state: 'started' });
      return { bridgeConfId: conf.bridgeConfId };
    },
    endConference: ({ bridgeConfId }) => this.#endConference(this.#conference(bridgeConfId)),
    lockConference: ({ bridgeConfId, locked }) => {
      const conf = this.#conference(bridgeConfId);
      if (conf.locked === locked) return;
      conf.locked = locked;
      this.#emit({ type: 'conferenceChanged', bridgeConfId, state: locked ? 'locked' : 'unlocked' });
    },
    mute: ({ bridgeConfId, port, muted }) => {
      this.#setMuted(this.#caller(this.#conference(bridgeConfId), port), muted, 'command');
    },
    muteAll: ({ bridgeConfId, muted, exceptPort, applyToNewCallers }) => {
      const conf = this.#conference(bridgeConfId);
      if (exceptPort !== undefined) this.#caller(conf, exceptPort);
      conf.muteAll = { muted, applyToNewCallers, ...(exceptPort !== undefined && { exceptPort }) };
      for (const caller of conf.callers.values()) {
        if (caller.port !== exceptPort) this.#setMuted(caller, muted, 'command');
      }
    },
    expel: ({ bridgeConfId, port }) => {
      const conf = this.#conference(bridgeConfId);
      const occupant = this.#ports.get(port);
      // The engine may expel a dial-out that is still ringing: that cancels it.
      if (occupant?.kind === 'ringing' && occupant.dialOut.bridgeConfId === bridgeConfId) {
        this.#finishDialOut(occupant.dialOut, 'cancelled');
        return;
      }
      this.#removeCaller(this.#caller(conf, port), 'expelled');
    },
    dialOut: (command) => this.#startDialOut(command),
    cancelDialOut: ({ bridgeConfId, dialOutId }) => {
      const dialOut = this.#conference(bridgeConfId).dialOuts.get(dialOutId);
      if (!dialOut) throw new BridgeError('BRIDGE_ERR_DIALOUT_NOT_FOUND', dialOutId);
      this.#finishDialOut(dialOut, 'cancelled');
    },
    moveToSubConference: ({ bridgeConfId, port, subConfId }) => {
      const caller = this.#caller(this.#conference(bridgeConfId), port);
      if (this.#maxSubConferences === 0) throw new BridgeError('BRIDGE_ERR_UNSUPPORTED', 'no sub-conferences');
      if (!Number.isInteger(subConfId) || subConfId < 0 || subConfId > this.#maxSubConferences) {
        throw new BridgeError('BRIDGE_ERR_INVALID', `subConfId ${subConfId} (0..${this.#maxSubConferences})`);
      }
      if (caller.subConfId === subConfId) return;
      caller.subConfId = subConfId;
      this.#emit({ type: 'subConferenceChanged', ...this.#legRef(caller), subConfId });
    },
    playTone: ({ bridgeConfId, port, tone }) => {
      const conf = this.#conference(bridgeConfId);
      if (port !== undefined) this.#caller(conf, port);
      conf.tones[tone]++;
    },
    passthrough: ({ bridgeConfId, port, data }) => {
      const conf = this.#conference(bridgeConfId);
      if (port !== undefined) this.#caller(conf, port);
      if (this.#echoPassthrough) {
        this.#emit({ type: 'passthrough', bridgeConfId, ...(port !== undefined && { port }), data });
      }
    },
    snapshot: () => this.snapshot(),
  };

  // ---------------------------------------------------------------------------------------------
  // The telephone side: callers dialling in, keypads, talking, hang-ups.
  // ---------------------------------------------------------------------------------------------

  /**
   * A caller dials in and keys `digits`. Throws BridgeError when the call is refused: INVALID
   * (not a call-in number), NO_PORTS (bridge full), LOCKED, or CONF_NOT_FOUND (dropped after
   * the last wrong key). Resolves `prompting` while the caller has attempts left but no more
   * digits; `sendDtmf` continues the entry.
   */
  callIn(request: CallInRequest): CallInResult {
    return this.#changingPorts(() => {
      if (!this.#callInNumbers.has(request.dialledNumber)) {
        throw new BridgeError('BRIDGE_ERR_INVALID', `${request.dialledNumber} is not a call-in number`);
      }
      this.#checkDigits(request.digits, true);
      const prompt: Prompt = {
        port: '',
        legId: this.#newLegId(),
        dialledNumber: request.dialledNumber,
        wrongKeys: 0,
        keyed: '',
        ...(request.callerId !== undefined && { callerId: request.callerId }),
        ...(request.name !== undefined && { name: request.name }),
      };
      const port = this.#ports.seize({ kind: 'prompting', prompt });
      if (port === undefined) throw new BridgeError('BRIDGE_ERR_NO_PORTS');
      prompt.port = port;
      return this.#keyIn(prompt, request.digits);
    });
  }

  /** Keypad digits on a port: key entry while prompting, `*6` or `dtmf` events once joined. */
  sendDtmf(port: PortId, digits: string): CallInResult {
    return this.#changingPorts(() => {
      this.#checkDigits(digits, false);
      const occupant = this.#ports.get(port);
      if (occupant?.kind === 'prompting') return this.#keyIn(occupant.prompt, digits);
      if (occupant?.kind !== 'caller') throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND', port);
      this.#keypad(occupant.caller, digits);
      return this.#joinedResult(occupant.caller);
    });
  }

  /** A talking burst of `durationMs`. Returns false for a muted caller, who is not heard. */
  talk(port: PortId, durationMs: number): boolean {
    const caller = this.#callerOnPort(port);
    if (!(durationMs > 0)) throw new BridgeError('BRIDGE_ERR_INVALID', 'talking needs a positive duration');
    if (caller.muted) return false;
    if (caller.stopTalking) caller.stopTalking();
    else this.#emit({ type: 'talking', ...this.#legRef(caller), talking: true });
    caller.stopTalking = this.#clock.schedule(durationMs, () => this.#stopTalking(caller));
    return true;
  }

  /** The far end hangs up (or the line drops). */
  hangUp(port: PortId, reason: Extract<LeaveReason, 'hangup' | 'dropped'> = 'hangup'): void {
    this.#changingPorts(() => {
      const occupant = this.#ports.get(port);
      if (occupant?.kind === 'prompting') this.#ports.release(port);
      else if (occupant?.kind === 'caller') this.#removeCaller(occupant.caller, reason);
      else throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND', port);
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
    this.#cancelTimers();
    this.#conferences.clear();
    this.#byKey.clear();
    this.#ports.clear();
    this.#seq = 0;
    this.#lastUsage = this.#ports.usage();
  }

  /** Cancels the model's timers; the model is not used afterwards. */
  close(): void {
    this.#cancelTimers();
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
      prompting.push({ port, legId, dialledNumber, ...(callerId !== undefined && { callerId }), attemptsLeft: this.#keyAttempts - wrongKeys });
    }
    return {
      takenAt: this.#clock.now(),
      eventSeq: this.#seq,
      ports: this.#ports.usage(),
      conferences: [...this.#conferences.values()].map((conf) => ({
        bridgeConfId: conf.bridgeConfId,
        options: { ...conf.options },
        locked: conf.locked,
        ...(conf.muteAll && { muteAll: { ...conf.muteAll } }),
        callers: [...conf.callers.values()].map(snapshotCaller),
        dialOuts: [...conf.dialOuts.values()].map((d) => ({ dialOutId: d.dialOutId, number: d.number, state: 'ringing' as const, port: d.port })),
        tones: { ...conf.tones },
      })),
      prompting,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Internals.
  // ---------------------------------------------------------------------------------------------

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
      const caller = this.#join(conf, prompt, { silent: false });
      // Whatever the caller keys after the conference key is keypad input in the conference.
      const rest = digits.slice(i + 1);
      if (rest) this.#keypad(caller, rest);
      return this.#joinedResult(caller);
    }
    return { state: 'prompting', port: prompt.port, legId: prompt.legId, attemptsLeft: this.#keyAttempts - prompt.wrongKeys };
  }

  #join(
    conf: Conference,
    leg: Pick<Caller, 'port' | 'legId' | 'callerId' | 'dialledNumber' | 'name' | 'dialOutId'>,
    { silent }: { silent: boolean },
  ): Caller {
    const policy = conf.muteAll?.applyToNewCallers ? conf.muteAll.muted : conf.options.muteOnEntry;
    const caller: Caller = {
      bridgeConfId: conf.bridgeConfId,
      port: leg.port,
      legId: leg.legId,
      ...(leg.callerId !== undefined && { callerId: leg.callerId }),
      ...(leg.dialledNumber !== undefined && { dialledNumber: leg.dialledNumber }),
      ...(leg.name !== undefined && { name: leg.name }),
      ...(leg.dialOutId !== undefined && { dialOutId: leg.dialOutId }),
      muted: policy,
      // Entry state is conference policy, set by createConference or muteAll.
      mutedBy: 'command',
      subConfId: 0,
    };
    this.#ports.replace(caller.port, { kind: 'caller', caller });
    conf.callers.set(caller.port, caller);
    if (!silent && !conf.options.silentJoin && conf.options.entryTone !== 'none') conf.tones[conf.options.entryTone]++;
    const { stopTalking: _, mutedBy: _m, ...joined } = caller;
    this.#emit({ type: 'callerJoined', ...joined });
    return caller;
  }

  #keypad(caller: Caller, digits: string): void {
    let pending = '';
    const flush = (): void => {
      if (pending) this.#emit({ type: 'dtmf', ...this.#legRef(caller), digits: pending });
      pending = '';
    };
    for (let i = 0; i < digits.length; ) {
      if (digits.startsWith(SELF_MUTE_KEYS, i)) {
        flush();
        this.#setMuted(caller, !caller.muted, 'keypad');
        i += SELF_MUTE_KEYS.length;
      } else {
        pending += digits[i];
        i++;
      }
    }
    flush();
  }

  #setMuted(caller: Caller, muted: boolean, by: BridgeMuteSource): void {
    if (caller.muted === muted) return;
    caller.muted = muted;
    caller.mutedBy = by;
    this.#emit({ type: 'muteChanged', ...this.#legRef(caller), muted, by });
    if (muted) this.#stopTalking(caller);
  }

  #stopTalking(caller: Caller): void {
    if (!caller.stopTalking) return;
    caller.stopTalking();
    delete caller.stopTalking;
    this.#emit({ type: 'talking', ...this.#legRef(caller), talking: false });
  }

  #removeCaller(caller: Caller, reason: LeaveReason): void {
    caller.stopTalking?.();
    delete caller.stopTalking;
    this.#conferences.get(caller.bridgeConfId)?.callers.delete(caller.port);
    this.#ports.release(caller.port);
    this.#emit({ type: 'callerLeft', ...this.#legRef(caller), reason });
  }

  #endConference(conf: Conference): void {
    for (const caller of [...conf.callers.values()]) this.#removeCaller(caller, 'conference-ended');
    for (const dialOut of [...conf.dialOuts.values()]) this.#finishDialOut(dialOut, 'cancelled');
    this.#conferences.delete(conf.bridgeConfId);
    this.#byKey.delete(conf.options.confKey);
    this.#emit({ type: 'conferenceChanged', bridgeConfId: conf.bridgeConfId, state: 'ended' });
  }

  #startDialOut(command: CommandOf<'dialOut'>): void {
    const conf = this.#conference(command.bridgeConfId);
    if (conf.dialOuts.has(command.dialOutId)) throw new BridgeError('BRIDGE_ERR_INVALID', `dial-out ${command.dialOutId} is already ringing`);
    if (!DIAL_NUMBER_PATTERN.test(command.number)) throw new BridgeError('BRIDGE_ERR_INVALID', `number ${command.number}`);
    const { outcome, ringMs } = decideDialOut(this.#dialOutPlan, command.number, this.#random);
    const dialOut: DialOut = {
      bridgeConfId: conf.bridgeConfId,
      dialOutId: command.dialOutId,
      number: command.number,
      ...(command.name !== undefined && { name: command.name }),
      confirm: command.confirm,
      silent: command.silent,
      port: '',
      legId: this.#newLegId(),
      cancelRinging: () => {},
    };
    const port = this.#ports.seize({ kind: 'ringing', dialOut });
    if (port === undefined) throw new BridgeError('BRIDGE_ERR_NO_PORTS');
    dialOut.port = port;
    conf.dialOuts.set(dialOut.dialOutId, dialOut);
    this.#emit({ type: 'dialOut', bridgeConfId: conf.bridgeConfId, dialOutId: dialOut.dialOutId, state: 'ringing', port });
    dialOut.cancelRinging = this.#clock.schedule(ringMs, () => {
      this.#changingPorts(() => this.#finishDialOut(dialOut, outcome));
    });
  }

  #finishDialOut(dialOut: DialOut, outcome: DialOutOutcome | 'cancelled'): void {
    dialOut.cancelRinging();
    const conf = this.#conference(dialOut.bridgeConfId);
    conf.dialOuts.delete(dialOut.dialOutId);
    // Without confirm nobody is asked to press 1, so a callee who answers simply joins.
    const state = outcome === 'rejected' && !dialOut.confirm ? 'answered' : outcome;
    const { bridgeConfId, dialOutId, port } = dialOut;
    this.#emit({ type: 'dialOut', bridgeConfId, dialOutId, state, port });
    if (state !== 'answered') {
      this.#ports.release(port);
      return;
    }
    this.#join(
      conf,
      { port, legId: dialOut.legId, callerId: dialOut.number, dialOutId, ...(dialOut.name !== undefined && { name: dialOut.name }) },
      { silent: dialOut.silent },
    );
  }

  #cancelTimers(): void {
    for (const conf of this.#conferences.values()) {
      for (const caller of conf.callers.values()) caller.stopTalking?.();
      for (const dialOut of conf.dialOuts.values()) dialOut.cancelRinging();
    }
  }

  /** Runs a change, then reports port usage once if it moved (at most one `ports` per change). */
  #changingPorts<T>(change: () => T): T {
    try {
      return change();
    } finally {
      const usage = this.#ports.usage();
      if (usage.inUse !== this.#lastUsage.inUse) {
        this.#lastUsage = usage;
        this.#emit({ type: 'ports', usage });
      }
    }
  }

  #emit(event: BridgeEvent): void {
    this.emit('event', { seq: ++this.#seq, event });
  }

  #conference(bridgeConfId: BridgeConfId): Conference {
    const conf = this.#conferences.get(bridgeConfId);
    if (!conf) throw new BridgeError('BRIDGE_ERR_CONF_NOT_FOUND', bridgeConfId);
    return conf;
  }

  #caller(conf: Conference, port: PortId): Caller {
    const caller = conf.callers.get(port);
    if (!caller) throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND', `${port} in ${conf.bridgeConfId}`);
    return caller;
  }

  #callerOnPort(port: PortId): Caller {
    const occupant = this.#ports.get(port);
    if (occupant?.kind !== 'caller') throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND', port);
    return occupant.caller;
  }

  #checkDigits(digits: string, allowEmpty: boolean): void {
    if ((digits !== '' || !allowEmpty) && !DTMF_PATTERN.test(digits)) throw new BridgeError('BRIDGE_ERR_INVALID', `digits '${digits}'`);
  }

  #joinedResult(caller: Caller): CallInResult {
    return { state: 'joined', port: caller.port, legId: caller.legId, bridgeConfId: caller.bridgeConfId };
  }

  #legRef(caller: Caller): { bridgeConfId: BridgeConfId; port: PortId; legId: LegId } {
    return { bridgeConfId: caller.bridgeConfId, port: caller.port, legId: caller.legId };
  }

  #newLegId(): LegId {
    return `leg-${++this.#legCounter}`;
  }
}

function snapshotCaller(caller: Caller): SnapshotCaller {
  const { bridgeConfId: _, stopTalking, ...rest } = caller;
  return { ...rest, talking: stopTalking !== undefined };
}
