/**
 * Bridge events as state transitions: each takes the conference and one event and returns the
 * Effects (new state, A2W messages, follow-up bridge commands). Events repeat nothing already
 * known: a mute the engine itself ordered, reported back by the bridge, changes nothing.
 */
import type { BridgeEvent, DialOutState, LeaveReason } from '../../bridges/driver.js';
import type { MessageOf } from '../../protocol/index.js';
import {
  callerStateFields, conferenceChange, effects, userChange, userEnter,
  type Effects, type Outgoing, type TransitionContext,
} from './effects.js';
import { resultOfDialOut } from './results.js';
import { isJoined, setMute, type ConferenceState, type DialingCaller, type JoinedCaller, type MuteBy } from './state.js';

const REASON: Record<LeaveReason, NonNullable<MessageOf<'A2W_NotifyUserChange'>['Reason']>> = {
  hangup: 'Hangup',
  expelled: 'Expelled',
  dropped: 'Dropped',
  'conference-ended': 'ConferenceEnded',
};

const MUTE_BY = { keypad: 'Self', command: 'Host', bridge: 'Bridge' } as const satisfies Record<string, MuteBy>;

function byLeg(conf: ConferenceState, legId: string): JoinedCaller | undefined {
  return conf.callers.find((c): c is JoinedCaller => isJoined(c) && c.legId === legId);
}

/** A2W_RspCallout for a dial-out, to where its W2A_Callout asked. */
function calloutAnswer(conf: ConferenceState, dialing: DialingCaller, result: MessageOf<'A2W_RspCallout'>['Result']): Outgoing {
  return {
    url: dialing.request.url,
    message: { type: 'A2W_RspCallout', MsgID: dialing.request.MsgID, ExtConfID: conf.extConfID, ExtCallID: dialing.extCallID, Result: result },
  };
}

/** A dial-out reached an outcome other than joining. */
export function dialOutFinished(conf: ConferenceState, dialOutId: string, state: Exclude<DialOutState, 'ringing' | 'answered'>, _ctx: TransitionContext): Effects {
  const dialing = conf.callers.find((c): c is DialingCaller => c.phase === 'dialing' && c.dialOutId === dialOutId);
  if (!dialing) return effects();
  conf.callers = conf.callers.filter((c) => c !== dialing);
  // Answered already went out as Result 0; a callee gone before joining has nothing more to say.
  const out = dialing.state === 'ringing' ? [calloutAnswer(conf, dialing, resultOfDialOut(state))] : [];
  return effects({ conferences: [conf], out });
}

/** Everyone leaves, ringing dial-outs are cancelled, then Status 3 (spec 3.1). */
export function conferenceEnded(conf: ConferenceState, ctx: TransitionContext): Effects {
  const out: Outgoing[] = [];
  for (const caller of conf.callers) {
    if (caller.phase === 'dialing' && caller.state === 'ringing') out.push(calloutAnswer(conf, caller, resultOfDialOut('cancelled')));
    // A caller WebEx never named cannot be told about; the conference end covers it.
    if (caller.phase === 'joined' && caller.extCallID !== undefined) {
      userChange(conf, caller, { Status: 1, Reason: 'ConferenceEnded' }, ctx, out);
    }
  }
  conf.callers = [];
  conf.status = 'ended';
  conf.endedAt = ctx.now;
  out.push(conferenceChange(conf, 3, ctx));
  return effects({ conferences: [conf], out });
}

function callerJoined(conf: ConferenceState, event: Extract<BridgeEvent, { type: 'callerJoined' }>, ctx: TransitionContext): Effects {
  if (byLeg(conf, event.legId)) return effects();
  const out: Outgoing[] = [];
  const dialing = event.dialOutId === undefined
    ? undefined
    : conf.callers.find((c): c is DialingCaller => c.phase === 'dialing' && c.dialOutId === event.dialOutId);
  if (dialing?.state === 'ringing') out.push(calloutAnswer(conf, dialing, 0));
  const policy = conf.muteAll?.applyToNewCallers ? conf.muteAll.muted : undefined;
  const wanted = policy ?? (conf.muteOnEntry ? true : undefined);
  const caller: JoinedCaller = {
    phase: 'joined',
    extCallID: dialing?.extCallID,
    enterMsgID: ctx.newMsgId(),
    port: event.port,
    legId: event.legId,
    muted: wanted ?? event.muted,
    mutedBy: wanted !== undefined ? 'Policy' : 'Bridge',
    speaking: false,
    subConfId: event.subConfId,
    held: [],
    joinedAt: ctx.now,
  };
  if (dialing) {
    caller.dialStartedAt = dialing.startedAt;
    if (dialing.callType !== undefined) caller.callType = dialing.callType;
  }
  const name = event.name ?? dialing?.name;
  if (name !== undefined) caller.name = name;
  if (event.callerId !== undefined) caller.callerId = event.callerId;
  if (event.dialledNumber !== undefined) caller.dialledNumber = event.dialledNumber;
  if (event.dialOutId !== undefined) caller.dialOutId = event.dialOutId;
  conf.callers = [...conf.callers.filter((c) => c !== dialing), caller];
  out.push(userEnter(conf, caller));
  // A bridge that cannot mute late joiners itself gets the policy applied caller by caller.
  const followUps = wanted !== undefined && wanted !== event.muted && conf.bridgeConfId !== undefined
    ? [{ bridgeId: conf.bridgeId, command: { op: 'mute' as const, bridgeConfId: conf.bridgeConfId, port: event.port, muted: wanted } }]
    : [];
  return effects({ conferences: [conf], out, followUps });
}

function callerLeft(conf: ConferenceState, legId: string, reason: LeaveReason, ctx: TransitionContext): Effects {
  const caller = byLeg(conf, legId);
  if (!caller) return effects();
  const out: Outgoing[] = [];
  userChange(conf, caller, { Status: 1, Reason: REASON[reason] }, ctx, out);
  conf.callers = conf.callers.filter((c) => c !== caller);
  if (caller.extCallID === undefined) {
    conf.callers.push({ phase: 'departed', extCallID: undefined, enterMsgID: caller.enterMsgID, held: caller.held });
  }
  return effects({ conferences: [conf], out });
}

/** A caller's state changed on the bridge; reported unless the engine already knew it. */
function callerChanged(conf: ConferenceState, legId: string, change: (c: JoinedCaller) => boolean, ctx: TransitionContext): Effects {
  const caller = byLeg(conf, legId);
  if (!caller || !change(caller)) return effects();
  const out: Outgoing[] = [];
  userChange(conf, caller, callerStateFields(caller), ctx, out);
  return effects({ conferences: [conf], out });
}

export function muteChanged(conf: ConferenceState, legId: string, muted: boolean, by: MuteBy, ctx: TransitionContext): Effects {
  return callerChanged(conf, legId, (c) => setMute(c, muted, by), ctx);
}

/** A debounced talking change becomes Speaking; a muted caller does not start speaking. */
export function speakingChanged(conf: ConferenceState, legId: string, speaking: boolean, ctx: TransitionContext): Effects {
  return callerChanged(conf, legId, (c) => {
    if (c.speaking === speaking || (speaking && c.muted)) return false;
    c.speaking = speaking;
    return true;
  }, ctx);
}

export function subConferenceChanged(conf: ConferenceState, legId: string, subConfId: number, ctx: TransitionContext): Effects {
  return callerChanged(conf, legId, (c) => {
    if (c.subConfId === subConfId) return false;
    c.subConfId = subConfId;
    return true;
  }, ctx);
}

/**
 * Applies one bridge event to its conference (the copy the caller passed). `talking` is not
 * handled here: the engine debounces it and calls `speakingChanged`.
 */
export function applyBridgeEvent(conf: ConferenceState, event: BridgeEvent, ctx: TransitionContext): Effects {
  if (conf.status === 'ended') return effects();
  switch (event.type) {
    case 'callerJoined':
      return callerJoined(conf, event, ctx);
    case 'callerLeft':
      return callerLeft(conf, event.legId, event.reason, ctx);
    case 'muteChanged':
      return muteChanged(conf, event.legId, event.muted, MUTE_BY[event.by], ctx);
    case 'subConferenceChanged':
      return subConferenceChanged(conf, event.legId, event.subConfId, ctx);
    case 'dialOut': {
      if (event.state === 'ringing') return effects();
      if (event.state !== 'answered') return dialOutFinished(conf, event.dialOutId, event.state, ctx);
      const dialing = conf.callers.find((c): c is DialingCaller => c.phase === 'dialing' && c.dialOutId === event.dialOutId);
      if (!dialing || dialing.state === 'answered') return effects();
      dialing.state = 'answered';
      return effects({ conferences: [conf], out: [calloutAnswer(conf, dialing, 0)] });
    }
    case 'conferenceChanged': {
      if (event.state === 'ended') return conferenceEnded(conf, ctx);
      if (event.state === 'started') return effects();
      const status = event.state === 'locked' ? 'locked' : 'running';
      if (conf.status === status || conf.status === 'creating') return effects();
      conf.status = status;
      return effects({ conferences: [conf], out: [conferenceChange(conf, status === 'locked' ? 2 : 0, ctx)] });
    }
    case 'passthrough': {
      const caller = event.port === undefined ? undefined : conf.callers.find((c): c is JoinedCaller => isJoined(c) && c.port === event.port);
      if (!caller) return effects({ unroutable: 'unknown-caller' });
      const message: MessageOf<'A2W_CSPClientPassthrough'> = {
        type: 'A2W_CSPClientPassthrough', MsgID: ctx.newMsgId(), ExtConfID: conf.extConfID, ExtCallID: caller.extCallID ?? '', Data: event.data,
      };
      if (caller.extCallID === undefined) {
        caller.held.push(message);
        return effects({ conferences: [conf] });
      }
      return effects({ conferences: [conf], out: [{ url: conf.wbxHostName, message }] });
    }
    case 'talking':
    case 'dtmf':
    case 'ports':
      return effects();
  }
}
