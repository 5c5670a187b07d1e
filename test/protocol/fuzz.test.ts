/**
 * Property: whatever bytes arrive, decode answers with exactly one Confirmation code and never
 * throws. Thousands of mutations of valid documents, from a seeded PRNG so a failure replays.
 * (Per-document timings are printed by bench/protocol.ts, not asserted here.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIRMATION, createCodec } from '../../src/protocol/index.js';
import { fuzzCorpus } from './fuzz-corpus.js';

const SEED = 0x7e5a_2035;
const DOCUMENTS = 3_000;
const CODES: ReadonlySet<number> = new Set(Object.values(CONFIRMATION));

test(`${DOCUMENTS} mutated documents each get one Confirmation code, none throws`, async () => {
  const codec = await createCodec({ isAllowedWbxHost: (url) => url.includes('webex') });
  const seen = new Map<number, number>();
  try {
    for (const body of fuzzCorpus(SEED, DOCUMENTS, codec)) {
      const result = codec.decode(body, { direction: 'W2A' });
      const code = result.ok ? 0 : result.result;
      assert.ok(CODES.has(code), `code ${code}`);
      assert.notEqual(code, CONFIRMATION.INTERNAL, result.ok ? '' : result.reason);
      if (!result.ok) assert.match(result.reason, /\S/);
      seen.set(code, (seen.get(code) ?? 0) + 1);
      const confirmation = codec.decodeConfirmation(body);
      assert.equal(typeof confirmation.ok, 'boolean');
    }
  } finally {
    codec.close();
  }
  // The mutations reach every check, not just the parser.
  for (const code of [0, 1, 2, 3]) assert.ok((seen.get(code) ?? 0) > 0, `no document got ${code}: ${[...seen]}`);
});
