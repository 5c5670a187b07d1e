/**
 * The bridge lease on a real redis-server: one holder at a time, a growing fencing token, and
 * an owner paused past its lease (its event loop blocked, as under SIGSTOP) that no longer
 * counts itself owner the moment it runs again, and whose writes Redis refuses.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { BridgeLease } from '../../src/adaptor/cluster/bridge-lease.js';
import { FencedError, RedisStore } from '../../src/adaptor/store/redis-store.js';
import { bridgeKeys } from '../../src/adaptor/store/redis/keys.js';
import { startRedis, type RedisServer } from './redis-server.js';

const TIMINGS = { leaseMs: 400, renewMs: 100 };
const WAIT_LIMIT_MS = 5_000;
let redis: RedisServer;
const leases: BridgeLease[] = [];
const timers: NodeJS.Timeout[] = [];
before(async () => { redis = await startRedis(); });
after(async () => {
  for (const t of timers) clearTimeout(t);
  for (const l of leases) l.close();
  await redis.stop();
});

/** Ticks a lease every renewMs, taking it whenever it is free (the member's policy is tested on its own). */
function drive(l: BridgeLease): void {
  const tick = async (): Promise<void> => {
    await l.tick(() => true);
    if (l.role !== 'closed') timers.push(setTimeout(() => void tick(), TIMINGS.renewMs));
  };
  void tick();
}

/** A lease on a connection that is already up, so its first attempt is not queued behind the connect. */
async function lease(instanceId: string, events: { acquired?: () => void; lost?: (reason: string) => void } = {}): Promise<BridgeLease> {
  const client = redis.client();
  await client.ping();
  const l = new BridgeLease({
    redis: client, keys: bridgeKeys('lease-test', 'bridge-1'), bridgeId: 'bridge-1', instanceId, timings: TIMINGS, logger: pino({ level: process.env.LEASE_LOG ?? 'silent' }),
    events: { acquired: events.acquired ?? (() => {}), lost: events.lost ?? (() => {}) },
  });
  leases.push(l);
  return l;
}

function event(): { promise: Promise<string>; fire: (v?: string) => void } {
  let fire: (v?: string) => void = () => {};
  const promise = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no lease event within ${WAIT_LIMIT_MS} ms`)), WAIT_LIMIT_MS);
    fire = (v = '') => { clearTimeout(timer); resolve(v); };
  });
  return { promise, fire };
}

test('renewal needs at most half the lease', () => {
  assert.throws(() => new BridgeLease({
    redis: redis.client(), keys: bridgeKeys('x', 'bridge-1'), bridgeId: 'bridge-1', instanceId: 'a', timings: { leaseMs: 100, renewMs: 60 }, logger: pino({ level: 'silent' }),
    events: { acquired: () => {}, lost: () => {} },
  }), /at most half/);
});

test('one holder; a paused owner stops acting at once, the other takes over with a larger token, stale writes are refused', async () => {
  const aAcquired = event();
  const aLost = event();
  const a = await lease('a', { acquired: () => aAcquired.fire(), lost: (r) => aLost.fire(r) });
  drive(a);
  await aAcquired.promise;
  const bAcquired = event();
  const b = await lease('b', { acquired: () => bAcquired.fire() });
  drive(b);
  const storeClient = redis.client();
  await storeClient.ping();
  assert.ok(a.held(), 'a holds');
  assert.equal(b.role, 'standby');
  const storeA = new RedisStore(storeClient, { group: 'lease-test', bridgeId: 'bridge-1', fence: () => a.fence() });

  // The owner's process is frozen past its lease (as under SIGSTOP): its event loop is blocked.
  const frozenUntil = Date.now() + TIMINGS.leaseMs + 100;
  while (Date.now() < frozenUntil) { /* frozen */ }
  assert.equal(a.held(), false, 'past its local deadline the owner does not act, before any timer ran');

  await bAcquired.promise;
  assert.match(await aLost.promise, /ran out|another instance/);
  assert.ok(Number(b.fence().split(':')[0]) > Number(a.fence().split(':')[0]), 'the fencing token grew');
  await assert.rejects(storeA.applyChange({ outbox: [] }), FencedError);
  assert.equal(storeA.fencingRefusals, 1);
  assert.ok(b.held(), `b holds: ${b.role} ${b.fence()} ${a.role} ${a.fence()}`);
});

test('a rotation keeps the lease under a larger token: writes under the old value are refused, a renewal racing it does not lose the lease', async () => {
  const keys = bridgeKeys('rotate-test', 'bridge-1');
  const acquired = event();
  const lost: string[] = [];
  const client = redis.client();
  await client.ping();
  const l = new BridgeLease({
    redis: client, keys, bridgeId: 'bridge-1', instanceId: 'a', timings: TIMINGS, logger: pino({ level: 'silent' }),
    events: { acquired: () => acquired.fire(), lost: (r) => lost.push(r) },
  });
  leases.push(l);
  await l.tick(() => true);
  await acquired.promise;
  const before = l.fence();
  const root = new RedisStore(client, { group: 'rotate-test', bridgeId: 'bridge-1' });
  const old = root.under(before, () => {});
  await old.applyChange({ outbox: [] });

  // The renewal is sent after the rotation, still with the value the rotation retires.
  const [rotated] = await Promise.all([l.rotate(), l.tick(() => true)]);
  assert.equal(rotated, true);
  assert.deepEqual(lost, [], 'the lease was not counted lost');
  assert.ok(l.held(), 'still held');
  assert.ok(Number(l.fence().split(':')[0]) > Number(before.split(':')[0]), `the token grew: ${before} -> ${l.fence()}`);
  assert.equal(await client.get(keys.lease), l.fence());

  await assert.rejects(old.applyChange({ outbox: [] }), FencedError);
  await root.under(l.fence(), () => {}).applyChange({ outbox: [] });
  assert.equal(root.fencingRefusals, 1, 'the refusal is counted on the bridge store, whichever view made it');
  await l.tick(() => true);
  assert.ok(l.held(), 'renewals under the new value go on');
});
