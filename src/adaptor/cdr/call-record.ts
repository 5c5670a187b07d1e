/**
 * Call detail records, derived from state changes: a leg is recorded when a change the engine
 * is about to keep takes it off its conference (it hung up, was expelled, dropped, the conference
 * ended, or a dial-out failed before answer). Pure functions of (before, after, messages): the
 * engine's transitions stay unaware of billing. Format and guarantees: docs/call-records.md.
 */
import type { A2WMessage } from '../../protocol/index.js';
import { maskPhoneNumber } from '../log.js';
import type { CallerState, ConferenceState, DepartedCaller, DialingCaller, JoinedCaller } from '../conference/state.js';

export type CallDirection = 'call-in' | 'call-out' | 'call-back';

export interface CallRecord {
  /** Stable per leg (`confId/legId` or `confId/dialOutId`): a reader dedupes on it. */
  recordId: string;
  confKey: string;
  ExtConfID: string;
  /** Empty for a dial-in caller WebEx never named. */
  ExtCallID: string;
  bridge: string;
  /** Empty for a dial-out that never reached a port. */
  port: string;
  direction: CallDirection;
  /** Masked: all but the last digits replaced. Caller's number (call-in) or number dialled (dial-out). */
  callerNumber: string;
  dialledNumber: string;
  /** ISO 8601 UTC. `start`: first ring (dial-out) or reaching the port (call-in). */
  start: string;
  answer: string | null;
  end: string;
  /** Seconds from answer to end; 0 when never answered. */
  durationSec: number;
  /** Hangup, Expelled, Dropped, ConferenceEnded, or NotAnswered-<A2W Result>. */
  endReason: string;
}

/** Where the engine hands records: kept durably once `append` resolves. */
export interface CallRecordSink {
  /** Digits of a phone number kept in clear. */
  readonly digitsKept: number;
  append(records: readonly CallRecord[]): Promise<void>;
}

export interface RecordContext {
  now: number;
  /** Digits of a phone number kept in clear. */
  digitsKept: number;
}

/** Records for the legs `after` no longer has, given the messages of the same change. */
export function endedLegs(before: ConferenceState | undefined, after: ConferenceState, out: readonly A2WMessage[], ctx: RecordContext): CallRecord[] {
  if (!before) return [];
  const records: CallRecord[] = [];
  for (const caller of before.callers) {
    if (stillThere(caller, after)) continue;
    if (caller.phase === 'joined') records.push(joinedRecord(after, caller, leaveReason(caller, after, out), ctx));
    else if (caller.phase === 'dialing' && !joinedAs(caller, after)) records.push(unansweredRecord(after, caller, out, ctx));
  }
  return records;
}

/** CSV column order, the same as the JSON keys. */
export const CSV_COLUMNS = [
  'recordId', 'confKey', 'ExtConfID', 'ExtCallID', 'bridge', 'port', 'direction', 'callerNumber', 'dialledNumber',
  'start', 'answer', 'end', 'durationSec', 'endReason',
] as const satisfies readonly (keyof CallRecord)[];

export function toCsvLine(record: CallRecord): string {
  return CSV_COLUMNS.map((k) => csvField(record[k])).join(',');
}

function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function stillThere(caller: CallerState, after: ConferenceState): boolean {
  if (after.status === 'ended') return false;
  if (caller.phase === 'joined') return after.callers.some((c) => c.phase === 'joined' && c.legId === caller.legId);
  if (caller.phase === 'dialing') return after.callers.some((c) => c.phase === 'dialing' && c.dialOutId === caller.dialOutId);
  return true;
}

/** An answered dial-out becomes a joined caller: recorded when that one leaves. */
function joinedAs(dialing: DialingCaller, after: ConferenceState): boolean {
  return after.callers.some((c) => c.phase === 'joined' && c.dialOutId === dialing.dialOutId);
}

function joinedRecord(conf: ConferenceState, caller: JoinedCaller, endReason: string, ctx: RecordContext): CallRecord {
  const answeredAt = caller.joinedAt ?? ctx.now;
  const direction: CallDirection = caller.dialOutId === undefined ? 'call-in' : caller.callType === 'CallBack' ? 'call-back' : 'call-out';
  return {
    recordId: `${conf.confId}/${caller.legId}`,
    confKey: conf.confKey,
    ExtConfID: conf.extConfID,
    ExtCallID: caller.extCallID ?? '',
    bridge: conf.bridgeId,
    port: caller.port,
    direction,
    callerNumber: mask(caller.callerId, ctx),
    dialledNumber: mask(caller.dialledNumber, ctx),
    start: iso(caller.dialStartedAt ?? answeredAt),
    answer: iso(answeredAt),
    end: iso(ctx.now),
    durationSec: Math.max(0, Math.round((ctx.now - answeredAt) / 1_000)),
    endReason,
  };
}

function unansweredRecord(conf: ConferenceState, dialing: DialingCaller, out: readonly A2WMessage[], ctx: RecordContext): CallRecord {
  const answer = out.find((m) => m.type === 'A2W_RspCallout' && m.ExtCallID === dialing.extCallID);
  const result = answer && 'Result' in answer ? answer.Result : undefined;
  return {
    recordId: `${conf.confId}/${dialing.dialOutId}`,
    confKey: conf.confKey,
    ExtConfID: conf.extConfID,
    ExtCallID: dialing.extCallID,
    bridge: conf.bridgeId,
    port: '',
    direction: dialing.callType === 'CallBack' ? 'call-back' : 'call-out',
    callerNumber: '',
    dialledNumber: mask(dialing.number, ctx),
    start: iso(dialing.startedAt),
    answer: null,
    end: iso(ctx.now),
    durationSec: 0,
    endReason: conf.status === 'ended' ? 'ConferenceEnded' : `NotAnswered-${result ?? 'unknown'}`,
  };
}

/** The Reason of the leave notification of this change (sent, or held for an unnamed caller). */
function leaveReason(caller: JoinedCaller, after: ConferenceState, out: readonly A2WMessage[]): string {
  const departed = after.callers.find((c): c is DepartedCaller => c.phase === 'departed' && c.enterMsgID === caller.enterMsgID);
  const held = departed?.held ?? [];
  const leave = [...out, ...held].find((m) =>
    m.type === 'A2W_NotifyUserChange' && m.Status === 1 && caller.extCallID !== undefined && m.ExtCallID === caller.extCallID);
  if (leave && 'Reason' in leave && leave.Reason !== undefined) return leave.Reason;
  const heldLeave = held.find((m) => m.type === 'A2W_NotifyUserChange' && m.Status === 1);
  if (heldLeave && 'Reason' in heldLeave && heldLeave.Reason !== undefined) return heldLeave.Reason;
  return after.status === 'ended' ? 'ConferenceEnded' : 'Hangup';
}

function mask(number: string | undefined, ctx: RecordContext): string {
  return number === undefined ? '' : maskPhoneNumber(number, ctx.digitsKept);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
