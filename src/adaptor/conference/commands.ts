/**
 * W2A commands as state transitions (spec 3). A handler looks at the conference as it is and
 * returns a Step: either the final Effects, or one bridge command plus what to do with its
 * reply (given the conference as it is by then, since bridge events may have changed it while
 * the command was on the wire). The engine runs the bridge commands; nothing here does I/O.
 *
 * Recovery: a command that may have reached the bridge before a crash is planned again; the
 * engine then checks each of its bridge commands against the bridge's snapshot
 * (`replyFromSnapshot`) and sends only those that did not take effect. For that, ids sent to
 * the bridge are derived from the command's store id, never drawn at random.
 */
import type { BridgeCommand } from '../../bridges/driver.js';
import type { BridgeErrorCode } from '../../bridges/errors.js';
import { RESULT, type MessageOf, type ResponseResult, type W2AMessage } from '../../protocol/index.js';
import type { Admission } from '../admission.js';
import { checkDialOut, recentDialOuts, type DialOutRefusal } from '../dial-policy.js';
import {
  callerStateFields, conferenceChange, effects, hasNonDefaultState, isRequest, openStatus, response,
  userChange, userEnter,
  type Effects, type Outgoing, type RequestMessage, type TransitionContext,
} from './effects.js';
import { resultOfBridgeError } from './results.js';
import { isJoined, setMute, type ConferenceState, type DepartedCaller, type DialingCaller, type JoinedCaller } from './state.js';
import { conferenceEnded, dialOutFinished } from './events.js';

export interface CommandContext extends TransitionContext {
  /** The store's id of this command: stable across a restart, so ids derived from it are too. */
  commandId: number;
  /** This command may have reached the bridge before a crash (it is being finished by recovery). */
  inDoubt: boolean;
  newConfId(): string;
  admit(attendeeCount: number): Admission;
  capabilities(bridgeId: string): { dialOut: boolean; subConferences: boolean; maxSubConferences: number; passthrough: boolean } | undefined;
}

export type Step =
  | { kind: 'done'; effects: Effects; dialOutRefusal?: DialOutRefusal }
  | {
      kind: 'bridge';
      bridgeId: string;
      confId: string;
      command: BridgeCommand;
      /** The conference to keep before the command goes out (so events it causes find it). */
      journal?: ConferenceState;
      then(reply: unknown, conf: ConferenceState | undefined): Step;
      /** A bridge error this command handles itself; undefined: answer the mapped Result. */
      onError?(code: BridgeErrorCode | undefined, conf: ConferenceState | undefined): Step | undefined;
    };

const done = (e: Effects): Step => ({ kind: 'done', effects: e });

/** Answers `request` with `result`, changing nothing. */
export function answer(request: W2AMessage, result: ResponseResult, conf: ConferenceState | undefined): Step {
  if (!isRequest(request)) return done(effects());
  return done(effects({ out: [response(request, result, conf)], result }));
}

/** The Result for a command addressed to a conference that is not open, if it is not. */
function closedResult(conf: ConferenceState | undefined): ResponseResult | undefined {
  if (!conf) return RESULT.CONF_NOT_FOUND;
  if (conf.status === 'ended') return RESULT.ENDED;
  // Only a crash can leave a command queued behind an unfinished create; its fate is unknown.
  if (conf.status === 'creating' || conf.bridgeConfId === undefined) return RESULT.BRIDGE_FAILED;
  return undefined;
}

/** Runs `run` on the conference if it is open, else answers why not (10, 13 or 32). */
function whenOpen(conf: ConferenceState | undefined, msg: W2AMessage, run: (conf: ConferenceState) => Step): Step {
  const closed = closedResult(conf);
  return closed !== undefined || !conf ? answer(msg, closed ?? RESULT.CONF_NOT_FOUND, conf) : run(conf);
}

/** One bridge command for `conf`. */
function onBridge(
  conf: ConferenceState,
  command: BridgeCommand,
  then: (latest: ConferenceState) => Step,
  onError?: (code: BridgeErrorCode | undefined, latest: ConferenceState) => Step | undefined,
): Step {
  const step: Step = { kind: 'bridge', bridgeId: conf.bridgeId, confId: conf.confId, command, then: (_r, latest) => then(latest ?? conf) };
  if (onError) step.onError = (code, latest) => onError(code, latest ?? conf);
  return step;
}

type Handler<T extends W2AMessage['type']> = (
  conf: ConferenceState | undefined,
  msg: MessageOf<T>,
  ctx: CommandContext,
) => Step;

// --- 3.1 Conference life -------------------------------------------------------------------

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
const createConference: Handler<'W2A_CreateConference'> = (conf, msg, ctx) => {
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

/** Runs `commands` one after another, ignoring failures, then continues with `next`. */
function sequence(conf: ConferenceState, commands: BridgeCommand[], next: (conf: ConferenceState) => Step): Step {
  const [first, ...rest] = commands;
  if (!first) return next(conf);
  const go = (latest: ConferenceState): Step => sequence(latest, rest, next);
  return onBridge(conf, first, go, (_code, latest) => go(latest));
}

const endConference: Handler<'W2A_EndConference'> = (conf, msg, ctx) => whenOpen(conf, msg, (open) => {
  const bridgeConfId = open.bridgeConfId!;
  const cancels: BridgeCommand[] = open.callers
    .filter((c): c is DialingCaller => c.phase === 'dialing')
    .map((c) => ({ op: 'cancelDialOut', bridgeConfId, dialOutId: c.dialOutId }));
  const finish = (latest: ConferenceState): Step => {
    const ended = conferenceEnded(latest, ctx);
    ended.out.unshift(response(msg, RESULT.DONE, latest));
    return done({ ...ended, result: RESULT.DONE });
  };
  // Already gone from the bridge: the end is done all the same.
  return sequence(open, cancels, (c) => onBridge(c, { op: 'endConference', bridgeConfId }, finish,
    (code, latest) => (code === 'BRIDGE_ERR_CONF_NOT_FOUND' ? finish(latest) : undefined)));
});

const lockConference: Handler<'W2A_LockConference'> = (conf, msg, ctx) => whenOpen(conf, msg, (open) =>
  onBridge(open, { op: 'lockConference', bridgeConfId: open.bridgeConfId!, locked: msg.Lock }, (c) => {
    if (c.status === 'ended') return answer(msg, RESULT.ENDED, c);
    c.status = msg.Lock ? 'locked' : 'running';
    return done(effects({ conferences: [c], out: [response(msg, RESULT.DONE, c), conferenceChange(c, openStatus(c), ctx)], result: RESULT.DONE }));
  }));

const keepAlive: Handler<'W2A_KeepAliveConference'> = (conf, _msg, ctx) => {
  if (!conf) return done(effects({ unroutable: 'unknown-conference' }));
  conf.lastActivityAt = ctx.now;
  return done(effects({ conferences: [conf] }));
};

// --- 3.2 Callers ---------------------------------------------------------------------------

function findJoined(conf: ConferenceState, extCallID: string): JoinedCaller | undefined {
  return conf.callers.find((c): c is JoinedCaller => isJoined(c) && c.extCallID === extCallID);
}

/**
 * A command for one joined caller: answered 0 once the bridge did it, then the caller's new
 * state reported (if the caller is still there by then).
 */
function callerCommand(
  conf: ConferenceState | undefined,
  msg: MessageOf<'W2A_MuteUser' | 'W2A_AddToSubConference'>,
  command: (bridgeConfId: string, caller: JoinedCaller) => BridgeCommand,
  change: (caller: JoinedCaller) => void,
  ctx: CommandContext,
): Step {
  return whenOpen(conf, msg, (open) => {
    const caller = findJoined(open, msg.ExtCallID);
    if (!caller) return answer(msg, RESULT.CALL_NOT_FOUND, open);
    return onBridge(open, command(open.bridgeConfId!, caller), (c) => {
      const out = [response(msg, RESULT.DONE, c)];
      const now = findJoined(c, msg.ExtCallID);
      if (now) {
        change(now);
        userChange(c, now, callerStateFields(now), ctx, out);
      }
      return done(effects({ conferences: [c], out, result: RESULT.DONE }));
    });
  });
}

const muteUser: Handler<'W2A_MuteUser'> = (conf, msg, ctx) => callerCommand(conf, msg,
  (bridgeConfId, caller) => ({ op: 'mute', bridgeConfId, port: caller.port, muted: msg.Mute }),
  (caller) => {
    setMute(caller, msg.Mute, 'Host');
    // The host's command is reported as the host's even when the caller already was in that state.
    caller.mutedBy = 'Host';
  },
  ctx);

const muteConference: Handler<'W2A_MuteConference'> = (conf, msg, ctx) => whenOpen(conf, msg, (open) => {
  const applyToNewCallers = msg.ApplyToNewCallers ?? false;
  const command: BridgeCommand = { op: 'muteAll', bridgeConfId: open.bridgeConfId!, muted: msg.Mute, applyToNewCallers };
  if (msg.ExceptExtCallID !== undefined) {
    const except = findJoined(open, msg.ExceptExtCallID);
    if (!except) return answer(msg, RESULT.CALL_NOT_FOUND, open);
    command.exceptPort = except.port;
  }
  return onBridge(open, command, (c) => {
    // In force until a W2A_MuteConference Mute="0" (spec 3.2).
    c.muteAll = msg.Mute || applyToNewCallers
      ? { muted: msg.Mute, applyToNewCallers, ...(msg.ExceptExtCallID !== undefined ? { exceptExtCallID: msg.ExceptExtCallID } : {}) }
      : undefined;
    const out = [response(msg, RESULT.DONE, c)];
    for (const caller of c.callers.filter(isJoined)) {
      if (caller.extCallID !== undefined && caller.extCallID === msg.ExceptExtCallID) continue;
      if (setMute(caller, msg.Mute, 'Policy')) userChange(c, caller, callerStateFields(caller), ctx, out);
    }
    return done(effects({ conferences: [c], out, result: RESULT.DONE }));
  });
});

const expelUser: Handler<'W2A_ExpelUser'> = (conf, msg, ctx) => whenOpen(conf, msg, (open) => {
  const caller = open.callers.find((c) => c.extCallID === msg.ExtCallID);
  if (!caller || caller.phase === 'departed') return answer(msg, RESULT.CALL_NOT_FOUND, open);
  const bridgeConfId = open.bridgeConfId!;
  if (caller.phase === 'dialing') {
    // Expelling a ringing dial-out cancels it; its W2A_Callout is answered 45 (spec 3.2).
    const cancelled = (c: ConferenceState): Step => {
      const e = dialOutFinished(c, caller.dialOutId, 'cancelled', ctx);
      e.out.unshift(response(msg, RESULT.DONE, c));
      return done({ ...e, result: RESULT.DONE });
    };
    return onBridge(open, { op: 'cancelDialOut', bridgeConfId, dialOutId: caller.dialOutId }, cancelled,
      (code, latest) => (code === 'BRIDGE_ERR_DIALOUT_NOT_FOUND' ? cancelled(latest) : undefined));
  }
  return onBridge(open, { op: 'expel', bridgeConfId, port: caller.port }, (c) => {
    const out = [response(msg, RESULT.DONE, c)];
    const now = findJoined(c, msg.ExtCallID);
    if (now) {
      c.callers = c.callers.filter((x) => x !== now);
      userChange(c, now, { Status: 1, Reason: 'Expelled' }, ctx, out);
    }
    return done(effects({ conferences: [c], out, result: RESULT.DONE }));
  });
});

const callout: Handler<'W2A_Callout'> = (conf, msg, ctx) => whenOpen(conf, msg, (open) => {
  const dialOutId = `${open.confId}-${ctx.commandId}`;
  const existing = open.callers.find((c) => c.extCallID === msg.ExtCallID);
  if (existing) {
    // Journalled before a crash: planned again; the engine checks the bridge before dialling.
    if (existing.phase !== 'dialing' || existing.dialOutId !== dialOutId) return answer(msg, RESULT.CALL_NOT_FOUND, open);
    open.callers = open.callers.filter((c) => c !== existing);
  }
  if (!ctx.capabilities(open.bridgeId)?.dialOut) return answer(msg, RESULT.BRIDGE_FAILED, open);
  const refusal = checkDialOut(open, msg.PhoneNumber, ctx.now, ctx.options.dialOut);
  if (refusal) {
    const refused = answer(msg, RESULT.DIAL_NOT_ALLOWED, open);
    return refused.kind === 'done' ? { ...refused, dialOutRefusal: refusal } : refused;
  }
  const dialing: DialingCaller = {
    phase: 'dialing',
    extCallID: msg.ExtCallID,
    dialOutId,
    number: msg.PhoneNumber,
    state: 'ringing',
    request: { MsgID: msg.MsgID, url: msg.WbxHostName ?? open.wbxHostName },
    startedAt: ctx.now,
  };
  if (msg.Name !== undefined) dialing.name = msg.Name;
  open.callers.push(dialing);
  open.recentDialOutsAt = [...recentDialOuts(open, ctx.now), ctx.now];
  const command: BridgeCommand = {
    op: 'dialOut', bridgeConfId: open.bridgeConfId!, dialOutId, number: msg.PhoneNumber,
    confirm: msg.Confirm ?? false, silent: msg.SilentJoin ?? false,
  };
  if (msg.Name !== undefined) command.name = msg.Name;
  // The answer waits for the outcome (a dialOut event).
  const step = onBridge(open, command, (c) => done(effects({ conferences: [c] })), (code, c) => {
    c.callers = c.callers.filter((x) => !(x.phase === 'dialing' && x.dialOutId === dialOutId));
    const result = code === 'BRIDGE_ERR_INVALID' ? RESULT.DIAL_INVALID : resultOfBridgeError(code);
    return done(effects({ conferences: [c], out: [response(msg, result, c)], result }));
  });
  // Kept before dialling, so the dial-out's events find their caller.
  return step.kind === 'bridge' ? { ...step, journal: open } : step;
});

const rspNotifyUserEnter: Handler<'W2A_RspNotifyUserEnter'> = (conf, msg) => {
  if (!conf) return done(effects({ unroutable: 'unknown-conference' }));
  const named = conf.callers.filter((c): c is JoinedCaller | DepartedCaller => c.phase !== 'dialing');
  const caller = named.find((c) => c.enterMsgID === msg.MsgID) ?? named.find((c) => c.extCallID === msg.ExtCallID);
  if (!caller) return done(effects({ unroutable: 'unknown-caller' }));
  // Held events go out now, in the order they happened (spec 3.2).
  const out = caller.held.map((m) => ({ url: conf.wbxHostName, message: { ...m, ExtCallID: msg.ExtCallID } }));
  if (caller.phase === 'departed') {
    conf.callers = conf.callers.filter((c) => c !== caller);
  } else {
    caller.extCallID = msg.ExtCallID;
    caller.held = [];
  }
  return done(effects({ conferences: [conf], out }));
};

// --- 3.3 / 3.4 -----------------------------------------------------------------------------

const addToSubConference: Handler<'W2A_AddToSubConference'> = (conf, msg, ctx) => {
  const caps = conf && ctx.capabilities(conf.bridgeId);
  if (conf && closedResult(conf) === undefined && msg.SubConfID !== 0 && (!caps?.subConferences || msg.SubConfID > caps.maxSubConferences)) {
    return answer(msg, RESULT.BRIDGE_FAILED, conf);
  }
  return callerCommand(conf, msg,
    (bridgeConfId, caller) => ({ op: 'moveToSubConference', bridgeConfId, port: caller.port, subConfId: msg.SubConfID }),
    (caller) => { caller.subConfId = msg.SubConfID; },
    ctx);
};

const passthrough: Handler<'W2A_CSPClientPassthrough'> = (conf, msg) => {
  if (!conf || closedResult(conf) !== undefined) return done(effects({ unroutable: 'unknown-conference' }));
  const caller = findJoined(conf, msg.ExtCallID);
  if (!caller) return done(effects({ unroutable: 'unknown-caller' }));
  return onBridge(conf, { op: 'passthrough', bridgeConfId: conf.bridgeConfId!, port: caller.port, data: msg.Data }, () => done(effects()));
};

const HANDLERS: { [T in W2AMessage['type']]: Handler<T> } = {
  W2A_CreateConference: createConference,
  W2A_EndConference: endConference,
  W2A_LockConference: lockConference,
  W2A_KeepAliveConference: keepAlive,
  W2A_RspNotifyUserEnter: rspNotifyUserEnter,
  W2A_MuteUser: muteUser,
  W2A_MuteConference: muteConference,
  W2A_ExpelUser: expelUser,
  W2A_Callout: callout,
  W2A_AddToSubConference: addToSubConference,
  W2A_CSPClientPassthrough: passthrough,
};

/**
 * The first step of carrying out `msg`. `conf` is the conference it addresses: by ConfKey for
 * W2A_CreateConference (the live one with that key), by ExtConfID for everything else.
 * The caller passes a copy it may change.
 */
export function planCommand(conf: ConferenceState | undefined, msg: W2AMessage, ctx: CommandContext): Step {
  return (HANDLERS[msg.type] as Handler<W2AMessage['type']>)(conf, msg, ctx);
}

export type { RequestMessage };
