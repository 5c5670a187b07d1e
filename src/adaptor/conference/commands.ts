/**
 * W2A commands as state transitions (spec 3): one handler per element, each returning a Step
 * (step.ts). W2A_CreateConference is in create.ts.
 *
 * Recovery: a command that may have reached the bridge before a crash is planned again; the
 * engine then checks each of its bridge commands against the bridge's snapshot
 * (`replyFromSnapshot`) and sends only those that did not take effect. For that, ids sent to
 * the bridge are derived from the command's store id, never drawn at random.
 */
import type { BridgeCommand } from '../../bridges/driver.js';
import { RESULT, type MessageOf, type W2AMessage } from '../../protocol/index.js';
import { checkDialOut, recentDialOuts } from '../dial-policy.js';
import { callerStateFields, conferenceChange, effects, openStatus, response, userChange } from './effects.js';
import { conferenceEnded, dialOutFinished } from './events.js';
import { createConference } from './create.js';
import { resultOfBridgeError } from './results.js';
import { isJoined, setMute, type ConferenceState, type DepartedCaller, type DialingCaller, type JoinedCaller } from './state.js';
import { answer, closedResult, done, onBridge, whenOpen, type CommandContext, type Handler, type Step } from './step.js';

export { answer, type CommandContext, type Step } from './step.js';

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
  return done(effects({ touched: [conf] }));
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
  if (msg.CallType !== undefined) dialing.callType = msg.CallType;
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

