/**
 * W2A_CreateConference (spec 3.1): admission, creation on the bridge, the answer with the
 * call-in numbers and Hybrid attributes, then Status 1 and Status 0; or, for a ConfKey already
 * running, re-attachment to the new ExtConfID and WebEx server with the roster re-announced.
 */
import { RESULT, type MessageOf, type ResponseResult } from '../../protocol/index.js';
import {
  callerStateFields, conferenceChange, effects, hasNonDefaultState, openStatus, response, userChange, userEnter,
  type Outgoing,
} from './effects.js';
import { resultOfBridgeError } from './results.js';
import { isJoined, type ConferenceState } from './state.js';
import { answer, done, type CommandContext, type Handler, type Step } from './step.js';

function createExtras(conf: ConferenceState, ctx: CommandContext): Partial<MessageOf<'A2W_RspCreateConference'>> {
  const { numbers, hybrid } = ctx.options;
  const extra: Partial<MessageOf<'A2W_RspCreateConference'>> = { AccessCode: conf.confKey };
  if (numbers.tollNumber && conf.classes.tollCallIn) extra.TollNumber = numbers.tollNumber;
  if (numbers.tollFreeNumber && conf.classes.tollFreeCallIn) extra.TollFreeNumber = numbers.tollFreeNumber;
  if (numbers.globalNumberURL) extra.GlobalNumberURL = numbers.globalNumberURL;
  if (hybrid.enabled) {
    extra.HybridSDKEnabled = true;
    if (hybrid.sdkToken !== undefined) extra.HybridSDKToken = hybrid.sdkToken;
    if (hybrid.clientURL !== undefined) extra.HybridClientURL = hybrid.clientURL;
    if (hybrid.adhocInstall !== undefined) extra.AdhocInstall = hybrid.adhocInstall;
    if (hybrid.seamlessSwitchEnabled !== undefined) extra.SeamlessSwitchEnabled = hybrid.seamlessSwitchEnabled;
    if (hybrid.appDetection !== undefined) extra.AppDetection = hybrid.appDetection;
  }
  return extra;
}

function newConference(msg: MessageOf<'W2A_CreateConference'>, bridgeId: string, ctx: CommandContext): ConferenceState {
  return {
    confId: ctx.newConfId(),
    confKey: msg.ConfKey,
    extConfID: msg.ExtConfID,
    formerExtConfIDs: [],
    wbxHostName: msg.WbxHostName,
    bridgeId,
    bridgeConfId: undefined,
    status: 'creating',
    entryTone: (['none', 'beep', 'announce'] as const)[msg.EntryTone ?? 0],
    silentJoin: msg.SilentJoin ?? false,
    muteOnEntry: msg.MuteOnEntry ?? false,
    attendeeCount: msg.AttendeeCount ?? 0,
    // Call-backs abroad cost most and are the toll-fraud target: enabled only when asked for.
    classes: {
      tollCallIn: msg.TollCallIn ?? true,
      tollFreeCallIn: msg.TollFreeCallIn ?? true,
      domesticCallBack: msg.DomesticCallBack ?? true,
      intlCallBack: msg.IntlCallBack ?? false,
    },
    muteAll: undefined,
    lastActivityAt: ctx.now,
    recentDialOutsAt: [],
    callers: [],
  };
}

/** The bridge conference exists: answer, then Status 1 and Status 0 (spec 3.1). */
function created(conf: ConferenceState, msg: MessageOf<'W2A_CreateConference'>, bridgeConfId: string, ctx: CommandContext): Step {
  conf.bridgeConfId = bridgeConfId;
  conf.status = 'running';
  return done(effects({
    conferences: [conf],
    out: [
      response(msg, RESULT.DONE, conf, createExtras(conf, ctx)),
      conferenceChange(conf, 1, ctx),
      conferenceChange(conf, 0, ctx),
    ],
    result: RESULT.DONE,
  }));
}

/**
 * Re-creation with the same ConfKey (a WebEx server fail-over, spec 3.1): the running conference
 * takes the new ExtConfID and WbxHostName, and the new server hears the whole roster.
 */
function reattached(conf: ConferenceState, msg: MessageOf<'W2A_CreateConference'>, ctx: CommandContext): Step {
  if (conf.extConfID !== msg.ExtConfID && !conf.formerExtConfIDs.includes(conf.extConfID)) {
    conf.formerExtConfIDs.push(conf.extConfID);
  }
  conf.extConfID = msg.ExtConfID;
  // Ringing dial-outs ordered through the failed server are answered to its successor.
  for (const c of conf.callers) {
    if (c.phase === 'dialing' && c.request.url === conf.wbxHostName) c.request.url = msg.WbxHostName;
  }
  conf.wbxHostName = msg.WbxHostName;
  conf.lastActivityAt = ctx.now;
  const out: Outgoing[] = [response(msg, RESULT.DONE, conf, createExtras(conf, ctx)), conferenceChange(conf, openStatus(conf), ctx)];
  for (const caller of conf.callers.filter(isJoined)) {
    caller.enterMsgID = ctx.newMsgId();
    out.push(userEnter(conf, caller));
    if (caller.extCallID !== undefined && hasNonDefaultState(caller)) {
      userChange(conf, caller, callerStateFields(caller), ctx, out);
    }
  }
  return done(effects({ conferences: [conf], out, result: RESULT.DONE }));
}

/** `conf`: the live conference with this ConfKey, if any. */
export const createConference: Handler<'W2A_CreateConference'> = (conf, msg, ctx) => {
  if (conf && conf.status !== 'creating' && conf.status !== 'ended') return reattached(conf, msg, ctx);
  let creating: ConferenceState;
  if (conf?.status === 'creating') {
    // Another ExtConfID's create of this key is under way right now: not a second bridge conference.
    if (!ctx.inDoubt) return answer(msg, RESULT.KEY_IN_USE, conf);
    // Left unfinished by a crash: the engine checks the bridge before creating it again.
    creating = conf;
  } else {
    const admission = ctx.admit(msg.AttendeeCount ?? 0);
    if (admission.kind === 'refused') {
      const extra = admission.result === RESULT.REDIRECTED && ctx.options.admission.redirectURL
        ? { RedirectURL: ctx.options.admission.redirectURL } : {};
      return done(effects({ out: [response(msg, admission.result, undefined, extra)], result: admission.result }));
    }
    creating = newConference(msg, admission.bridgeId, ctx);
  }
  const failed = (result: ResponseResult): Step => {
    creating.status = 'ended';
    creating.endedAt = ctx.now;
    return done(effects({ conferences: [creating], out: [response(msg, result, creating)], result }));
  };
  return {
    kind: 'bridge',
    bridgeId: creating.bridgeId,
    confId: creating.confId,
    journal: creating,
    command: {
      op: 'createConference',
      options: { confKey: creating.confKey, entryTone: creating.entryTone, silentJoin: creating.silentJoin, muteOnEntry: creating.muteOnEntry },
    },
    then: (reply, latest) => created(latest ?? creating, msg, (reply as { bridgeConfId: string }).bridgeConfId, ctx),
    onError: (code) => failed(resultOfBridgeError(code)),
  };
};
