/**
 * The fuzz targets: each decodes one input the way the daemon or the emulator would, checks the
 * result against the decoder's documented contract, and names the outcome class (the fuzzer's
 * cheap feedback: an input reaching a class never seen before joins the corpus).
 *
 * A contract violation throws a ContractViolation; any other exception escaping a target is an
 * exception the decoder let through where its contract names another (or none): both are findings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeError } from '../../src/bridges/errors.js';
import type { BridgeCommand } from '../../src/bridges/driver.js';
import { LineFramer, MAX_LINE_BYTES } from '../../src/bridges/voyant2035/framer.js';
import * as v2035 from '../../src/bridges/voyant2035/codec.js';
import { Framer, MAX_FRAME_BYTES, encodeFrame } from '../../src/bridges/voyant2313/framer.js';
import * as v2313 from '../../src/bridges/voyant2313/codec.js';
import {
  createCodec, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_COMMANDS, MESSAGES, type TspCodec, type TspMessage,
} from '../../src/protocol/index.js';
import { SAMPLES, ALL_TYPES } from '../protocol/fixtures.js';
import { SAMPLE_COMMANDS, SAMPLE_EVENTS, SAMPLE_SNAPSHOT } from '../bridges/voyant2313-samples.js';
import type { Grammar } from './mutate.js';

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

export interface FuzzTarget {
  readonly name: TargetName;
  readonly grammar: Grammar;
  /** Valid inputs to start from: the spec's examples and the codecs' own samples. */
  seeds(): Buffer[];
  /** Decodes `input`; returns the outcome classes it reached (one per line or frame); throws on a finding. */
  run(input: Buffer): readonly string[];
  close(): void;
}

export const TARGET_NAMES = ['webex-w2a', 'webex-a2w', 'v2035-bridge', 'v2035-client', 'v2313-bridge', 'v2313-client'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

const EXAMPLES_DIR = new URL('../protocol/examples/', import.meta.url);

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new ContractViolation(what);
}

/** Reasons carry values; the class keeps only their shape so that it stays a small set. */
function category(reason: string): string {
  // Cut first: a reason may quote a 64 KiB value, and the pattern below is quadratic on one token.
  return reason.slice(0, 120).replace(/"[^"]*"|'[^']*'|<[^>]*>|\S*\d\S*/g, '#').split(/\s+/).slice(0, 5).join(' ');
}

/** Every number in a decoded value is finite: a NaN or Infinity is a decoder accepting junk. */
function checkNumbers(value: unknown, path: string): void {
  if (typeof value === 'number') check(Number.isFinite(value), `${path} is ${value}`);
  else if (value instanceof Map) for (const [k, v] of value) checkNumbers(v, `${path}.${String(k)}`);
  else if (Array.isArray(value)) value.forEach((v, i) => checkNumbers(v, `${path}[${i}]`));
  else if (value && typeof value === 'object' && !(value instanceof Error)) {
    for (const [k, v] of Object.entries(value)) checkNumbers(v, `${path}.${k}`);
  }
}

/** Only `allowed` may be thrown; anything else propagates as a finding. */
function expectingOnly<T>(allowed: (err: unknown) => boolean, decode: () => T): { value: T } | { error: Error } {
  try {
    return { value: decode() };
  } catch (err) {
    if (!allowed(err)) throw err;
    return { error: err as Error };
  }
}

// --- WebEx --------------------------------------------------------------------------------------

const CONTENT_TYPES = [undefined, undefined, undefined, undefined, undefined,
  'text/xml; charset=utf-8', 'application/xml; charset=iso-8859-1', 'text/xml; charset=utf-16'] as const;

async function webexTarget(name: TargetName, direction: 'W2A' | 'A2W'): Promise<FuzzTarget> {
  const codec: TspCodec = await createCodec({ isAllowedWbxHost: (url) => url.startsWith('https://tsp1.webex.example/') });
  const types = ALL_TYPES.filter((t) => MESSAGES[t].direction === direction);
  return {
    name,
    grammar: 'markup',
    seeds: () => [
      ...types.map((t) => Buffer.from(codec.encode(`fz-${t}`, [SAMPLES[t] as TspMessage]))),
      Buffer.from(codec.encode('fz-all', types.map((t) => SAMPLES[t] as TspMessage))),
      ...readdirSync(EXAMPLES_DIR).map((f) => readFileSync(new URL(f, EXAMPLES_DIR))),
    ],
    run(input) {
      const contentType = CONTENT_TYPES[input.length % CONTENT_TYPES.length];
      const result = codec.decode(input, contentType ? { direction, contentType } : { direction });
      const confirmation = codec.decodeConfirmation(input);
      if (confirmation.ok) check(Number.isInteger(confirmation.result) && confirmation.result >= 0 && confirmation.result <= 8, `Confirmation ${confirmation.result}`);
      else check(typeof confirmation.reason === 'string' && !confirmation.reason.startsWith('internal error'), `decodeConfirmation: ${confirmation.reason}`);
      if (input.length > DEFAULT_MAX_BODY_BYTES) check(!result.ok && result.result === 6, `a ${input.length}-byte body was not refused with 6`);
      if (!result.ok) {
        check(Number.isInteger(result.result) && result.result >= 1 && result.result <= 7, `Confirmation ${result.result}: ${result.reason}`);
        check(typeof result.reason === 'string' && /\S/.test(result.reason), 'empty reason');
        return [`C${result.result} ${category(result.reason)}`];
      }
      check(typeof result.transId === 'string' && result.transId.length > 0, 'accepted without a TransID');
      check(result.messages.length >= 1 && result.messages.length <= DEFAULT_MAX_COMMANDS, `${result.messages.length} messages accepted`);
      for (const m of result.messages) {
        check(MESSAGES[m.type]?.direction === direction, `accepted a ${m.type} as ${direction}`);
        checkNumbers(m, m.type);
      }
      return result.messages.map((m) => `ok ${m.type}`);
    },
    close: () => codec.close(),
  };
}

// --- Voyant 2035 ----------------------------------------------------------------------------------

/** Feeds the stream in two pieces split mid-way, so the framer's joining is fuzzed too. */
function lines(input: Buffer): { lines: string[]; overflows: number } {
  const out: string[] = [];
  let overflows = 0;
  const framer = new LineFramer({
    line: (text) => out.push(text),
    overflow: (sample) => {
      check(Buffer.byteLength(sample) <= 4 * 200, 'overflow sample not bounded');
      overflows++;
    },
  });
  const cut = input.length >> 1;
  framer.push(input.subarray(0, cut));
  framer.push(input.subarray(cut));
  for (const line of out) check(Buffer.byteLength(line) <= MAX_LINE_BYTES * 3, `a ${line.length}-char line passed the cap`);
  return { lines: out, overflows };
}

const isProtocolError = (err: unknown) => err instanceof BridgeError && err.code === 'BRIDGE_ERR_PROTOCOL';
const isBridgeError = (err: unknown) => err instanceof BridgeError;

function v2035BridgeTarget(): FuzzTarget {
  const create = SAMPLE_COMMANDS[0] as BridgeCommand;
  const snapshot: BridgeCommand = { op: 'snapshot' };
  return {
    name: 'v2035-bridge',
    grammar: 'lines',
    seeds: () => [
      Buffer.from(v2035.encodeReply('T1', snapshot, SAMPLE_SNAPSHOT)),
      Buffer.from(v2035.encodeReply('T2', create, { bridgeConfId: 'C17' })),
      Buffer.from(SAMPLE_EVENTS.map((e, i) => v2035.encodeEvent(i + 1, e) ?? '').join('')),
      Buffer.from(v2035.encodeHeartbeat(1_795_000_000_000, SAMPLE_SNAPSHOT.ports) + v2035.encodeLoginOk('L1', 'Voyant 2035')),
      Buffer.from(v2035.encodeFailure('T3', new BridgeError('BRIDGE_ERR_NO_PORTS', 'all 1344 in use')) + v2035.encodeFailure('T4', new Error('x'))),
    ],
    run(input) {
      const framed = lines(input);
      const classes = new Set<string>();
      const records = new Map<string, v2035.Voyant2035Reply['records']>();
      for (const line of framed.lines) {
        const decoded = expectingOnly(isProtocolError, () => v2035.decodeBridgeLine(line));
        if ('error' in decoded) {
          classes.add(`err ${category(decoded.error.message)}`);
          continue;
        }
        const value = decoded.value;
        checkNumbers(value, value.kind);
        classes.add(value.kind === 'event' ? `event ${value.event.type}` : value.kind);
        if (value.kind === 'event') check(Number.isSafeInteger(value.seq) && value.seq >= 0, `event seq ${value.seq}`);
        if (value.kind === 'no') check(value.error instanceof BridgeError, 'NO without a BridgeError');
        if (value.kind === 'data') records.set(value.tag, [...(records.get(value.tag) ?? []), { record: value.record, fields: value.fields }]);
        if (value.kind === 'ok') {
          const reply = { fields: value.fields, records: records.get(value.tag) ?? [] };
          records.delete(value.tag);
          for (const command of [snapshot, create]) {
            const shaped = expectingOnly(isBridgeError, () => v2035.decodeReplyBody(command, reply));
            if ('value' in shaped) checkNumbers(shaped.value, command.op);
            classes.add(`${command.op} ${'error' in shaped ? category(shaped.error.message) : 'ok'}`);
          }
        }
      }
      if (framed.overflows) classes.add('overflow');
      return [...classes];
    },
    close: () => undefined,
  };
}

function v2035ClientTarget(): FuzzTarget {
  return {
    name: 'v2035-client',
    grammar: 'lines',
    seeds: () => [
      Buffer.from(v2035.encodeLogin('L1', 'ops', 'sécret pass')),
      Buffer.from(SAMPLE_COMMANDS.filter((c) => c.op !== 'passthrough').map((c, i) => v2035.encodeRequest(`T${i}`, c)).join('')),
    ],
    run(input) {
      const classes = new Set<string>();
      for (const line of lines(input).lines) {
        const decoded = expectingOnly(isBridgeError, () => v2035.decodeClientLine(line));
        if ('error' in decoded) {
          classes.add(`untagged ${category(decoded.error.message)}`);
          continue;
        }
        checkNumbers(decoded.value, 'line');
        const v = decoded.value;
        classes.add(v.kind === 'command' ? `command ${v.command.op}` : v.kind === 'bad' ? `bad ${category(v.error.message)}` : v.kind);
      }
      return [...classes];
    },
    close: () => undefined,
  };
}

// --- Voyant 2313 ----------------------------------------------------------------------------------

/** Payloads of the frames `input` yields framed properly and as a raw stream, both split mid-way. */
function frames(input: Buffer): { payloads: Buffer[]; malformed: number } {
  const payloads: Buffer[] = [];
  let malformed = 0;
  for (const stream of [encodeFrame(input.length ? input : Buffer.from(' ')), input]) {
    const framer = new Framer({ maxFrameBytes: 64 * 1024 });
    const cut = stream.length >> 1;
    for (const out of [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))]) {
      if (out.type === 'malformed') malformed++;
      else {
        check(out.payload.length > 0 && out.payload.length <= MAX_FRAME_BYTES, `a frame of ${out.payload.length} bytes`);
        payloads.push(out.payload);
      }
    }
  }
  return { payloads, malformed };
}

const isCodecError = (err: unknown) => err instanceof v2313.CodecError;

function v2313Target(name: TargetName, seeds: () => Buffer[], decode: (payload: Buffer) => { kind: string }): FuzzTarget {
  return {
    name,
    grammar: 'markup',
    seeds,
    run(input) {
      const { payloads, malformed } = frames(input);
      const classes = new Set<string>(malformed ? ['malformed'] : []);
      for (const payload of payloads) {
        const decoded = expectingOnly(isCodecError, () => decode(payload));
        if ('error' in decoded) classes.add(`err ${category(decoded.error.message)}`);
        else {
          checkNumbers(decoded.value, decoded.value.kind);
          classes.add(decoded.value.kind);
        }
      }
      return [...classes];
    },
    close: () => undefined,
  };
}

/** Frames carry the payload without the header: the target frames it itself. */
const payloadOf = (frame: Buffer) => frame.subarray(8);

function v2313BridgeTarget(): FuzzTarget {
  return v2313Target('v2313-bridge', () => [
    ...SAMPLE_EVENTS.map((event, i) => payloadOf(v2313.encodeServerMessage({ kind: 'event', seq: i, event }))),
    payloadOf(v2313.encodeServerMessage({ kind: 'reply', reqId: 'r1', op: 'snapshot', reply: SAMPLE_SNAPSHOT })),
    payloadOf(v2313.encodeServerMessage({ kind: 'reply', reqId: 'r2', op: 'createConference', reply: { bridgeConfId: 'C17' } })),
    payloadOf(v2313.encodeServerMessage({ kind: 'failure', reqId: 'r3', op: 'mute', code: 'BRIDGE_ERR_PORT_NOT_FOUND', detail: 'no such port' })),
    payloadOf(v2313.encodeServerMessage({ kind: 'loginResult', reqId: 'r4', ok: true, sessionId: 's1', model: '2313' })),
    payloadOf(v2313.encodeServerMessage({ kind: 'registerResult', ok: false, detail: 'stale' })),
    payloadOf(v2313.encodeServerMessage({ kind: 'heartbeat', at: 1_795_000_000_000, ports: SAMPLE_SNAPSHOT.ports })),
  ], v2313.decodeServerMessage);
}

function v2313ClientTarget(): FuzzTarget {
  return v2313Target('v2313-client', () => [
    ...SAMPLE_COMMANDS.map((command, i) => payloadOf(v2313.encodeClientMessage({ kind: 'command', reqId: `r${i}`, command }))),
    payloadOf(v2313.encodeClientMessage({ kind: 'login', reqId: 'r0', username: 'ops', password: 'p&"<' })),
    payloadOf(v2313.encodeClientMessage({ kind: 'register', sessionId: 's1' })),
  ], (payload) => {
    const id = v2313.requestIdOf(payload); // never throws: the bridge answers under it
    check(id === undefined || typeof id === 'string', 'requestIdOf');
    return v2313.decodeClientMessage(payload);
  });
}

export async function createTarget(name: TargetName): Promise<FuzzTarget> {
  switch (name) {
    case 'webex-w2a': return webexTarget(name, 'W2A');
    case 'webex-a2w': return webexTarget(name, 'A2W');
    case 'v2035-bridge': return v2035BridgeTarget();
    case 'v2035-client': return v2035ClientTarget();
    case 'v2313-bridge': return v2313BridgeTarget();
    case 'v2313-client': return v2313ClientTarget();
  }
}

/** Where a target's kept inputs and its findings live. */
export const FUZZ_DIR = new URL('./', import.meta.url).pathname;
export const corpusDir = (name: TargetName) => join(FUZZ_DIR, 'corpus', name);
export const findingsDir = (name: TargetName) => join(FUZZ_DIR, 'findings', name);
