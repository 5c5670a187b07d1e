import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { EngineCounters } from '../../src/adaptor/counters.js';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import { withDefaults } from '../../src/adaptor/options.js';
import { Outbox } from '../../src/adaptor/outbox/outbox.js';
import { RetryPolicy } from '../../src/adaptor/outbox/retry-policy.js';
import { MemoryStore } from '../../src/adaptor/store/memory-store.js';
import type { OutboxOptions } from '../../src/adaptor/options.js';
import type { OutboxInput, OutboxRecord, Store } from '../../src/adaptor/store/store.js';
import { FakeClock } from './support/fake-clock.js';
import { FakeWebex, jsonCodec } from './support/fake-webex.js';

const URL_A = 'https://webex-a.test/tsp';
const OPTIONS = withDefaults({ outbox: { initialDelayMs: 100, maxDelayMs: 1_000, maxAgeMs: 10_000 } }).outbox;

async function setup(opts: { store?: Store; clock?: FakeClock; outbox?: Partial<OutboxOptions> } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const store = opts.store ?? new MemoryStore();
  const webex = new FakeWebex();
  const counters = new EngineCounters();
  const outbox = new Outbox({
    store, codec: jsonCodec, post: webex.post, clock, logger: pino({ level: 'silent' }), counters,
    options: { ...OPTIONS, ...opts.outbox }, isAllowedUrl: compileAllowedHosts(['https://webex-a.test']),
    policy: new RetryPolicy(OPTIONS, () => 0.5),
  });
  let n = 0;
  const input = (orderKey: string, url: string | undefined = URL_A): OutboxInput => ({
    orderKey, url, transId: `t${++n}`, createdAt: clock.now(),
    message: { type: 'A2W_NotifyConferenceChange', MsgID: `m${n}`, ExtConfID: orderKey, Status: 0 },
  });
  const put = async (orderKey: string, url: string | undefined = URL_A): Promise<string> => {
    const one = input(orderKey, url);
    outbox.add(await store.applyChange({ outbox: [one] }));
    return one.transId;
  };
  /** Messages stored by one commit and handed over together: all are waiting at once. */
  const putMany = async (orderKeys: string[], url: string | undefined = URL_A): Promise<void> => {
    outbox.add(await store.applyChange({ outbox: orderKeys.map((k) => input(k, url)) }));
  };
  const settle = async (): Promise<void> => {
    await Promise.resolve(); // the outbox pumps in a microtask after a hand-over
    for (let i = 0; i < 100 && outbox.inFlight().length > 0; i++) await Promise.allSettled(outbox.inFlight());
  };
  await outbox.start();
  return { clock, store, webex, counters, outbox, put, putMany, settle, input };
}

describe('outbox (spec 3.5, 4)', () => {
  it('a failed post is retried with the same TransID after a back-off, and the conference waits for it', async () => {
    const o = await setup();
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
    const o = await setup();
    o.webex.answer = (p) => (p.message.ExtConfID === 'conf-1' ? 'timeout' : { status: 200, result: 0 });
    await o.put('conf-1');
    await o.put('conf-2');
    await o.put('conf-2');
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.message.MsgID), ['m1', 'm2', 'm3']);
  });

  it('Confirmation Result 1-4 dead-letters at once; 7 is retried', async () => {
    const o = await setup();
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
    const o = await setup();
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
    const o = await setup();
    await o.put('conf-1', 'https://evil.test/tsp');
    await o.put('conf-1', 'https://webex-a.test.evil.test/tsp');
    await o.put('conf-1');
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.url), [URL_A]);
    assert.equal(o.counters.deadLetters, 2);
  });

  it('Retry-After is honoured', async () => {
    const o = await setup();
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
    const o = await setup();
    await o.store.applyChange({ outbox: [{ orderKey: 'c', url: URL_A, transId: 'kept', createdAt: o.clock.now(), message: { type: 'A2W_NotifyConferenceChange', MsgID: 'x', ExtConfID: 'c', Status: 3 } }] });
    await o.outbox.start();
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => p.transId), ['kept']);
  });

  it('whenEmpty says whether everything went out in time', async () => {
    const o = await setup();
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

describe('outbox batching (issue 7)', () => {
  const ids = (p: { messages: { MsgID: string }[] }): string[] => p.messages.map((m) => m.MsgID);

  it('a message alone goes out at once under its own TransID; messages waiting for one URL go in one POST, in id (lane) order', async () => {
    const o = await setup();
    const t1 = await o.put('conf-1');
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => [p.transId, ids(p)]), [[t1, ['m1']]]);
    await o.putMany(['conf-1', 'conf-2', 'conf-1', 'conf-3']);
    await o.settle();
    assert.deepEqual(o.webex.posts.slice(1).map((p) => [p.transId, ids(p)]), [['t2', ['m2', 'm3', 'm4', 'm5']]]);
    assert.deepEqual([o.counters.outboxPosts, o.counters.outboxPostedMessages, o.counters.outboxDelivered], [2, 5, 5]);
    assert.deepEqual(await o.store.pendingOutbox(), []);
  });

  it('messages handed over by several commits settled together (one group commit) share a POST', async () => {
    const o = await setup();
    const [a, b] = await Promise.all([o.store.applyChange({ outbox: [o.input('conf-1')] }), o.store.applyChange({ outbox: [o.input('conf-2')] })]);
    o.outbox.add(a);
    o.outbox.add(b);
    await o.settle();
    assert.deepEqual(o.webex.posts.map(ids), [['m1', 'm2']]);
  });

  it('a lane\'s messages wait for its earlier message being retried; other lanes go on, batched', async () => {
    const o = await setup();
    let failing = true;
    o.webex.answer = (p) => (failing && p.message.MsgID === 'm1' ? { status: 503 } : { status: 200, result: 0 });
    await o.put('conf-1');
    await o.settle();
    await o.putMany(['conf-1', 'conf-2', 'conf-1', 'conf-2']);
    await o.settle();
    assert.deepEqual(o.webex.posts.map(ids), [['m1'], ['m3', 'm5']], 'conf-1 waits behind m1, which stays alone');
    failing = false;
    o.clock.advance(75);
    await o.settle();
    assert.deepEqual(o.webex.posts.map(ids), [['m1'], ['m3', 'm5'], ['m1'], ['m2', 'm4']]);
    assert.deepEqual(o.webex.posts.map((p) => p.transId), ['t1', 't3', 't1', 't2']);
  });

  it('a failed batch is retried whole: the same body, TransID and set, kept in the store before the first POST', async () => {
    const o = await setup();
    let fail = 2;
    o.webex.answer = () => (fail-- > 0 ? 'timeout' : { status: 200, result: 0 });
    await o.putMany(['conf-1', 'conf-2', 'conf-1']);
    await o.settle();
    const pending = await o.store.pendingOutbox();
    assert.deepEqual(pending.map((r) => [r.transId, r.attempts]), [['t1', 1], ['t1', 1], ['t1', 1]]);
    for (let i = 0; i < 2; i++) {
      o.clock.advance(1_000);
      await o.settle();
    }
    assert.equal(o.webex.posts.length, 3);
    assert.equal(new Set(o.webex.posts.map((p) => p.body)).size, 1, 'byte for byte the same body');
    assert.deepEqual(ids(o.webex.posts[2]!), ['m1', 'm2', 'm3']);
    assert.equal(o.counters.outboxRetries, 2);
    assert.deepEqual(o.webex.delivered().map((m) => m.MsgID), ['m1', 'm2', 'm3']);
  });

  it('after a restart a stored batch is posted again whole; a message read back alone is never batched', async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const first = await setup({ store, clock });
    first.webex.answer = () => 'timeout';
    await first.putMany(['conf-1', 'conf-2', 'conf-1']);
    await first.settle();
    const before = first.webex.posts[0]!;
    first.outbox.close();
    // Two more messages the first run never posted, as a crash could leave them.
    await store.applyChange({ outbox: ['conf-3', 'conf-4'].map((k, i): OutboxInput => ({
      orderKey: k, url: URL_A, transId: `left-${i}`, createdAt: clock.now(), message: { type: 'A2W_NotifyConferenceChange', MsgID: `left-${i}`, ExtConfID: k, Status: 0 },
    })) });
    const second = await setup({ store, clock });
    clock.advance(1_000);
    await second.settle();
    assert.equal(before.transId, 't1');
    assert.deepEqual(second.webex.posts.map((p) => [p.transId, ids(p)]).sort(), [['left-0', ['left-0']], ['left-1', ['left-1']], ['t1', ['m1', 'm2', 'm3']]]);
    assert.equal(second.webex.posts.find((p) => p.transId === before.transId)!.body, before.body);
  });

  it('a batch respects batchMaxMessages and batchMaxBytes; 1 never batches', async () => {
    const o = await setup({ outbox: { batchMaxMessages: 2 } });
    await o.putMany(['a', 'b', 'c', 'd', 'e']);
    await o.settle();
    // A batch of one needs no store write, so it may reach WebEx before the batches started with it.
    assert.deepEqual(o.webex.posts.map(ids).sort(), [['m1', 'm2'], ['m3', 'm4'], ['m5']]);
    const single = await setup({ outbox: { batchMaxMessages: 1 } });
    await single.putMany(['a', 'a', 'b']);
    await single.settle();
    assert.deepEqual(single.webex.posts.map(ids), [['m1'], ['m3'], ['m2']]);
    const small = await setup({ outbox: { batchMaxBytes: 1_024 } });
    await small.putMany(Array.from({ length: 12 }, (_, i) => `conf-${i}`));
    await small.settle();
    assert.ok(small.webex.posts.length > 1, 'the body cap splits the batch');
    assert.ok(small.webex.posts.every((p) => p.messages.length === 1 || Buffer.byteLength(p.body) <= 1_024));
    assert.deepEqual(small.webex.posts.flatMap(ids), Array.from({ length: 12 }, (_, i) => `m${i + 1}`));
  });

  it('a batch WebEx rejects as invalid dead-letters each member with the reason', async () => {
    const o = await setup();
    o.webex.answer = () => ({ status: 200, result: 2 });
    await o.putMany(['conf-1', 'conf-2']);
    await o.settle();
    assert.equal(o.counters.deadLetters, 2);
    assert.deepEqual((await o.store.deadLetters()).map((d) => [d.record.message.MsgID, d.record.transId, d.reason]),
      [['m1', 't1', 'Confirmation Result 2'], ['m2', 't1', 'Confirmation Result 2']]);
  });

  it('nothing is posted until the batch is stored; a failed store write is retried before the post', async () => {
    let refuse = true;
    class FlakyStore extends MemoryStore {
      override outboxBatch(members: readonly OutboxRecord[]): Promise<void> {
        return refuse ? Promise.reject(new Error('disk full')) : super.outboxBatch(members);
      }
    }
    const o = await setup({ store: new FlakyStore() });
    await o.putMany(['conf-1', 'conf-2']);
    await o.settle();
    assert.equal(o.webex.posts.length, 0);
    assert.equal(o.counters.outboxRetries, 1);
    refuse = false;
    o.clock.advance(1_000);
    await o.settle();
    assert.deepEqual(o.webex.posts.map((p) => [p.transId, ids(p)]), [['t1', ['m1', 'm2']]]);
  });
});
