/**
 * One conference on the emulated bridge: its callers, its ringing dial-outs, lock and mute-all
 * policy, and the events each change produces. The bridge model (model.ts) owns the chassis,
 * call-in and the event sequence, and hands each conference what it needs: the shared port
 * table, an emitter and a scheduler on the injected clock.
 */
import type {
  BridgeConfId,
  BridgeEvent,
  BridgeMuteSource,
  CommandOf,
  ConferenceOptions,
  DialOutId,
  LeaveReason,
  LegId,
  PortId,
  SnapshotCaller,
  SnapshotConference,
} from '../driver.js';
import { BridgeError } from '../errors.js';
import type { Cancel } from './clock.js';
import type { DialOutOutcome } from './dial-out-plan.js';
import type { PortTable } from './port-table.js';
import type { Occupant } from './model.js';

/** The keypad sequence that toggles a caller's own mute. */
export const SELF_MUTE_KEYS = '*6';

export type ToneCounts = Record<'beep' | 'announce', number>;

/** A caller as the snapshot shows it, with `talking` derived from the running burst. */
export interface Caller extends Omit<SnapshotCaller, 'talking'> {
  bridgeConfId: BridgeConfId;
  /** Ends the current talking burst; present exactly while talking. */
  stopTalking?: Cancel;
}

/** A ringing dial-out: the command that started it, the port it holds, and how to stop the ringing. */
export interface DialOut extends Omit<CommandOf<'dialOut'>, 'op'> {
  port: PortId;
  legId: LegId;
  cancelRinging: Cancel;
}

/** What a new caller brings to the conference: the leg and what is known about it. */
export type Leg = Pick<Caller, 'port' | 'legId' | 'callerId' | 'dialledNumber' | 'name' | 'dialOutId'>;

export interface ConferenceDeps {
  ports: PortTable<Occupant>;
  emit(event: BridgeEvent): void;
  /** Runs `callback` after `delayMs` as a change of the bridge (port usage reported after it). */
  schedule(delayMs: number, callback: () => void): Cancel;
  maxSubConferences: number;
  echoPassthrough: boolean;
}

export class Conference {
  readonly bridgeConfId: BridgeConfId;
  readonly options: Readonly<ConferenceOptions>;
  readonly #deps: ConferenceDeps;
  readonly #callers = new Map<PortId, Caller>();
  readonly #dialOuts = new Map<DialOutId, DialOut>();
  readonly #tones: ToneCounts = { beep: 0, announce: 0 };
  #locked = false;
  #muteAll: SnapshotConference['muteAll'];

  constructor(bridgeConfId: BridgeConfId, options: ConferenceOptions, deps: ConferenceDeps) {
    this.bridgeConfId = bridgeConfId;
    this.options = { ...options };
    this.#deps = deps;
    deps.emit({ type: 'conferenceChanged', bridgeConfId, state: 'started' });
  }

  get locked(): boolean {
    return this.#locked;
  }

  lock(locked: boolean): void {
    if (this.#locked === locked) return;
    this.#locked = locked;
    this.#deps.emit({ type: 'conferenceChanged', bridgeConfId: this.bridgeConfId, state: locked ? 'locked' : 'unlocked' });
  }

  join(leg: Leg, { silent }: { silent: boolean }): Caller {
    const caller: Caller = {
      ...withoutUndefined(leg),
      bridgeConfId: this.bridgeConfId,
      muted: this.#muteAll?.applyToNewCallers ? this.#muteAll.muted : this.options.muteOnEntry,
      // Entry state is conference policy, set by createConference or muteAll.
      mutedBy: 'command',
      subConfId: 0,
    };
    this.#deps.ports.replace(caller.port, { kind: 'caller', caller });
    this.#callers.set(caller.port, caller);
    const { entryTone, silentJoin } = this.options;
    if (!silent && !silentJoin && entryTone !== 'none') this.#tones[entryTone]++;
    const { mutedBy: _, ...joined } = caller;
    this.#deps.emit({ type: 'callerJoined', ...joined });
    return caller;
  }

  mute(port: PortId, muted: boolean): void {
    this.#setMuted(this.#caller(port), muted, 'command');
  }

  muteAll({ muted, exceptPort, applyToNewCallers }: Omit<CommandOf<'muteAll'>, 'op' | 'bridgeConfId'>): void {
    if (exceptPort !== undefined) this.#caller(exceptPort);
    this.#muteAll = { muted, applyToNewCallers, ...(exceptPort !== undefined && { exceptPort }) };
    for (const caller of this.#callers.values()) {
      if (caller.port !== exceptPort) this.#setMuted(caller, muted, 'command');
    }
  }

  expel(port: PortId): void {
    const occupant = this.#deps.ports.get(port);
    // The engine may expel a dial-out that is still ringing: that cancels it.
    if (occupant?.kind === 'ringing' && occupant.dialOut.bridgeConfId === this.bridgeConfId) {
      this.finishDialOut(occupant.dialOut, 'cancelled');
      return;
    }
    this.remove(this.#caller(port), 'expelled');
  }

  moveToSubConference(port: PortId, subConfId: number): void {
    const caller = this.#caller(port);
    const max = this.#deps.maxSubConferences;
    if (max === 0) throw new BridgeError('BRIDGE_ERR_UNSUPPORTED', 'no sub-conferences');
    if (!Number.isInteger(subConfId) || subConfId < 0 || subConfId > max) {
      throw new BridgeError('BRIDGE_ERR_INVALID', `subConfId ${subConfId} (0..${max})`);
    }
    if (caller.subConfId === subConfId) return;
    caller.subConfId = subConfId;
    this.#deps.emit({ type: 'subConferenceChanged', ...legRef(caller), subConfId });
  }

  playTone(tone: keyof ToneCounts, port?: PortId): void {
    if (port !== undefined) this.#caller(port);
    this.#tones[tone]++;
  }

  passthrough(data: string, port?: PortId): void {
    if (port !== undefined) this.#caller(port);
    if (this.#deps.echoPassthrough) {
      this.#deps.emit({ type: 'passthrough', bridgeConfId: this.bridgeConfId, ...(port !== undefined && { port }), data });
    }
  }

  /** Keys pressed by a caller: `*6` toggles their own mute, anything else is reported as DTMF. */
  keypad(caller: Caller, digits: string): void {
    let pending = '';
    const flush = (): void => {
      if (pending) this.#deps.emit({ type: 'dtmf', ...legRef(caller), digits: pending });
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

  /** A talking burst; false for a muted caller, who is not heard. A new burst extends the current one. */
  talk(caller: Caller, durationMs: number): boolean {
    if (caller.muted) return false;
    if (caller.stopTalking) caller.stopTalking();
    else this.#deps.emit({ type: 'talking', ...legRef(caller), talking: true });
    caller.stopTalking = this.#deps.schedule(durationMs, () => this.#stopTalking(caller));
    return true;
  }

  remove(caller: Caller, reason: LeaveReason): void {
    caller.stopTalking?.();
    delete caller.stopTalking;
    this.#callers.delete(caller.port);
    this.#deps.ports.release(caller.port);
    this.#deps.emit({ type: 'callerLeft', ...legRef(caller), reason });
  }

  /** Starts ringing on a free port; the outcome, already decided, comes after `ringMs`. */
  dialOut(command: CommandOf<'dialOut'>, legId: LegId, outcome: DialOutOutcome, ringMs: number): void {
    if (this.#dialOuts.has(command.dialOutId)) {
      throw new BridgeError('BRIDGE_ERR_INVALID', `dial-out ${command.dialOutId} is already ringing`);
    }
    const seized = this.#deps.ports.seize((port) => {
      const dialOut: DialOut = {
        bridgeConfId: this.bridgeConfId,
        dialOutId: command.dialOutId,
        number: command.number,
        ...(command.name !== undefined && { name: command.name }),
        confirm: command.confirm,
        silent: command.silent,
        port,
        legId,
        cancelRinging: this.#deps.schedule(ringMs, () => this.finishDialOut(dialOut, outcome)),
      };
      return { kind: 'ringing' as const, dialOut };
    });
    if (!seized) throw new BridgeError('BRIDGE_ERR_NO_PORTS');
    const { dialOutId, port } = seized.dialOut;
    this.#dialOuts.set(dialOutId, seized.dialOut);
    this.#deps.emit({ type: 'dialOut', bridgeConfId: this.bridgeConfId, dialOutId, state: 'ringing', port });
  }

  cancelDialOut(dialOutId: DialOutId): void {
    const dialOut = this.#dialOuts.get(dialOutId);
    if (!dialOut) throw new BridgeError('BRIDGE_ERR_DIALOUT_NOT_FOUND', dialOutId);
    this.finishDialOut(dialOut, 'cancelled');
  }

  finishDialOut(dialOut: DialOut, outcome: DialOutOutcome | 'cancelled'): void {
    dialOut.cancelRinging();
    this.#dialOuts.delete(dialOut.dialOutId);
    // Without confirm nobody is asked to press 1, so a callee who answers simply joins.
    const state = outcome === 'rejected' && !dialOut.confirm ? 'answered' : outcome;
    const { dialOutId, port, legId, number, name } = dialOut;
    this.#deps.emit({ type: 'dialOut', bridgeConfId: this.bridgeConfId, dialOutId, state, port });
    if (state === 'answered') this.join({ port, legId, callerId: number, dialOutId, name }, { silent: dialOut.silent });
    else this.#deps.ports.release(port);
  }

  /** Every caller leaves, ringing dial-outs are cancelled, the conference reports ended. */
  end(): void {
    for (const caller of [...this.#callers.values()]) this.remove(caller, 'conference-ended');
    for (const dialOut of [...this.#dialOuts.values()]) this.finishDialOut(dialOut, 'cancelled');
    this.#deps.emit({ type: 'conferenceChanged', bridgeConfId: this.bridgeConfId, state: 'ended' });
  }

  /** Stops every timer without events: the bridge went down, or the emulator is closing. */
  cancelTimers(): void {
    for (const caller of this.#callers.values()) caller.stopTalking?.();
    for (const dialOut of this.#dialOuts.values()) dialOut.cancelRinging();
  }

  describe(): SnapshotConference & { tones: ToneCounts } {
    return {
      bridgeConfId: this.bridgeConfId,
      options: { ...this.options },
      locked: this.#locked,
      ...(this.#muteAll && { muteAll: { ...this.#muteAll } }),
      callers: [...this.#callers.values()].map(snapshotCaller),
      dialOuts: [...this.#dialOuts.values()].map(({ dialOutId, number, port }) => ({
        dialOutId,
        number,
        state: 'ringing' as const,
        port,
      })),
      tones: { ...this.#tones },
    };
  }

  #setMuted(caller: Caller, muted: boolean, by: BridgeMuteSource): void {
    if (caller.muted === muted) return;
    caller.muted = muted;
    caller.mutedBy = by;
    this.#deps.emit({ type: 'muteChanged', ...legRef(caller), muted, by });
    if (muted) this.#stopTalking(caller);
  }

  #stopTalking(caller: Caller): void {
    if (!caller.stopTalking) return;
    caller.stopTalking();
    delete caller.stopTalking;
    this.#deps.emit({ type: 'talking', ...legRef(caller), talking: false });
  }

  #caller(port: PortId): Caller {
    const caller = this.#callers.get(port);
    if (!caller) throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND', `${port} in ${this.bridgeConfId}`);
    return caller;
  }
}

function legRef(caller: Caller): { bridgeConfId: BridgeConfId; port: PortId; legId: LegId } {
  return { bridgeConfId: caller.bridgeConfId, port: caller.port, legId: caller.legId };
}

function snapshotCaller(caller: Caller): SnapshotCaller {
  const { bridgeConfId: _, stopTalking, ...rest } = caller;
  return { ...rest, talking: stopTalking !== undefined };
}

/** Optional fields stay absent rather than present-but-undefined, so events compare cleanly. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
