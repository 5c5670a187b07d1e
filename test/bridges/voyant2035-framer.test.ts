/** The 2035 line framer: identical lines however the bytes are split, and a capped buffer. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineFramer } from '../../src/bridges/voyant2035/framer.js';

type Out = { line: string } | { overflow: string };

function frame(chunks: Buffer[], maxLineBytes?: number): Out[] {
  const out: Out[] = [];
  const framer = new LineFramer({ line: (line) => out.push({ line }), overflow: (overflow) => out.push({ overflow }) }, maxLineBytes);
  for (const chunk of chunks) framer.push(chunk);
  return out;
}

/** A tiny deterministic generator, so a failing split can be replayed. */
function splitter(seed: number): (max: number) => number {
  let x = seed;
  return (max) => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (x % max);
  };
}

const STREAM = Buffer.from(
  '1 OK conf=C1\r\n* EVT 7 JOIN conf=C1 port=1/1 leg=L1 name=Ren%C3%A9e muted=0 sub=0\n* HB at=5 total=1344 used=1 reserved=0\n\n2 + CONF conf=C1\n2 OK seq=7\n',
);

describe('LineFramer', () => {
  const whole = frame([STREAM]);

  it('splits lines on LF and drops a CR before it', () => {
    assert.deepEqual(whole.slice(0, 2), [{ line: '1 OK conf=C1' }, { line: '* EVT 7 JOIN conf=C1 port=1/1 leg=L1 name=Ren%C3%A9e muted=0 sub=0' }]);
    assert.equal(whole.length, 6);
    assert.deepEqual(whole[3], { line: '' });
  });

  it('gives the same lines byte by byte', () => {
    assert.deepEqual(frame([...STREAM].map((b) => Buffer.from([b]))), whole);
  });

  it('gives the same lines at random split points, multi-byte characters included', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const next = splitter(seed);
      const chunks: Buffer[] = [];
      for (let at = 0; at < STREAM.length; ) {
        const size = next(17);
        chunks.push(STREAM.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(frame(chunks), whole, `seed ${seed}`);
    }
  });

  it('reports an over-long line once, skips it to its end, and carries on', () => {
    const long = `1 OK ${'x'.repeat(100)}\n2 OK\n`;
    const out = frame([...Buffer.from(long)].map((b) => Buffer.from([b])), 32);
    assert.equal(out.length, 2);
    assert.ok('overflow' in (out[0] as Out) && (out[0] as { overflow: string }).overflow.startsWith('1 OK xxx'));
    assert.deepEqual(out[1], { line: '2 OK' });
  });

  it('keeps an unterminated tail until its end arrives', () => {
    const framer: Out[] = [];
    const f = new LineFramer({ line: (line) => framer.push({ line }), overflow: (overflow) => framer.push({ overflow }) });
    f.push(Buffer.from('1 O'));
    assert.deepEqual(framer, []);
    f.push(Buffer.from('K\n'));
    assert.deepEqual(framer, [{ line: '1 OK' }]);
  });
});
