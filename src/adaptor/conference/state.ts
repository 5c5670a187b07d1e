/**
 * The engine's record of one conference and its callers: plain data, stored as a whole by the
 * store after every change, so a restart (or, later, another instance) resumes from it.
 * Shapes follow issue 4's list; unions keep a caller that is still ringing apart from one on a
 * port, and a dial-in caller without an ExtCallID apart from one WebEx can address.
 */
import type { A2WMessage } from '../../protocol/index.js';
import type { BridgeConfId, DialOutId, EntryTone, LegId, PortId } from '../../bridges/driver.js';

export type ConferenceStatus = 'creating' | 'running' | 'locked' | 'ended';

/** Who set a caller's mute state, in the spec's words (A2W_NotifyUserChange MuteBy). */
export type MuteBy = 'Host' | 'Self' | 'Policy' | 'Bridge';

/** W2A_Callout CallType: WebEx phoning someone, or an attendee asking to be called back. */
export type CallType = 'CallOut' | 'CallBack';

/** The call-in and call-back classes a conference enabled at creation (dial-out policy). */
export interface CallClasses {
  tollCallIn: boolean;
  tollFreeCallIn: boolean;
  domesticCallBack: boolean;
  intlCallBack: boolean;
}

/** The last W2A_MuteConference that is still in force. */
export interface MuteAllPolicy {
  muted: boolean;
  exceptExtCallID?: string;
  applyToNewCallers: boolean;
}

/** A caller on a bridge port. */
export interface JoinedCaller {
  phase: 'joined';
  /** Undefined for a dial-in caller until W2A_RspNotifyUserEnter names it. */
  extCallID: string | undefined;
  /** MsgID of the A2W_NotifyUserEnter announcing this caller: how its answer is matched. */
  enterMsgID: string;
  port: PortId;
  legId: LegId;
  callerId?: string;
  dialledNumber?: string;
  name?: string;
  muted: boolean;
  mutedBy: MuteBy;
  speaking: boolean;
  subConfId: number;
  /** Set when the caller came in through a dial-out. */
  dialOutId?: DialOutId;
  /** When the caller reached a port (answer time in call records); absent in state kept before it existed. */
  joinedAt?: number;
  /** For a dial-out: when dialling began and what WebEx asked for (call records). */
  dialStartedAt?: number;
  callType?: CallType;
  /** Messages about this caller produced before WebEx gave its ExtCallID, in order. */
  held: A2WMessage[];
}

/** A dial-out WebEx ordered (W2A_Callout) that has not joined yet. */
export interface DialingCaller {
  phase: 'dialing';
  extCallID: string;
  dialOutId: DialOutId;
  number: string;
  name?: string;
  callType?: CallType;
  /** `answered` once A2W_RspCallout 0 went out; the join follows. */
  state: 'ringing' | 'answered';
  /** To answer the W2A_Callout when the outcome is known. */
  request: { MsgID: string; url: string | undefined };
  /** When dialling started: ringing dial-outs hold a port for admission. */
  startedAt: number;
}

/**
 * A dial-in caller who left before WebEx named it: kept only until W2A_RspNotifyUserEnter
 * arrives, so its held messages (the leave among them) still reach WebEx, in order.
 */
export interface DepartedCaller {
  phase: 'departed';
  extCallID: undefined;
  enterMsgID: string;
  held: A2WMessage[];
}

export type CallerState = JoinedCaller | DialingCaller | DepartedCaller;

export interface ConferenceState {
  /** The engine's own id: stable across re-creation (new ExtConfID), never reused. */
  confId: string;
  confKey: string;
  /** The current ExtConfID (the most recent W2A_CreateConference). */
  extConfID: string;
  /** Earlier ExtConfIDs of this conference, still accepted in commands. */
  formerExtConfIDs: string[];
  /** Where notifications go: WbxHostName of the most recent W2A_CreateConference. */
  wbxHostName: string | undefined;
  bridgeId: string;
  /** Undefined while creating on the bridge. */
  bridgeConfId: BridgeConfId | undefined;
  status: ConferenceStatus;
  entryTone: EntryTone;
  silentJoin: boolean;
  muteOnEntry: boolean;
  /** Ports promised by AttendeeCount for admission. */
  attendeeCount: number;
  classes: CallClasses;
  muteAll: MuteAllPolicy | undefined;
  /** Last keep-alive or W2A message, ms since epoch. */
  lastActivityAt: number;
  /** When dial-outs were started, for the per-minute limit (pruned to the last minute). */
  recentDialOutsAt: number[];
  callers: CallerState[];
  endedAt?: number;
}

export function isJoined(c: CallerState): c is JoinedCaller {
  return c.phase === 'joined';
}

/** Sets a caller's mute state (a muted caller stops speaking); says whether it changed. */
export function setMute(caller: JoinedCaller, muted: boolean, by: MuteBy): boolean {
  if (caller.muted === muted) return false;
  caller.muted = muted;
  caller.mutedBy = by;
  if (muted) caller.speaking = false;
  return true;
}

export function findCallerByExtCallID(conf: ConferenceState, extCallID: string): CallerState | undefined {
  return conf.callers.find((c) => c.extCallID === extCallID);
}

export function findCallerByPort(conf: ConferenceState, port: PortId): JoinedCaller | undefined {
  return conf.callers.find((c): c is JoinedCaller => c.phase === 'joined' && c.port === port);
}

/** Ports this conference may still take: expected callers not yet on the bridge, plus ringing dial-outs. */
export function promisedPorts(conf: ConferenceState): number {
  if (conf.status === 'ended') return 0;
  const joined = conf.callers.filter(isJoined).length;
  const ringing = conf.callers.filter((c) => c.phase === 'dialing').length;
  // Ringing dial-outs are among the expected attendees when AttendeeCount covers them.
  return Math.max(conf.attendeeCount - joined, ringing);
}
