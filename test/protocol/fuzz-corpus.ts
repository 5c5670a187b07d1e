/**
 * Mutated TSP documents for the fuzz test and the benchmark: byte flips, truncations,
 * attribute and element swaps, duplications and splices of markup, from a seeded PRNG.
 */
import type { TspCodec, TspMessage } from '../../src/protocol/index.js';
import { SAMPLES, W2A_TYPES } from './fixtures.js';

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SNIPPETS = ['<', '>', '/>', '"', '&', '&amp;', '&#0;', '&#xD800;', ']]>', '<!--', '<![CDATA[', '<?x?>', '\u0000', '\u00e9', '\uFFFE',
  ' Version="2.0"', ' Mute="2"', ' Bogus="1"', '<TransID>', '</WbxTSPSchema>', '<!DOCTYPE x>', '<!ENTITY a "b">', ' ConfKey="1"'];

function mutate(source: Buffer, random: () => number): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  let bytes = Buffer.from(source);
  const rounds = 1 + pick(3);
  for (let r = 0; r < rounds; r++) {
    const at = pick(bytes.length + 1);
    switch (pick(7)) {
      case 0: // byte flip
        if (bytes.length > 0) {
          const i = Math.min(at, bytes.length - 1);
          bytes[i] = (bytes[i] ?? 0) ^ (1 << pick(8));
        }
        break;
      case 1: // truncation
        bytes = bytes.subarray(0, at);
        break;
      case 2: { // splice a snippet
        const snippet = Buffer.from(SNIPPETS[pick(SNIPPETS.length)] as string, pick(2) ? 'utf8' : 'latin1');
        bytes = Buffer.concat([bytes.subarray(0, at), snippet, bytes.subarray(at)]);
        break;
      }
      case 3: { // duplicate a span
        const end = Math.min(bytes.length, at + pick(80));
        bytes = Buffer.concat([bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end)]);
        break;
      }
      case 4: { // swap two attribute values or names
        const text = bytes.toString('latin1');
        const attrs = [...text.matchAll(/ (\w+)="([^"]*)"/g)];
        const a = attrs[pick(attrs.length)];
        const b = attrs[pick(attrs.length)];
        if (a && b && a.index !== undefined && b.index !== undefined && a.index < b.index) {
          const swapped = text.slice(0, a.index) + b[0] + text.slice(a.index + a[0].length, b.index) + a[0] + text.slice(b.index + b[0].length);
          bytes = Buffer.from(swapped, 'latin1');
        }
        break;
      }
      case 5: { // swap element names
        const text = bytes.toString('latin1');
        const names = [...new Set([...text.matchAll(/<(\w+)/g)].map((m) => m[1] as string))];
        const from = names[pick(names.length)];
        const to = SAMPLES[W2A_TYPES[pick(W2A_TYPES.length)] as keyof typeof SAMPLES].type;
        if (from) bytes = Buffer.from(text.replaceAll(from, pick(2) ? to : from.slice(0, -1)), 'latin1');
        break;
      }
      default: // delete a span
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + pick(20)))]);
    }
  }
  return bytes;
}

/** `count` documents: a few valid originals of every W2A type, the rest mutations of them. */
export function* fuzzCorpus(seed: number, count: number, codec: TspCodec): Generator<Buffer> {
  const random = prng(seed);
  const originals = W2A_TYPES.map((t) => Buffer.from(codec.encode(`fz-${t}`, [SAMPLES[t] as TspMessage])));
  originals.push(Buffer.from(codec.encode('fz-many', W2A_TYPES.map((t) => SAMPLES[t] as TspMessage))));
  for (let i = 0; i < count; i++) {
    const source = originals[i % originals.length] as Buffer;
    yield i < originals.length ? source : mutate(source, random);
  }
}
