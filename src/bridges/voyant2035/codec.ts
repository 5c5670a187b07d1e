/**
 * The whole Voyant 2035 wire format, in both directions, so the driver and the emulator's
 * server share one definition (grammar and examples: docs/voyant2035-protocol.md). A provider
 * holding the vendor's specification changes this module and nothing else.
 *
 * Every line is `tag VERB key=value ...`, `tag OK|NO|+ ...` or `* EVT|HB ...`; values are
 * percent-escaped so a line never holds a stray space or newline. Each command, event and
 * snapshot record is one row of a table below naming its wire keys, the property each fills
 * and how the value is spelt, and one generic encoder and decoder walk those rows.
 */
import type {
  BridgeCommand, BridgeEvent, BridgeEventType, BridgeMuteSource, BridgeOp, BridgeSnapshot, DialOutState,
  EntryTone, LeaveReason, PortUsage, SnapshotConference,
} from '../driver.js';
import { BRIDGE_ERROR_CODES, BridgeError, type BridgeErrorCode } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Values and fields
// ---------------------------------------------------------------------------------------------

/** How one value is spelt on the wire (before percent-escaping). */
interface ValueCodec {
  encode(value: unknown): string;
  /** Throws a BridgeError (BRIDGE_ERR_PROTOCOL) when the text is not a valid value. */
  decode(text: string): unknown;
}

/** One field: wire key, dotted property path, value codec, and whether it may be absent. */
type FieldSpec = readonly [key: string, path: string, codec: ValueCodec, presence?: 'optional'];

const TEXT: ValueCodec = { encode: (v) => String(v), decode: (t) => t };
const COUNT: ValueCodec = {
  encode: (v) => String(v),
  decode: (t) => (/^\d{1,15}$/.test(t) ? Number(t) : syntax(`not a number: ${t}`)),
};
const FLAG: ValueCodec = {
  encode: (v) => (v ? '1' : '0'),
  decode: (t) => (t === '1' ? true : t === '0' ? false : syntax(`not a flag: ${t}`)),
};

/** The values of a string union, given as a record so the compiler checks none is missing. */
function oneOf<T extends string>(values: Record<T, true>): ValueCodec {
  const allowed = new Set<string>(Object.keys(values));
  return { encode: (v) => String(v), decode: (t) => (allowed.has(t) ? t : syntax(`unexpected value: ${t}`)) };
}

const ENTRY_TONE = oneOf<EntryTone>({ none: true, beep: true, announce: true });
const MUTE_SOURCE = oneOf<BridgeMuteSource>({ keypad: true, command: true, bridge: true });
const LEAVE_REASON = oneOf<LeaveReason>({ hangup: true, expelled: true, dropped: true, 'conference-ended': true });
const DIAL_STATE = oneOf<DialOutState>({
  ringing: true, answered: true, busy: true, 'no-answer': true, rejected: true, invalid: true, failed: true, cancelled: true,
});
const TONE = oneOf<'beep' | 'announce'>({ beep: true, announce: true });
const CONF_STATE = oneOf<'started' | 'locked' | 'unlocked' | 'ended'>({ started: true, locked: true, unlocked: true, ended: true });

/** A conference's standing mute-all as one value: `muted,applyToNewCallers[,exceptPort]`. */
const MUTE_ALL: ValueCodec = {
  encode: (v) => {
    const m = v as { muted: boolean; applyToNewCallers: boolean; exceptPort?: string };
    return [FLAG.encode(m.muted), FLAG.encode(m.applyToNewCallers), ...(m.exceptPort ? [m.exceptPort] : [])].join(',');
  },
  decode: (t) => {
    const [muted, applyToNewCallers, exceptPort, extra] = t.split(',');
    if (muted === undefined || applyToNewCallers === undefined || extra !== undefined) syntax(`bad mute-all: ${t}`);
    return { muted: FLAG.decode(muted ?? ''), applyToNewCallers: FLAG.decode(applyToNewCallers ?? ''), ...(exceptPort ? { exceptPort } : {}) };
  },
};

const CONF: FieldSpec = ['conf', 'bridgeConfId', TEXT];
const PORT: FieldSpec = ['port', 'port', TEXT];
const LEG: FieldSpec = ['leg', 'legId', TEXT];
const MUTED: FieldSpec = ['muted', 'muted', FLAG];
const SUB: FieldSpec = ['sub', 'subConfId', COUNT];
const DIAL_ID: FieldSpec = ['id', 'dialOutId', TEXT];
const CALLER_ID: FieldSpec = ['cid', 'callerId', TEXT, 'optional'];
const DIALLED: FieldSpec = ['dnis', 'dialledNumber', TEXT, 'optional'];
const NAME: FieldSpec = ['name', 'name', TEXT, 'optional'];
const JOINED_BY_DIAL: FieldSpec = ['dial', 'dialOutId', TEXT, 'optional'];
const usage = (prefix: string): FieldSpec[] => [
  ['total', `${prefix}.total`, COUNT], ['used', `${prefix}.inUse`, COUNT], ['reserved', `${prefix}.reserved`, COUNT],
];

// ---------------------------------------------------------------------------------------------
// Tables: commands, events, snapshot records
// ---------------------------------------------------------------------------------------------

/** The 2035 carries no passthrough data (see capabilities in driver.ts). */
type WireOp = Exclude<BridgeOp, 'passthrough'>;
type WireEventType = Exclude<BridgeEventType, 'passthrough'>;

const COMMANDS: Record<WireOp, { verb: string; fields: readonly FieldSpec[] }> = {
  createConference: {
    verb: 'CONF.CREATE',
    fields: [
      ['key', 'options.confKey', TEXT], ['tone', 'options.entryTone', ENTRY_TONE],
      ['silent', 'options.silentJoin', FLAG], ['muted', 'options.muteOnEntry', FLAG],
    ],
  },
  endConference: { verb: 'CONF.END', fields: [CONF] },
  lockConference: { verb: 'CONF.LOCK', fields: [CONF, ['locked', 'locked', FLAG]] },
  mute: { verb: 'MUTE', fields: [CONF, PORT, MUTED] },
  muteAll: { verb: 'MUTE.ALL', fields: [CONF, MUTED, ['except', 'exceptPort', TEXT, 'optional'], ['new', 'applyToNewCallers', FLAG]] },
  expel: { verb: 'EXPEL', fields: [CONF, PORT] },
  dialOut: {
    verb: 'DIAL',
    fields: [CONF, DIAL_ID, ['number', 'number', TEXT], NAME, ['confirm', 'confirm', FLAG], ['silent', 'silent', FLAG]],
  },
  cancelDialOut: { verb: 'DIAL.CANCEL', fields: [CONF, DIAL_ID] },
  moveToSubConference: { verb: 'SUBCONF', fields: [CONF, PORT, SUB] },
  playTone: { verb: 'TONE', fields: [CONF, ['port', 'port', TEXT, 'optional'], ['tone', 'tone', TONE]] },
  snapshot: { verb: 'SNAPSHOT', fields: [] },
};
const OP_BY_VERB = new Map(Object.entries(COMMANDS).map(([op, row]) => [row.verb, op as WireOp]));

const EVENTS: Record<WireEventType, { name: string; fields: readonly FieldSpec[] }> = {
  callerJoined: { name: 'JOIN', fields: [CONF, PORT, LEG, CALLER_ID, DIALLED, NAME, MUTED, SUB, JOINED_BY_DIAL] },
  callerLeft: { name: 'LEAVE', fields: [CONF, PORT, LEG, ['reason', 'reason', LEAVE_REASON]] },
  muteChanged: { name: 'MUTE', fields: [CONF, PORT, LEG, MUTED, ['by', 'by', MUTE_SOURCE]] },
  talking: { name: 'TALK', fields: [CONF, PORT, LEG, ['on', 'talking', FLAG]] },
  dtmf: { name: 'DTMF', fields: [CONF, PORT, LEG, ['digits', 'digits', TEXT]] },
  subConferenceChanged: { name: 'SUB', fields: [CONF, PORT, LEG, SUB] },
  dialOut: { name: 'DIAL', fields: [CONF, DIAL_ID, ['state', 'state', DIAL_STATE], ['port', 'port', TEXT, 'optional']] },
  conferenceChanged: { name: 'CONF', fields: [CONF, ['state', 'state', CONF_STATE]] },
  ports: { name: 'PORTS', fields: usage('usage') },
};
const TYPE_BY_EVENT_NAME = new Map(Object.entries(EVENTS).map(([type, row]) => [row.name, type as WireEventType]));

const SNAPSHOT_CONF: readonly FieldSpec[] = [
  CONF, ...COMMANDS.createConference.fields, ['locked', 'locked', FLAG], ['mall', 'muteAll', MUTE_ALL, 'optional'],
];
/** Caller and dial-out records name their conference with `conf` ahead of their own fields. */
const SNAPSHOT_CALLER: readonly FieldSpec[] = [
  PORT, LEG, CALLER_ID, DIALLED, NAME, MUTED, ['by', 'mutedBy', MUTE_SOURCE], ['talking', 'talking', FLAG], SUB, JOINED_BY_DIAL,
];
const SNAPSHOT_DIAL: readonly FieldSpec[] = [DIAL_ID, ['number', 'number', TEXT], ['state', 'state', DIAL_STATE], ['port', 'port', TEXT, 'optional']];
const SNAPSHOT_END: readonly FieldSpec[] = [['seq', 'eventSeq', COUNT], ['at', 'takenAt', COUNT], ...usage('ports')];
const HEARTBEAT: readonly FieldSpec[] = [['at', 'at', COUNT], ...usage('ports')];

/** Refusal reasons: every BridgeError code has one word, so the table is total both ways. */
const REASONS: Record<BridgeErrorCode, string> = {
  BRIDGE_ERR_TIMEOUT: 'TIMEOUT', BRIDGE_ERR_LINK_DOWN: 'LINKDOWN', BRIDGE_ERR_CLOSED: 'CLOSED',
  BRIDGE_ERR_UNSUPPORTED: 'NOTSUPP', BRIDGE_ERR_CONF_NOT_FOUND: 'NOCONF', BRIDGE_ERR_PORT_NOT_FOUND: 'NOPORT',
  BRIDGE_ERR_DIALOUT_NOT_FOUND: 'NODIAL', BRIDGE_ERR_KEY_IN_USE: 'KEYBUSY', BRIDGE_ERR_NO_PORTS: 'FULL',
  BRIDGE_ERR_LOCKED: 'LOCKED', BRIDGE_ERR_INVALID: 'BADARG', BRIDGE_ERR_REFUSED: 'REFUSED', BRIDGE_ERR_PROTOCOL: 'SYNTAX',
};
const CODE_BY_REASON = new Map(Object.entries(REASONS).map(([code, reason]) => [reason, code as BridgeErrorCode]));

// ---------------------------------------------------------------------------------------------
// Lines the bridge sends (decoded by the driver, encoded by the emulator)
// ---------------------------------------------------------------------------------------------

export type Fields = ReadonlyMap<string, string>;
/** A reply as it came off the wire: the OK line's fields and any `+` records before it. */
export interface Voyant2035Reply {
  fields: Fields;
  records: { record: string; fields: Fields }[];
}

export type BridgeLine =
  | { kind: 'ok'; tag: string; fields: Fields }
  | { kind: 'no'; tag: string; error: BridgeError }
  | { kind: 'data'; tag: string; record: string; fields: Fields }
  | { kind: 'event'; seq: number; event: BridgeEvent }
  | { kind: 'heartbeat'; at: number; ports: PortUsage };

/** Decodes one line from the bridge; throws a BridgeError (BRIDGE_ERR_PROTOCOL) when it is not one. */
export function decodeBridgeLine(line: string): BridgeLine {
  const [head, word, ...rest] = splitLine(line);
  if (head === '*') {
    if (word === 'HB') {
      const hb = decodeFields(parseFields(rest), HEARTBEAT) as { at: number; ports: PortUsage };
      return { kind: 'heartbeat', at: hb.at, ports: hb.ports };
    }
    if (word !== 'EVT') syntax(`unknown untagged line: ${word}`);
    const [seqText, name, ...fields] = rest;
    const seq = COUNT.decode(seqText ?? '') as number;
    const type = TYPE_BY_EVENT_NAME.get(name ?? '') ?? syntax(`unknown event: ${name}`);
    return { kind: 'event', seq, event: { type, ...decodeFields(parseFields(fields), EVENTS[type].fields) } as BridgeEvent };
  }
  const tag = checkTag(head);
  switch (word) {
    case 'OK':
      return { kind: 'ok', tag, fields: parseFields(rest) };
    case '+': {
      const [record, ...fields] = rest;
      return { kind: 'data', tag, record: record ?? syntax('record type missing'), fields: parseFields(fields) };
    }
    case 'NO': {
      const [reason, ...fields] = rest;
      const code = CODE_BY_REASON.get(reason ?? '');
      const text = parseFields(fields).get('text');
      if (!code) return { kind: 'no', tag, error: new BridgeError('BRIDGE_ERR_REFUSED', `reason ${reason}${text ? `: ${text}` : ''}`) };
      return { kind: 'no', tag, error: new BridgeError(code, text) };
    }
    default:
      return syntax(`unknown reply: ${word}`);
  }
}

/** Shapes the reply to `command` from its wire form; throws a BridgeError when it does not fit. */
export function decodeReplyBody(command: BridgeCommand, reply: Voyant2035Reply): unknown {
  switch (command.op) {
    case 'createConference':
      return decodeFields(reply.fields, [CONF]);
    case 'snapshot':
      return decodeSnapshot(reply);
    default:
      return undefined;
  }
}

function decodeSnapshot(reply: Voyant2035Reply): BridgeSnapshot {
  const conferences = new Map<string, SnapshotConference>();
  const confOf = (fields: Fields): SnapshotConference =>
    conferences.get(fields.get('conf') ?? '') ?? syntax(`record for unknown conference ${fields.get('conf')}`);
  for (const { record, fields } of reply.records) {
    if (record === 'CONF') {
      const conf = decodeFields(fields, SNAPSHOT_CONF) as unknown as SnapshotConference;
      conferences.set(conf.bridgeConfId, { ...conf, callers: [], dialOuts: [] });
    } else if (record === 'CALLER') {
      confOf(fields).callers.push(decodeFields(fields, SNAPSHOT_CALLER) as unknown as SnapshotConference['callers'][number]);
    } else if (record === 'DIAL') {
      confOf(fields).dialOuts.push(decodeFields(fields, SNAPSHOT_DIAL) as unknown as SnapshotConference['dialOuts'][number]);
    } else {
      syntax(`unknown snapshot record: ${record}`);
    }
  }
  const end = decodeFields(reply.fields, SNAPSHOT_END) as Omit<BridgeSnapshot, 'conferences'>;
  return { ...end, conferences: [...conferences.values()] };
}

/** Lines (each ending in LF) answering `command` with `reply`. */
export function encodeReply(tag: string, command: BridgeCommand, reply: unknown): string {
  switch (command.op) {
    case 'createConference':
      return `${tag} OK${encodeFields(reply as object, [CONF])}\n`;
    case 'snapshot': {
      const snapshot = reply as BridgeSnapshot;
      let out = '';
      for (const conf of snapshot.conferences) {
        const confField = encodeFields(conf, [CONF]);
        out += `${tag} + CONF${encodeFields(conf, SNAPSHOT_CONF)}\n`;
        for (const caller of conf.callers) out += `${tag} + CALLER${confField}${encodeFields(caller, SNAPSHOT_CALLER)}\n`;
        for (const dial of conf.dialOuts) out += `${tag} + DIAL${confField}${encodeFields(dial, SNAPSHOT_DIAL)}\n`;
      }
      return `${out}${tag} OK${encodeFields(snapshot, SNAPSHOT_END)}\n`;
    }
    default:
      return `${tag} OK\n`;
  }
}

/** A refusal line; errors that are not BridgeErrors are reported as REFUSED. */
export function encodeFailure(tag: string, error: unknown): string {
  const code = error instanceof BridgeError ? error.code : 'BRIDGE_ERR_REFUSED';
  const prefix = `${BRIDGE_ERROR_CODES[code]}: `;
  const message = error instanceof Error ? error.message : String(error);
  // The catalogue text is the reason word's meaning; only the detail travels.
  const detail = message.startsWith(prefix) ? message.slice(prefix.length) : message === BRIDGE_ERROR_CODES[code] ? '' : message;
  return `${tag} NO ${REASONS[code]}${detail ? ` text=${escapeValue(detail)}` : ''}\n`;
}

/** An event line, or undefined for an event this bridge generation cannot carry (passthrough). */
export function encodeEvent(seq: number, event: BridgeEvent): string | undefined {
  if (event.type === 'passthrough') return undefined;
  const row = EVENTS[event.type];
  return `* EVT ${seq} ${row.name}${encodeFields(event, row.fields)}\n`;
}

export function encodeHeartbeat(at: number, ports: PortUsage): string {
  return `* HB${encodeFields({ at, ports }, HEARTBEAT)}\n`;
}

export function encodeLoginOk(tag: string, model: string): string {
  return `${tag} OK model=${escapeValue(model)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Lines the adaptor sends (encoded by the driver, decoded by the emulator)
// ---------------------------------------------------------------------------------------------

export type ClientLine =
  | { kind: 'login'; tag: string; username: string; password: string }
  | { kind: 'command'; tag: string; command: BridgeCommand }
  /** Tagged but not understood: the bridge answers `tag NO SYNTAX`. */
  | { kind: 'bad'; tag: string; error: BridgeError };

const LOGIN: readonly FieldSpec[] = [['user', 'username', TEXT], ['pass', 'password', TEXT]];

export function encodeLogin(tag: string, username: string, password: string): string {
  return `${tag} LOGIN${encodeFields({ username, password }, LOGIN)}\n`;
}

/** A request line; throws BRIDGE_ERR_UNSUPPORTED for a command the 2035 has no verb for. */
export function encodeRequest(tag: string, command: BridgeCommand): string {
  if (command.op === 'passthrough') throw new BridgeError('BRIDGE_ERR_UNSUPPORTED', 'the 2035 has no passthrough');
  const row = COMMANDS[command.op];
  return `${checkTag(tag)} ${row.verb}${encodeFields(command, row.fields)}\n`;
}

/** Decodes one request line; throws only when the line has no usable tag to answer under. */
export function decodeClientLine(line: string): ClientLine {
  const [head, verb, ...rest] = splitLine(line);
  const tag = checkTag(head);
  try {
    if (verb === 'LOGIN') return { kind: 'login', tag, ...(decodeFields(parseFields(rest), LOGIN) as { username: string; password: string }) };
    const op = OP_BY_VERB.get(verb ?? '') ?? syntax(`unknown verb: ${verb}`);
    const command = { op, ...decodeFields(parseFields(rest), COMMANDS[op].fields) } as BridgeCommand;
    return { kind: 'command', tag, command };
  } catch (err) {
    return { kind: 'bad', tag, error: err instanceof BridgeError ? err : new BridgeError('BRIDGE_ERR_PROTOCOL', String(err)) };
  }
}

// ---------------------------------------------------------------------------------------------
// Lexical layer
// ---------------------------------------------------------------------------------------------

const TAG = /^[A-Za-z0-9]{1,16}$/;
const FIELD = /^([a-z]+)=(.*)$/;
/** Characters that travel as themselves; everything else is percent-escaped (UTF-8). */
const ESCAPED = /[^A-Za-z0-9._~,/:@+-]/gu;

function escapeValue(value: string): string {
  return value.replace(ESCAPED, (c) => encodeURIComponent(c).replace(/[!'()*]/g, (x) => `%${x.charCodeAt(0).toString(16).toUpperCase()}`));
}

function unescapeValue(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return syntax(`bad escape in ${text}`);
  }
}

function splitLine(line: string): string[] {
  if (line.length === 0) syntax('empty line');
  const tokens = line.split(' ');
  if (tokens.some((t) => t.length === 0)) syntax('empty token');
  return tokens;
}

function checkTag(tag: string | undefined): string {
  return tag !== undefined && TAG.test(tag) ? tag : syntax(`bad tag: ${tag}`);
}

function parseFields(tokens: readonly string[]): Fields {
  const fields = new Map<string, string>();
  for (const token of tokens) {
    const match = FIELD.exec(token) ?? syntax(`not a field: ${token}`);
    const [, key = '', value = ''] = match;
    if (fields.has(key)) syntax(`field repeated: ${key}`);
    fields.set(key, unescapeValue(value));
  }
  return fields;
}

function encodeFields(source: object, specs: readonly FieldSpec[]): string {
  let out = '';
  for (const [key, path, codec, presence] of specs) {
    const value = path.split('.').reduce<unknown>((obj, part) => (obj as Record<string, unknown> | undefined)?.[part], source);
    if (value === undefined) {
      if (presence === 'optional') continue;
      throw new BridgeError('BRIDGE_ERR_INVALID', `${key} is required`);
    }
    out += ` ${key}=${escapeValue(codec.encode(value))}`;
  }
  return out;
}

/** Unknown keys are ignored, so a newer bridge may add fields without breaking this decoder. */
function decodeFields(fields: Fields, specs: readonly FieldSpec[]): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  for (const [key, path, codec, presence] of specs) {
    const text = fields.get(key);
    if (text === undefined) {
      if (presence === 'optional') continue;
      syntax(`field missing: ${key}`);
    }
    const parts = path.split('.');
    const last = parts.pop() as string;
    let node = target;
    for (const part of parts) node = (node[part] ??= {}) as Record<string, unknown>;
    node[last] = codec.decode(text as string);
  }
  return target;
}

function syntax(reason: string): never {
  throw new BridgeError('BRIDGE_ERR_PROTOCOL', reason);
}
