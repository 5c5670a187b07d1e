/**
 * What a state transition asks the engine to do, and the A2W messages it builds. Transitions
 * return these; the engine stores them and hands the messages to the outbox.
 */
import type { BridgeCommand } from '../../bridges/driver.js';
import type { A2WMessage, MessageOf, ResponseResult, W2AMessage } from '../../protocol/index.js';
import type { UnroutableKind } from '../counters.js';
import type { EngineOptions } from '../options.js';
import type { ConferenceState, JoinedCaller } from './state.js';

/** An A2W message and where it goes (undefined: nowhere known; the outbox dead-letters it). */
export interface Outgoing {
  url: string | undefined;
  message: A2WMessage;
}

export interface Effects {
  /** Conferences as they are now, to keep. */
  conferences: ConferenceState[];
  /**
   * Conferences whose only change is their last activity (a keep-alive): held in memory, not
   * stored. Half of what WebEx sends is keep-alives; storing each rewrote a whole conference and
   * cost an fsync, and a restart gives every conference a fresh keep-alive period instead.
   */
  touched?: ConferenceState[];
  /** A2W messages to deliver, in order. */
  out: Outgoing[];
  /** Bridge commands to send after the change is kept, with no response waiting on them. */
  followUps: { bridgeId: string; command: BridgeCommand }[];
  /** Why a W2A message without a response message could not be routed. */
  unroutable?: UnroutableKind;
  /** The Result answered, for counters; undefined when the message has no response. */
  result?: ResponseResult;
}

/** What every transition may need besides the state: time, ids, options. */
export interface TransitionContext {
  now: number;
  newMsgId(): string;
  options: EngineOptions;
}

export function effects(partial: Partial<Effects> = {}): Effects {
  return { conferences: [], out: [], followUps: [], ...partial };
}

type RequestType =
  | 'W2A_CreateConference' | 'W2A_EndConference' | 'W2A_LockConference' | 'W2A_MuteUser'
  | 'W2A_MuteConference' | 'W2A_ExpelUser' | 'W2A_Callout' | 'W2A_AddToSubConference';
export type RequestMessage = MessageOf<RequestType>;

const RESPONSE_OF = {
  W2A_CreateConference: 'A2W_RspCreateConference',
  W2A_EndConference: 'A2W_RspEndConference',
  W2A_LockConference: 'A2W_RspLockConference',
  W2A_MuteUser: 'A2W_RspMuteUser',
  W2A_MuteConference: 'A2W_RspMuteConference',
  W2A_ExpelUser: 'A2W_RspExpelUser',
  W2A_Callout: 'A2W_RspCallout',
  W2A_AddToSubConference: 'A2W_RspAddToSubConference',
} as const satisfies Record<RequestType, A2WMessage['type']>;

export function isRequest(msg: W2AMessage): msg is RequestMessage {
  return msg.type in RESPONSE_OF;
}

/**
 * The response to `request` (spec 3: it echoes the MsgID), sent to the request's WbxHostName,
 * else to the conference's.
 */
export function response(
  request: RequestMessage,
  result: ResponseResult,
  conf: ConferenceState | undefined,
  extra: Partial<MessageOf<'A2W_RspCreateConference'>> = {},
): Outgoing {
  const message = {
    type: RESPONSE_OF[request.type],
    MsgID: request.MsgID,
    ExtConfID: request.ExtConfID,
    ...('ExtCallID' in request ? { ExtCallID: request.ExtCallID } : {}),
    Result: result,
    ...extra,
  } as A2WMessage;
  return { url: request.WbxHostName ?? conf?.wbxHostName, message };
}

export function conferenceChange(
  conf: ConferenceState,
  Status: MessageOf<'A2W_NotifyConferenceChange'>['Status'],
  ctx: TransitionContext,
): Outgoing {
  return {
    url: conf.wbxHostName,
    message: { type: 'A2W_NotifyConferenceChange', MsgID: ctx.newMsgId(), ExtConfID: conf.extConfID, Status },
  };
}

/** The status WebEx shows for a conference that is open. */
export function openStatus(conf: ConferenceState): 0 | 2 {
  return conf.status === 'locked' ? 2 : 0;
}

export function userEnter(conf: ConferenceState, caller: JoinedCaller): Outgoing {
  const message: MessageOf<'A2W_NotifyUserEnter'> = {
    type: 'A2W_NotifyUserEnter',
    MsgID: caller.enterMsgID,
    ExtConfID: conf.extConfID,
    ExtCallID: caller.extCallID ?? '',
    Mute: caller.muted,
    UserType: 'Phone',
  };
  if (caller.callerId !== undefined) message.CallerID = caller.callerId;
  if (caller.dialledNumber !== undefined) message.DialedNumber = caller.dialledNumber;
  if (caller.name !== undefined) message.Name = caller.name;
  return { url: conf.wbxHostName, message };
}

type UserChangeFields = Omit<MessageOf<'A2W_NotifyUserChange'>, 'type' | 'MsgID' | 'ExtConfID' | 'ExtCallID'>;

/**
 * A2W_NotifyUserChange about `caller`: appended to `out`, or held on the caller while WebEx has
 * not named it yet (spec 3.2), to be sent in order once W2A_RspNotifyUserEnter arrives.
 */
export function userChange(
  conf: ConferenceState,
  caller: JoinedCaller,
  fields: UserChangeFields,
  ctx: TransitionContext,
  out: Outgoing[],
): void {
  const message: MessageOf<'A2W_NotifyUserChange'> = {
    type: 'A2W_NotifyUserChange',
    MsgID: ctx.newMsgId(),
    ExtConfID: conf.extConfID,
    ExtCallID: caller.extCallID ?? '',
    ...fields,
  };
  if (caller.extCallID === undefined) caller.held.push(message);
  else out.push({ url: conf.wbxHostName, message });
}

/** The state fields of a caller, as WebEx shows them (Status 0 or 2). */
export function callerStateFields(caller: JoinedCaller): UserChangeFields {
  const fields: UserChangeFields = {
    Status: caller.subConfId === 0 ? 0 : 2,
    Mute: caller.muted,
    MuteBy: caller.mutedBy,
    Speaking: caller.speaking,
  };
  if (caller.subConfId !== 0) fields.SubConfID = caller.subConfId;
  return fields;
}

/** Whether a caller's state differs from how a fresh caller is shown (re-announcement, spec 3.1). */
export function hasNonDefaultState(caller: JoinedCaller): boolean {
  return caller.muted || caller.speaking || caller.subConfId !== 0;
}
