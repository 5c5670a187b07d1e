/**
 * Property: any message the catalogue allows, with random optional attributes and random legal
 * values (markup characters, quotes, newlines, tabs, non-ASCII), survives encode -> decode
 * unchanged, under our names and under a dialect. Seeded, so a failure replays.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES, createCodec, type MessageType, type TspCodec, type TspMessage } from '../../src/protocol/index.js';
import type { ValueSpec } from '../../src/protocol/catalogue.js';
import { prng } from './fuzz-corpus.js';
import { ALL_TYPES } from './fixtures.js';

const SEED = 0x2313;
const PER_TYPE = 40;
const TEXT_CHARS = ['a', 'Z', '0', ' ', '<', '>', '&', '"', "'", '\n', '\t', '\r', 'é', '漢', '😀', ';', '#', ']]>'];

let plain: TspCodec;
let renamed: TspCodec;
before(async () => {
  // Every document written is also validated against the DTD by the encoder (encode.ts).
  plain = await createCodec({ checkEncoded: true });
  renamed = await createCodec({
    checkEncoded: true,
    dialect: { elements: { W2A_LockConference: 'W2A_Lock', A2W_RspLockConference: 'A2W_RspLock' }, attributes: { Lock: 'Locked', Name: 'DisplayName' } },
  });
});
after(() => {
  plain.close();
  renamed.close();
});

function generator(random: () => number) {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const digits = (lo: number, hi: number) => Array.from({ length: int(lo, hi) }, () => String(int(0, 9))).join('');
  const text = (lo: number, hi: number) => {
    let out = '';
    while (out.length < lo || (out.length < hi && random() < 0.9)) out += pick(TEXT_CHARS);
    return out.slice(0, hi).replace(/[\uD800-\uDBFF]$/, 'x');
  };
  return (spec: ValueSpec): unknown => {
    switch (spec.type) {
      case 'id': return text(spec.allowEmpty ? 0 : 1, 20);
      case 'flag':
      case 'bool': return random() < 0.5;
      case 'code':
      case 'enum': return pick<string | number>(spec.values);
      case 'int': return int(0, spec.max);
      case 'text': return text(0, Math.min(spec.maxLength, 40));
      case 'confKey': return digits(4, 16);
      case 'phone': return `${digits(1, 3)},${digits(0, 4)},${digits(1, 12)}`;
      case 'nbrSequence': return `${Array.from({ length: int(0, 4) }, () => (random() < 0.5 ? `P${digits(1, 2)}` : `D${digits(1, 8)}#*`)).join('')}P0`;
      case 'url': return `https://h${digits(1, 3)}.webex.example/${text(0, 10).replace(/[^a-zA-Z0-9]/g, '')}?q=${digits(0, 5)}`;
    }
  };
}

function randomMessage(type: MessageType, value: (spec: ValueSpec) => unknown, random: () => number): TspMessage {
  const message: Record<string, unknown> = { type };
  for (const [name, spec] of Object.entries(MESSAGES[type].attributes as Record<string, ValueSpec & { required: boolean }>)) {
    if (spec.required || random() < 0.5) message[name] = value(spec);
  }
  return message as unknown as TspMessage;
}

test(`${PER_TYPE} random messages of every type round-trip, plain and under a dialect`, () => {
  const random = prng(SEED);
  const value = generator(random);
  for (const type of ALL_TYPES) {
    const direction = MESSAGES[type].direction;
    for (let i = 0; i < PER_TYPE; i++) {
      const batch = Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomMessage(type, value, random));
      for (const codec of [plain, renamed]) {
        const xml = codec.encode('p-1', batch);
        assert.deepEqual(codec.decode(xml, { direction }), { ok: true, transId: 'p-1', messages: batch }, xml);
        assert.deepEqual(codec.decode(Buffer.from(xml), { direction }), { ok: true, transId: 'p-1', messages: batch });
      }
    }
  }
});
