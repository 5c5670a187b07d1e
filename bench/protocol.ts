/**
 * `npm run bench:protocol`: decode throughput next to libxml2-wasm's bare parse of the same
 * bodies in the same run (target: the full path keeps >= 50% of the bare rate), then per-document
 * decode times over the fuzz corpus (target: none over 50 ms). A benchmark, not a test: it
 * prints figures and asserts nothing.
 */
import { XmlDocument } from 'libxml2-wasm';
import { createCodec, type TspMessage } from '../src/protocol/index.js';
import { SAMPLES } from '../test/protocol/fixtures.js';
import { fuzzCorpus } from '../test/protocol/fuzz-corpus.js';

const ROUNDS = 8;
const DOCUMENTS_PER_ROUND = 10_000;
const FUZZ_DOCUMENTS = 5_000;
const FUZZ_SEED = 0x7e5a_2035;

const codec = await createCodec();
const bodies = [
  [SAMPLES.W2A_MuteUser],
  [SAMPLES.W2A_CreateConference],
  [SAMPLES.W2A_Callout],
  [SAMPLES.W2A_MuteUser, SAMPLES.W2A_ExpelUser, SAMPLES.W2A_AddToSubConference],
].map((messages: TspMessage[]) => ({ bytes: Buffer.from(codec.encode('bench-1', messages)), messages: messages.length }));
const messagesPerPass = bodies.reduce((n, b) => n + b.messages, 0);

/** Messages per second of one round. */
function round(each: (bytes: Buffer) => void): number {
  const passes = DOCUMENTS_PER_ROUND / bodies.length;
  const start = process.hrtime.bigint();
  for (let i = 0; i < passes; i++) for (const body of bodies) each(body.bytes);
  return (passes * messagesPerPass) / (Number(process.hrtime.bigint() - start) / 1e9);
}

for (const body of bodies) {
  const result = codec.decode(body.bytes, { direction: 'W2A' });
  if (!result.ok) throw new Error(`benchmark body refused: ${result.reason}`);
}
// Rounds alternate so that other load on the machine falls on both alike; best of each.
let bare = 0;
let full = 0;
for (let r = 0; r < ROUNDS; r++) {
  bare = Math.max(bare, round((bytes) => XmlDocument.fromBuffer(bytes).dispose()));
  full = Math.max(full, round((bytes) => void codec.decode(bytes, { direction: 'W2A' })));
}
console.log(`libxml2-wasm parse alone       ${Math.round(bare).toLocaleString('en')} messages/s`);
console.log(`decode (checks+parse+DTD+map)  ${Math.round(full).toLocaleString('en')} messages/s`);
console.log(`ratio                          ${((100 * full) / bare).toFixed(1)}% (target >= 50%)`);

const times: number[] = [];
for (const body of fuzzCorpus(FUZZ_SEED, FUZZ_DOCUMENTS, codec)) {
  const start = process.hrtime.bigint();
  codec.decode(body, { direction: 'W2A' });
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
times.sort((a, b) => a - b);
const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
const max = times[times.length - 1] ?? 0;
console.log(`fuzz corpus                    ${times.length} documents, p99 ${p99.toFixed(3)} ms, max ${max.toFixed(3)} ms (target <= 50 ms)`);
codec.close();
