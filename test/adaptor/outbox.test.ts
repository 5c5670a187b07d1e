import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { EngineCounters } from '../../src/adaptor/counters.js';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import { withDefaults } from '../../src/adaptor/options.js';
import { Outbox } from '../../src/adaptor/outbox/outbox.js';
import { RetryPolicy } from '../../src/adaptor/outbox/retry-policy.js';
import { MemoryStore } from '../../src/adaptor/store/memory-store.js';
import type { OutboxInput } from '../../src/adaptor/store/store.js';
import { FakeClock } from './support/fake-clock.js';
import { FakeWebex, jsonCodec } from './support/fake-webex.js';

const URL_A = 'https://webex-a.test/tsp';
const OPTIONS = withDefaults({ outbox: { initialDelayMs: 100, maxDelayMs: 1_000, maxAgeMs: 10_000 } }).outbox;

function setup(concurrency = 16) {
  const clock = new FakeClock();
  const store = new MemoryStore();
  const webex = new FakeWebex();
  const counters = new EngineCounters();
  const outbox = new Outbox({
    store, codec: jsonCodec, post: webex.post, clock, logger: pino({ level: 'silent' }), counters,
    options: { ...OPTIONS, concurrency }, isAllowedUrl: compileAllowedHosts(['https://webex-a.test']),
    policy: new RetryPolicy(OPTIONS, () => 0.5),
  });
  let n = 0;
  const put = async (orderKey: string, url: string | undefined = URL_A): Promise<string> => {
    const input: OutboxInput = {
      orderKey, url, transId: `t${++n}`, createdAt: clock.now(),
      message: { type: 'A2W_NotifyConferenceChange', MsgID: `m${n}`, ExtConfID: orderKey, Status: 0 },
    };
    outbox.add(await store.applyChange({ outbox: [input] }));
    return input.transId;
  };
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 100 && outbox.inFlight().length > 0; i++) await Promise.allSettled(outbox.inFlight());
  };
  return { clock, store, webex, counters, outbox, put, settle };
}

describe('outbox (spec 3.5, 4)', () => {
  it('a failed post is retried with the same TransID after a back-off, and the conference waits for it', async () => {
    const o = setup();
    let fail = 2;
    o.webex.answer = (p) => (p.message.MsgID === 'm1' && fail-- > 0 ? { status: 503 } : { status: 200, result: 0 });
    const t1 = await o.put('conf-1');
    await o.put('conf-1');
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.transId), [t1]);
    o.clock.advance(75); // first back-off: 100 ms capped, half fixed + half jitter(0.5) = 75 ms
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.transId), [t1, t1]);
    o.clock.advance(150);
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.message.MsgID), ['m1', 'm1', 'm1', 'm2'], 'order kept across retries');
    assert.equal(o.counters.outboxRetries, 2);
    assert.equal((await o.store.pendingOutbox()).length, 0);
  });

  it('conferences proceed independently: one failing does not hold up another', async () => {
    const o = setup();
    o.webex.answer = (p) => (p.message.ExtConfID === 'conf-1' ? 'timeout' : { status: 200, result: 0 });
    await o.put('conf-1');
    await o.put('conf-2');
    await o.put('conf-2');
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.message.MsgID), ['m1', 'm2', 'm3']);
  });

  it('Confirmation Result 1-4 dead-letters at once; 7 is retried', async () => {
    const o = setup();
    o.webex.answer = (p) => ({ status: 200, result: p.message.ExtConfID === 'conf-1' ? 2 : 7 });
    await o.put('conf-1');
    await o.put('conf-2');
    await o.settle();
    assert.equal(o.counters.deadLetters, 1);
    const dead = await o.store.deadLetters();
    assert.equal(dead[0]!.record.orderKey, 'conf-1');
    assert.match(dead[0]!.reason, /Result 2/);
    assert.equal(o.counters.outboxRetries, 1);
  });

  it('a message older than the maximum age is dead-lettered, logged and counted, never dropped silently', async () => {
    const o = setup();
    o.webex.answer = () => ({ status: 500 });
    await o.put('conf-1');
    for (let i = 0; i < 40 && o.counters.deadLetters === 0; i++) {
      o.clock.advance(1_000);
      await o.settle();
    }
    assert.equal(o.counters.deadLetters, 1);
    assert.match((await o.store.deadLetters())[0]!.reason, /maximum age/);
    assert.equal(o.outbox.depth().messages, 0);
  });

  it('only URLs in webex.allowedHosts are posted to', async () => {
    const o = setup();
    await o.put('conf-1', 'https://evil.test/tsp');
    await o.put('conf-1', 'https://webex-a.test.evil.test/tsp');
    await o.put('conf-1');
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.url), [URL_A]);
    assert.equal(o.counters.deadLetters, 2);
  });

  it('Retry-After is honoured', async () => {
    const o = setup();
    let first = true;
    o.webex.answer = () => (first ? ((first = false), { status: 429, retryAfterMs: 900 }) : { status: 200, result: 0 });
    await o.put('conf-1');
    await o.settle();
    o.clock.advance(899);
    await o.settle();
    assert.equal(o.webex.posts.length, 1);
    o.clock.advance(1);
    await o.settle();
    assert.equal(o.webex.posts.length, 2);
  });

  it('a Confirmation for another TransID is a failure', async () => {
    const policy = new RetryPolicy(OPTIONS, () => 0);
    const v = policy.classify({ kind: 'answered', status: 200, confirmation: { ok: true, transId: 'other', result: 0 } }, 'mine', 1, 0);
    assert.equal(v.kind, 'retry');
  });

  it('back-off grows exponentially with jitter and is capped', () => {
    const policy = new RetryPolicy(OPTIONS, () => 1);
    assert.deepEqual([1, 2, 3, 4, 5, 10].map((a) => policy.delayMs(a)), [100, 200, 400, 800, 1000, 1000]);
    const low = new RetryPolicy(OPTIONS, () => 0);
    assert.deepEqual([1, 2, 3].map((a) => low.delayMs(a)), [50, 100, 200]);
  });

  it('what the store still holds is taken up at start', async () => {
    const o = setup();
    await o.store.applyChange({ outbox: [{ orderKey: 'c', url: URL_A, transId: 'kept', createdAt: o.clock.now(), message: { type: 'A2W_NotifyConferenceChange', MsgID: 'x', ExtConfID: 'c', Status: 3 } }] });
    await o.outbox.start();
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.transId), ['kept']);
  });

  it('whenEmpty says whether everything went out in time', async () => {
    const o = setup();
    o.webex.answer = () => ({ status: 500 });
    await o.put('conf-1');
    const waiting = o.outbox.whenEmpty(500);
    await o.settle();
    o.clock.advance(500);
    assert.equal(await waiting, false);
    await o.settle();
    o.webex.answer = () => ({ status: 200, result: 0 });
    const again = o.outbox.whenEmpty(5_000);
    o.clock.advance(1_000);
    await o.settle();
    assert.equal(await again, true);
  });
});
