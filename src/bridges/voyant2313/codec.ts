/**
 * The whole Voyant 2313 wire format: every message of the request and notification connections,
 * between the driver contract's plain data (driver.ts) and one XML document per frame.
 * docs/voyant2313-protocol.md documents the same catalogue with examples; a provider holding
 * the vendor's specification changes this module (and the framer) and nothing else.
 *
 * Symmetric: the driver encodes ClientMessage and decodes ServerMessage, the emulator's server
 * does the opposite, both through these functions. Decoding throws CodecError for anything
 * outside the catalogue; callers count that as a malformed frame and skip it.
 */
import type {
  BridgeCommand, BridgeEvent, BridgeOp, BridgeSnapshot, CommandOf, CommandReplies, ConferenceOptions,
  DialOutState, PortUsage, SnapshotCaller, SnapshotConference, SnapshotDialOut,
} from '../driver.js';
import type { BridgeErrorCode } from '../errors.js';
import { AttrReader, CodecError, Tokens, attrs, defined } from './attributes.js';
import { encodeFrame } from './framer.js';
import { parseXml, writeXml, XmlSyntaxError, type XmlElement } from './xml.js';

export { CodecError };

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/** Sent by the driver: on the request connection (login, command), on the notification one (register). */
export type ClientMessage =
  | { kind: 'login'; reqId: string; username: string; password: string }
  | { kind: 'command'; reqId: string; command: BridgeCommand }
  | { kind: 'register'; sessionId: string };

type ReplyByOp = { [O in BridgeOp]: { op: O; reply: CommandReplies[O] } }[BridgeOp];

/** Sent by the bridge: results on the request connection; register result, events, heartbeats on the other. */
export type ServerMessage =
  | { kind: 'loginResult'; reqId: string; ok: true; sessionId: string; model: string }
  | { kind: 'loginResult'; reqId: string; ok: false; detail?: string }
  | { kind: 'registerResult'; ok: true }
  | { kind: 'registerResult'; ok: false; detail?: string }
  | ({ kind: 'reply'; reqId: string } & ReplyByOp)
  /** `op` is absent when the bridge could not tell which command it was (ERROR_RESP). */
  | { kind: 'failure'; reqId: string; op?: BridgeOp; code: BridgeErrorCode; detail?: string }
  | { kind: 'event'; seq: number; event: BridgeEvent }
  | { kind: 'heartbeat'; at: number; ports: PortUsage };

// ---------------------------------------------------------------------------------------------
// Result codes <-> BridgeError codes
// ---------------------------------------------------------------------------------------------

/** Wire result of a refused command. One wire code per BridgeError code the bridge itself can give. */
export const RESULT_CODES = {
  NOT_SUPPORTED: 'BRIDGE_ERR_UNSUPPORTED',
  CONF_NOT_FOUND: 'BRIDGE_ERR_CONF_NOT_FOUND',
  PART_NOT_FOUND: 'BRIDGE_ERR_PORT_NOT_FOUND',
  DIALOUT_NOT_FOUND: 'BRIDGE_ERR_DIALOUT_NOT_FOUND',
  CONF_KEY_IN_USE: 'BRIDGE_ERR_KEY_IN_USE',
  NO_PORTS_AVAILABLE: 'BRIDGE_ERR_NO_PORTS',
  CONF_LOCKED: 'BRIDGE_ERR_LOCKED',
  INVALID_PARAM: 'BRIDGE_ERR_INVALID',
  REFUSED: 'BRIDGE_ERR_REFUSED',
  /** The bridge could not decode the request. */
  BAD_REQUEST: 'BRIDGE_ERR_PROTOCOL',
} as const satisfies Record<string, BridgeErrorCode>;
type ResultCode = keyof typeof RESULT_CODES;

const CODE_TO_RESULT = new Map<BridgeErrorCode, ResultCode>(
  Object.entries(RESULT_CODES).map(([wire, code]) => [code, wire as ResultCode]),
);

/** Codes that only the driver's side can produce (timeout, link down, closed) travel as REFUSED. */
export function resultCodeOf(code: BridgeErrorCode): ResultCode {
  return CODE_TO_RESULT.get(code) ?? 'REFUSED';
}

const OK = 'OK';
const AUTH_FAILED = 'AUTH_FAILED';
const INVALID_SESSION = 'INVALID_SESSION';

const ENTRY_TONES = new Tokens({ none: 'NONE', beep: 'BEEP', announce: 'ANNOUNCE' });
const TONES = new Tokens({ beep: 'BEEP', announce: 'ANNOUNCE' });
const MUTE_SOURCES = new Tokens({ keypad: 'KEYPAD', command: 'COMMAND', bridge: 'BRIDGE' });
const LEAVE_REASONS = new Tokens({
  hangup: 'HANGUP', expelled: 'EXPELLED', dropped: 'DROPPED', 'conference-ended': 'CONF_ENDED',
});
const DIAL_OUT_STATES = new Tokens<DialOutState>({
  ringing: 'RINGING', answered: 'ANSWERED', busy: 'BUSY', 'no-answer': 'NO_ANSWER', rejected: 'REJECTED',
  invalid: 'INVALID_NUMBER', failed: 'FAILED', cancelled: 'CANCELLED',
});

// ---------------------------------------------------------------------------------------------
// Commands and their replies: one row per op
// ---------------------------------------------------------------------------------------------

interface ReplyCodec<R> {
  encode(reply: R): Pick<XmlElement, 'attrs' | 'children'>;
  decode(element: AttrReader): R;
}

interface CommandSpec<O extends BridgeOp> {
  /** Request element; its response is `${element}_RESP`. */
  element: string;
  encode(command: CommandOf<O>): Record<string, string>;
  decode(a: AttrReader): CommandOf<O>;
  reply: ReplyCodec<CommandReplies[O]>;
}

const NO_REPLY: ReplyCodec<void> = {
  encode: () => ({ attrs: {}, children: [] }),
  decode: () => undefined,
};

const COMMANDS: { [O in BridgeOp]: CommandSpec<O> } = {
  createConference: {
    element: 'CREATE_CONF',
    encode: ({ options: o }) => attrs({
      confKey: o.confKey, entryTone: ENTRY_TONES.encode(o.entryTone), silentJoin: o.silentJoin, muteOnEntry: o.muteOnEntry,
    }),
    decode: (a) => ({ op: 'createConference', options: decodeOptions(a) }),
    reply: {
      encode: (r) => ({ attrs: attrs({ confId: r.bridgeConfId }), children: [] }),
      decode: (a) => ({ bridgeConfId: a.str('confId') }),
    },
  },
  endConference: {
    element: 'END_CONF',
    encode: (c) => attrs({ confId: c.bridgeConfId }),
    decode: (a) => ({ op: 'endConference', bridgeConfId: a.str('confId') }),
    reply: NO_REPLY,
  },
  lockConference: {
    element: 'SET_CONF_LOCK',
    encode: (c) => attrs({ confId: c.bridgeConfId, locked: c.locked }),
    decode: (a) => ({ op: 'lockConference', bridgeConfId: a.str('confId'), locked: a.bool('locked') }),
    reply: NO_REPLY,
  },
  mute: {
    element: 'MUTE_PART',
    encode: (c) => attrs({ confId: c.bridgeConfId, port: c.port, muted: c.muted }),
    decode: (a) => ({ op: 'mute', bridgeConfId: a.str('confId'), port: a.str('port'), muted: a.bool('muted') }),
    reply: NO_REPLY,
  },
  muteAll: {
    element: 'MUTE_ALL_PARTS',
    encode: (c) => attrs({
      confId: c.bridgeConfId, muted: c.muted, exceptPort: c.exceptPort, newCallers: c.applyToNewCallers,
    }),
    decode: (a) => defined({
      op: 'muteAll', bridgeConfId: a.str('confId'), muted: a.bool('muted'),
      exceptPort: a.optStr('exceptPort'), applyToNewCallers: a.bool('newCallers'),
    }),
    reply: NO_REPLY,
  },
  expel: {
    element: 'DROP_PART_FROM_CONF',
    encode: (c) => attrs({ confId: c.bridgeConfId, port: c.port }),
    decode: (a) => ({ op: 'expel', bridgeConfId: a.str('confId'), port: a.str('port') }),
    reply: NO_REPLY,
  },
  dialOut: {
    element: 'DIALOUT_PART',
    encode: (c) => attrs({
      confId: c.bridgeConfId, dialOutId: c.dialOutId, number: c.number, name: c.name, confirm: c.confirm, silent: c.silent,
    }),
    decode: (a) => defined({
      op: 'dialOut', bridgeConfId: a.str('confId'), dialOutId: a.str('dialOutId'), number: a.str('number'),
      name: a.optStr('name'), confirm: a.bool('confirm'), silent: a.bool('silent'),
    }),
    reply: NO_REPLY,
  },
  cancelDialOut: {
    element: 'CANCEL_DIALOUT',
    encode: (c) => attrs({ confId: c.bridgeConfId, dialOutId: c.dialOutId }),
    decode: (a) => ({ op: 'cancelDialOut', bridgeConfId: a.str('confId'), dialOutId: a.str('dialOutId') }),
    reply: NO_REPLY,
  },
  moveToSubConference: {
    element: 'MOVE_PART_TO_SUBCONF',
    encode: (c) => attrs({ confId: c.bridgeConfId, port: c.port, subConf: c.subConfId }),
    decode: (a) => ({
      op: 'moveToSubConference', bridgeConfId: a.str('confId'), port: a.str('port'), subConfId: a.int('subConf'),
    }),
    reply: NO_REPLY,
  },
  playTone: {
    element: 'PLAY_TONE',
    encode: (c) => attrs({ confId: c.bridgeConfId, port: c.port, tone: TONES.encode(c.tone) }),
    decode: (a) => defined({
      op: 'playTone', bridgeConfId: a.str('confId'), port: a.optStr('port'), tone: a.oneOf('tone', TONES),
    }),
    reply: NO_REPLY,
  },
  passthrough: {
    element: 'SEND_PASSTHROUGH',
    encode: (c) => attrs({ confId: c.bridgeConfId, port: c.port, data: c.data }),
    decode: (a) => defined({
      op: 'passthrough', bridgeConfId: a.str('confId'), port: a.optStr('port'), data: a.str('data'),
    }),
    reply: NO_REPLY,
  },
  snapshot: {
    element: 'GET_CONF_SNAPSHOT',
    encode: () => ({}),
    decode: () => ({ op: 'snapshot' }),
    reply: {
      encode: (s) => ({ attrs: {}, children: [encodeSnapshot(s)] }),
      decode: (a) => decodeSnapshot(a.element),
    },
  },
};

function specOf<O extends BridgeOp>(op: O): CommandSpec<O> {
  return COMMANDS[op];
}

const RESP_SUFFIX = '_RESP';
const OP_BY_ELEMENT = new Map<string, BridgeOp>(
  (Object.keys(COMMANDS) as BridgeOp[]).map((op) => [COMMANDS[op].element, op]),
);
const OP_BY_RESPONSE = new Map<string, BridgeOp>(
  (Object.keys(COMMANDS) as BridgeOp[]).map((op) => [COMMANDS[op].element + RESP_SUFFIX, op]),
);
const ERROR_RESP = 'ERROR_RESP';

function decodeOptions(a: AttrReader): ConferenceOptions {
  return {
    confKey: a.str('confKey'), entryTone: a.oneOf('entryTone', ENTRY_TONES),
    silentJoin: a.bool('silentJoin'), muteOnEntry: a.bool('muteOnEntry'),
  };
}

// ---------------------------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------------------------

function el(name: string, attributes: Record<string, string>, children: XmlElement[] = []): XmlElement {
  return { name, attrs: attributes, children };
}

function portAttrs(p: PortUsage): Record<string, string> {
  return attrs({ portsTotal: p.total, portsInUse: p.inUse, portsReserved: p.reserved });
}

function decodePorts(a: AttrReader): PortUsage {
  return { total: a.int('portsTotal'), inUse: a.int('portsInUse'), reserved: a.int('portsReserved') };
}

function encodeSnapshot(s: BridgeSnapshot): XmlElement {
  return el('SNAPSHOT', attrs({ takenAt: s.takenAt, eventSeq: s.eventSeq, ...portAttrs(s.ports) }),
    s.conferences.map((c) => el('CONF', attrs({
      confId: c.bridgeConfId, confKey: c.options.confKey, entryTone: ENTRY_TONES.encode(c.options.entryTone),
      silentJoin: c.options.silentJoin, muteOnEntry: c.options.muteOnEntry, locked: c.locked,
    }), [
      ...(c.muteAll ? [el('MUTE_ALL', attrs({
        muted: c.muteAll.muted, exceptPort: c.muteAll.exceptPort, newCallers: c.muteAll.applyToNewCallers,
      }))] : []),
      ...c.callers.map((p) => el('PART', attrs({
        port: p.port, legId: p.legId, callerId: p.callerId, dialledNumber: p.dialledNumber, name: p.name,
        muted: p.muted, mutedBy: MUTE_SOURCES.encode(p.mutedBy), talking: p.talking, subConf: p.subConfId,
        dialOutId: p.dialOutId,
      }))),
      ...c.dialOuts.map((d) => el('DIALOUT', attrs({
        dialOutId: d.dialOutId, number: d.number, state: DIAL_OUT_STATES.encode(d.state), port: d.port,
      }))),
    ])));
}

function only(parent: XmlElement, name: string): XmlElement {
  const [child, ...rest] = parent.children;
  if (!child || rest.length > 0 || child.name !== name) throw new CodecError(`<${parent.name}> must hold one <${name}>`);
  return child;
}

function decodeSnapshot(response: XmlElement): BridgeSnapshot {
  const snapshot = only(response, 'SNAPSHOT');
  const s = new AttrReader(snapshot);
  return {
    takenAt: s.int('takenAt'), eventSeq: s.int('eventSeq'), ports: decodePorts(s),
    conferences: snapshot.children.map(decodeSnapshotConference),
  };
}

function decodeSnapshotConference(conf: XmlElement): SnapshotConference {
  if (conf.name !== 'CONF') throw new CodecError(`<SNAPSHOT> holds <${conf.name}>`);
  const a = new AttrReader(conf);
  const out: SnapshotConference = {
    bridgeConfId: a.str('confId'), options: decodeOptions(a), locked: a.bool('locked'), callers: [], dialOuts: [],
  };
  for (const child of conf.children) {
    const c = new AttrReader(child);
    if (child.name === 'MUTE_ALL' && !out.muteAll) {
      out.muteAll = defined({ muted: c.bool('muted'), exceptPort: c.optStr('exceptPort'), applyToNewCallers: c.bool('newCallers') });
    } else if (child.name === 'PART') {
      out.callers.push(defined<SnapshotCaller>({
        port: c.str('port'), legId: c.str('legId'), callerId: c.optStr('callerId'),
        dialledNumber: c.optStr('dialledNumber'), name: c.optStr('name'), muted: c.bool('muted'),
        mutedBy: c.oneOf('mutedBy', MUTE_SOURCES), talking: c.bool('talking'), subConfId: c.int('subConf'),
        dialOutId: c.optStr('dialOutId'),
      }));
    } else if (child.name === 'DIALOUT') {
      out.dialOuts.push(defined<SnapshotDialOut>({
        dialOutId: c.str('dialOutId'), number: c.str('number'), state: c.oneOf('state', DIAL_OUT_STATES),
        port: c.optStr('port'),
      }));
    } else {
      throw new CodecError(`<CONF> holds an unexpected <${child.name}>`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Events: CAPI-style names; some contract events map to one element per state
// ---------------------------------------------------------------------------------------------

const DIAL_OUT_ELEMENTS = {
  ringing: 'DIALOUT_STARTED', answered: 'DIALOUT_CONNECTED', cancelled: 'DIALOUT_CANCELLED',
} as const;
const CONF_ELEMENTS = {
  started: 'CONF_STARTED', locked: 'CONF_LOCKED', unlocked: 'CONF_UNLOCKED', ended: 'CONF_ENDED',
} as const;

function encodeEvent(seq: number, e: BridgeEvent): XmlElement {
  switch (e.type) {
    case 'callerJoined':
      return el('JOIN_PART_TO_CONF', attrs({
        seq, confId: e.bridgeConfId, port: e.port, legId: e.legId, callerId: e.callerId, dialledNumber: e.dialledNumber,
        name: e.name, muted: e.muted, subConf: e.subConfId, dialOutId: e.dialOutId,
      }));
    case 'callerLeft':
      return el('PART_LEFT_CONF', attrs({ seq, ...leg(e), reason: LEAVE_REASONS.encode(e.reason) }));
    case 'muteChanged':
      return el('PART_MUTE_CHANGED', attrs({ seq, ...leg(e), muted: e.muted, by: MUTE_SOURCES.encode(e.by) }));
    case 'talking':
      return el(e.talking ? 'PART_TALKING_STARTED' : 'PART_TALKING_STOPPED', attrs({ seq, ...leg(e) }));
    case 'dtmf':
      return el('PART_DTMF', attrs({ seq, ...leg(e), digits: e.digits }));
    case 'subConferenceChanged':
      return el('PART_SUBCONF_CHANGED', attrs({ seq, ...leg(e), subConf: e.subConfId }));
    case 'dialOut': {
      const base = { seq, confId: e.bridgeConfId, dialOutId: e.dialOutId, port: e.port };
      if (e.state === 'ringing' || e.state === 'answered' || e.state === 'cancelled') {
        return el(DIAL_OUT_ELEMENTS[e.state], attrs(base));
      }
      return el('DIALOUT_FAILED', attrs({ ...base, cause: DIAL_OUT_STATES.encode(e.state) }));
    }
    case 'conferenceChanged':
      return el(CONF_ELEMENTS[e.state], attrs({ seq, confId: e.bridgeConfId }));
    case 'ports':
      return el('PORT_USAGE', attrs({ seq, ...portAttrs(e.usage) }));
    case 'passthrough':
      return el('PASSTHROUGH_DATA', attrs({ seq, confId: e.bridgeConfId, port: e.port, data: e.data }));
  }
}

function leg(e: { bridgeConfId: string; port: string; legId: string }): Record<string, string> {
  return { confId: e.bridgeConfId, port: e.port, legId: e.legId };
}

function decodeLeg(a: AttrReader): { bridgeConfId: string; port: string; legId: string } {
  return { bridgeConfId: a.str('confId'), port: a.str('port'), legId: a.str('legId') };
}

const EVENT_DECODERS: Readonly<Record<string, (a: AttrReader) => BridgeEvent>> = {
  JOIN_PART_TO_CONF: (a) => defined({
    type: 'callerJoined', ...decodeLeg(a), callerId: a.optStr('callerId'), dialledNumber: a.optStr('dialledNumber'),
    name: a.optStr('name'), muted: a.bool('muted'), subConfId: a.int('subConf'), dialOutId: a.optStr('dialOutId'),
  }),
  PART_LEFT_CONF: (a) => ({ type: 'callerLeft', ...decodeLeg(a), reason: a.oneOf('reason', LEAVE_REASONS) }),
  PART_MUTE_CHANGED: (a) => ({
    type: 'muteChanged', ...decodeLeg(a), muted: a.bool('muted'), by: a.oneOf('by', MUTE_SOURCES),
  }),
  PART_TALKING_STARTED: (a) => ({ type: 'talking', ...decodeLeg(a), talking: true }),
  PART_TALKING_STOPPED: (a) => ({ type: 'talking', ...decodeLeg(a), talking: false }),
  PART_DTMF: (a) => ({ type: 'dtmf', ...decodeLeg(a), digits: a.str('digits') }),
  PART_SUBCONF_CHANGED: (a) => ({ type: 'subConferenceChanged', ...decodeLeg(a), subConfId: a.int('subConf') }),
  ...Object.fromEntries(Object.entries(DIAL_OUT_ELEMENTS).map(([state, name]) => [name, (a: AttrReader) => decodeDialOut(a, state as DialOutState)])),
  DIALOUT_FAILED: (a) => {
    const state = a.oneOf('cause', DIAL_OUT_STATES);
    if (state in DIAL_OUT_ELEMENTS) throw new CodecError(`<DIALOUT_FAILED> cause ${state} is not a failure`);
    return decodeDialOut(a, state);
  },
  ...Object.fromEntries(Object.entries(CONF_ELEMENTS).map(([state, name]) => [name, (a: AttrReader): BridgeEvent => ({
    type: 'conferenceChanged', bridgeConfId: a.str('confId'), state: state as keyof typeof CONF_ELEMENTS,
  })])),
  PORT_USAGE: (a) => ({ type: 'ports', usage: decodePorts(a) }),
  PASSTHROUGH_DATA: (a) => defined({
    type: 'passthrough', bridgeConfId: a.str('confId'), port: a.optStr('port'), data: a.str('data'),
  }),
};

function decodeDialOut(a: AttrReader, state: DialOutState): BridgeEvent {
  return defined({ type: 'dialOut', bridgeConfId: a.str('confId'), dialOutId: a.str('dialOutId'), state, port: a.optStr('port') });
}

// ---------------------------------------------------------------------------------------------
// Entry points: message <-> framed bytes
// ---------------------------------------------------------------------------------------------

/** Throws CodecError for values XML cannot carry (e.g. control characters in passthrough data). */
function frame(element: XmlElement): Buffer {
  try {
    return encodeFrame(writeXml(element));
  } catch (err) {
    throw new CodecError(`cannot encode <${element.name}>: ${(err as Error).message}`, { cause: err });
  }
}

function parse(payload: Buffer): XmlElement {
  try {
    return parseXml(payload.toString('utf8'));
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new CodecError(`not XML of the subset: ${err.message}`, { cause: err });
    throw err;
  }
}

export function encodeClientMessage(m: ClientMessage): Buffer {
  switch (m.kind) {
    case 'login':
      return frame(el('LOGIN', attrs({ reqId: m.reqId, user: m.username, password: m.password })));
    case 'register':
      return frame(el('NOTIFY_REGISTER', attrs({ sessionId: m.sessionId })));
    case 'command': {
      const spec = specOf(m.command.op);
      return frame(el(spec.element, { reqId: m.reqId, ...spec.encode(m.command as never) }));
    }
  }
}

export function decodeClientMessage(payload: Buffer): ClientMessage {
  const root = parse(payload);
  const a = new AttrReader(root);
  if (root.name === 'NOTIFY_REGISTER') return { kind: 'register', sessionId: a.str('sessionId') };
  const reqId = a.reqId();
  if (root.name === 'LOGIN') return { kind: 'login', reqId, username: a.str('user'), password: a.str('password') };
  const op = OP_BY_ELEMENT.get(root.name);
  if (op === undefined) throw new CodecError(`unknown request <${root.name}>`);
  return { kind: 'command', reqId, command: specOf(op).decode(a) };
}

/** The request id of a request that failed to decode, so the bridge can still answer ERROR_RESP. */
export function requestIdOf(payload: Buffer): string | undefined {
  try {
    return new AttrReader(parse(payload)).reqId();
  } catch {
    return undefined;
  }
}

export function encodeServerMessage(m: ServerMessage): Buffer {
  switch (m.kind) {
    case 'loginResult':
      return frame(el('LOGIN_RESP', m.ok
        ? attrs({ reqId: m.reqId, result: OK, sessionId: m.sessionId, model: m.model })
        : attrs({ reqId: m.reqId, result: AUTH_FAILED, detail: m.detail })));
    case 'registerResult':
      return frame(el('NOTIFY_REGISTER_RESP', m.ok ? attrs({ result: OK }) : attrs({ result: INVALID_SESSION, detail: m.detail })));
    case 'reply': {
      const body = specOf(m.op).reply.encode(m.reply as never);
      return frame(el(COMMANDS[m.op].element + RESP_SUFFIX, { reqId: m.reqId, result: OK, ...body.attrs }, body.children));
    }
    case 'failure':
      return frame(el(m.op === undefined ? ERROR_RESP : COMMANDS[m.op].element + RESP_SUFFIX,
        attrs({ reqId: m.reqId, result: resultCodeOf(m.code), detail: m.detail })));
    case 'event':
      return frame(encodeEvent(m.seq, m.event));
    case 'heartbeat':
      return frame(el('HEARTBEAT', attrs({ at: m.at, ...portAttrs(m.ports) })));
  }
}

export function decodeServerMessage(payload: Buffer): ServerMessage {
  const root = parse(payload);
  const a = new AttrReader(root);
  switch (root.name) {
    case 'HEARTBEAT':
      return { kind: 'heartbeat', at: a.int('at'), ports: decodePorts(a) };
    case 'LOGIN_RESP': {
      const reqId = a.reqId();
      const result = a.str('result');
      if (result === OK) return { kind: 'loginResult', reqId, ok: true, sessionId: a.str('sessionId'), model: a.str('model') };
      if (result === AUTH_FAILED) return defined({ kind: 'loginResult', reqId, ok: false, detail: a.optStr('detail') });
      throw new CodecError(`<LOGIN_RESP> result ${result}`);
    }
    case 'NOTIFY_REGISTER_RESP': {
      const result = a.str('result');
      if (result === OK) return { kind: 'registerResult', ok: true };
      if (result === INVALID_SESSION) return defined({ kind: 'registerResult', ok: false, detail: a.optStr('detail') });
      throw new CodecError(`<NOTIFY_REGISTER_RESP> result ${result}`);
    }
  }
  const decodeEvent = EVENT_DECODERS[root.name];
  if (decodeEvent) return { kind: 'event', seq: a.int('seq'), event: decodeEvent(a) };
  const op = root.name === ERROR_RESP ? undefined : OP_BY_RESPONSE.get(root.name);
  if (op === undefined && root.name !== ERROR_RESP) throw new CodecError(`unknown message <${root.name}>`);
  const reqId = a.reqId();
  const result = a.str('result');
  if (result === OK && op !== undefined) {
    return { kind: 'reply', reqId, op, reply: specOf(op).reply.decode(a) } as ServerMessage;
  }
  const code = RESULT_CODES[result as ResultCode];
  if (code === undefined || !Object.hasOwn(RESULT_CODES, result)) throw new CodecError(`<${root.name}> result ${result}`);
  return defined({ kind: 'failure', reqId, op, code, detail: a.optStr('detail') });
}
