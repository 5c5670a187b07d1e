/**
 * A2W batching across a take-over, on a real redis-server: the instance that takes a bridge
 * over posts a batch the previous owner stored under the same TransID, set and body, and an
 * owner that lost its lease can no longer form a batch (its fenced write is refused, so it
 * never posts one).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { EngineCounters } from '../../src/adaptor/counters.js';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import { withDefaults } from '../../src/adaptor/options.js';
import { Outbox } from '../../src/adaptor/outbox/outbox.js';
import { RetryPolicy } from '../../src/adaptor/outbox/retry-policy.js';
import { RedisStore } from '../../src/adaptor/store/redis-store.js';
import type { OutboxInput } from '../../src/adaptor/store/store.js';
import { FakeClock } from '../adaptor/support/fake-clock.js';
import { FakeWebex, jsonCodec } from '../adaptor/support/fake-webex.js';
import { startRedis, type RedisServer } from './redis-server.js';

const URL_A = 'https://webex-a.test/tsp';
const OPTIONS = withDefaults({ outbox: { initialDelayMs: 100, maxDelayMs: 1_000, maxAgeMs: 60_000 } }).outbox;

let redis: RedisServer;
before(async () => { redis = await startRedis(); });
after(async () => { await redis.stop(); });

function owner(store: RedisStore, clock: FakeClock) {
  const webex = new FakeWebex();
  const outbox = new Outbox({
    store, codec: jsonCodec, post: webex.post, clock, logger: pino({ level: 'silent' }), counters: new EngineCounters(),
    options: OPTIONS, isAllowedUrl: compileAllowedHosts(['https://webex-a.test']), policy: new RetryPolicy(OPTIONS, () => 0.5),
  });
  const settle = async (): Promise<void> => {
    await Promise.resolve(); // the outbox pumps in a microtask after a hand-over
    for (let i = 0; i < 100 && outbox.inFlight().length > 0; i++) await Promise.allSettled(outbox.inFlight());
  };
  return { webex, outbox, settle };
}

const input = (n: number, orderKey: string, createdAt: number): OutboxInput => ({
  orderKey, url: URL_A, transId: `a2w-${n}`, createdAt,
  message: { type: 'A2W_NotifyConferenceChange', MsgID: `m${n}`, ExtConfID: orderKey, Status: 0 },
});

describe('A2W batches across a take-over (Redis store)', () => {
  it('the new owner posts the stored batch whole; the old one can no longer form a batch', async () => {
    const clock = new FakeClock();
    const group = 'batch-take-over';
    const lease = { held: 'lease-1' };
    const client = redis.client();
    const first = new RedisStore(client, { group, bridgeId: 'bridge-1', fence: () => lease.held });
    await client.set(first.keys.lease, 'lease-1');
    const a = owner(first, clock);
    await a.outbox.start();
    a.webex.answer = () => 'timeout';
    a.outbox.add(await first.applyChange({ outbox: [input(1, 'conf-1', clock.now()), input(2, 'conf-2', clock.now()), input(3, 'conf-1', clock.now())] }));
    await a.settle();
    const batch = a.webex.posts[0]!;
    assert.deepEqual(batch.messages.map((m) => m.MsgID), ['m1', 'm2', 'm3']);

    // Another instance takes the lease and starts its outbox on the same partition.
    await client.set(first.keys.lease, 'lease-2');
    const b = owner(new RedisStore(redis.client(), { group, bridgeId: 'bridge-1', fence: () => 'lease-2' }), clock);
    await b.outbox.start();
    clock.advance(1_000);
    await b.settle();
    assert.deepEqual(b.webex.posts.map((p) => [p.transId, p.body]), [[batch.transId, batch.body]]);

    // The old owner, still running, gets two new messages: its batch write is refused, nothing is posted.
    const before = a.webex.posts.length;
    a.outbox.add(await new RedisStore(client, { group, bridgeId: 'bridge-1' }).applyChange({ outbox: [input(4, 'conf-3', clock.now()), input(5, 'conf-4', clock.now())] }));
    await a.settle();
    assert.ok(a.webex.posts.slice(before).every((p) => p.transId === batch.transId), 'only its old batch, under its TransID');
    a.outbox.close();
    b.outbox.close();
  });
});
