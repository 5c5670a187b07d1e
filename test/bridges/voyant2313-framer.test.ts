/**
 * The 2313 framer, byte by byte: the same bytes give the same frames however they are split,
 * and bad, empty or oversize frames are reported once and skipped to the next magic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_MAGIC, Framer, encodeFrame, type FramerOutput } from '../../src/bridges/voyant2313/framer.js';

/** A deterministic generator, so a failing split can be reproduced from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

function feed(framer: Framer, chunks: Buffer[]): FramerOutput[] {
  return chunks.flatMap((c) => framer.push(c));
}

function bytewise(stream: Buffer): Buffer[] {
  return [...stream].map((b) => Buffer.from([b]));
}

function randomSplits(stream: Buffer, random: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const n = 1 + Math.floor(random() * 40);
    chunks.push(stream.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

const PAYLOADS = ['<HEARTBEAT at="1" portsTotal="1344" portsInUse="0" portsReserved="0"/>', '<A/>', '<B x="ünï 😀"/>'];

test('the same bytes give the same frames whole, byte by byte and split at random points', () => {
  const stream = Buffer.concat(PAYLOADS.map((p) => encodeFrame(p)));
  const expected = PAYLOADS.map((p): FramerOutput => ({ type: 'frame', payload: Buffer.from(p) }));
  assert.deepEqual(feed(new Framer(), [stream]), expected);
  assert.deepEqual(feed(new Framer(), bytewise(stream)), expected);
  for (let seed = 1; seed <= 50; seed++) {
    assert.deepEqual(feed(new Framer(), randomSplits(stream, prng(seed))), expected, `seed ${seed}`);
  }
});

test('an oversize frame is reported once and its payload skipped, then framing resumes', () => {
  const big = encodeFrame('<X pad="' + 'p'.repeat(200) + '"/>');
  const stream = Buffer.concat([encodeFrame('<A/>'), big, encodeFrame('<B/>')]);
  const check = (out: FramerOutput[]): void => {
    assert.deepEqual(out.map((o) => (o.type === 'frame' ? o.payload.toString() : o.type)), ['<A/>', 'malformed', '<B/>']);
    const bad = out[1];
    assert.ok(bad?.type === 'malformed' && /exceeds 100/.test(bad.reason));
  };
  check(feed(new Framer({ maxFrameBytes: 100 }), [stream]));
  check(feed(new Framer({ maxFrameBytes: 100 }), bytewise(stream)));
  for (let seed = 1; seed <= 20; seed++) check(feed(new Framer({ maxFrameBytes: 100 }), randomSplits(stream, prng(seed))));
});

test('garbage between frames is reported and skipped up to the next magic', () => {
  const garbage = Buffer.from('hello there, not a frame at all');
  const stream = Buffer.concat([encodeFrame('<A/>'), garbage, encodeFrame('<B/>')]);
  const summary = (out: FramerOutput[]): string[] => out.map((o) => (o.type === 'frame' ? o.payload.toString() : o.reason));
  const expected = ['<A/>', 'bad frame magic', '<B/>'];
  assert.deepEqual(summary(feed(new Framer(), [stream])), expected);
  assert.deepEqual(summary(feed(new Framer(), bytewise(stream))), expected);
  for (let seed = 1; seed <= 20; seed++) assert.deepEqual(summary(feed(new Framer(), randomSplits(stream, prng(seed)))), expected);
});

test('a magic split across the garbage and the next header is still found', () => {
  // Garbage that ends in a partial magic right before a real frame.
  const stream = Buffer.concat([Buffer.from('zz'), FRAME_MAGIC.subarray(0, 3), encodeFrame('<B/>')]);
  const out = feed(new Framer(), bytewise(stream));
  assert.deepEqual(out.map((o) => o.type), ['malformed', 'frame']);
});

test('an empty frame is malformed', () => {
  const stream = Buffer.concat([encodeFrame(''), encodeFrame('<B/>')]);
  const out = feed(new Framer(), [stream]);
  assert.deepEqual(out.map((o) => (o.type === 'frame' ? o.payload.toString() : o.reason)), ['empty frame', '<B/>']);
});

test('random garbage never throws and every frame that follows it is recovered', () => {
  const random = prng(7);
  for (let round = 0; round < 200; round++) {
    const noise = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    const framer = new Framer({ maxFrameBytes: 1024 });
    const out = feed(framer, randomSplits(Buffer.concat([noise, encodeFrame('<Z/>'), encodeFrame('<Y/>')]), random));
    const frames = out.filter((o) => o.type === 'frame').map((o) => (o.type === 'frame' ? o.payload.toString() : ''));
    // Noise may swallow the first frame (as a claimed body); the last one always comes through.
    assert.equal(frames.at(-1), '<Y/>', `round ${round}`);
  }
});
