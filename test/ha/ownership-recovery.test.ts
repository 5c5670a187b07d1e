/**
 * An owner whose write to Redis failed recovers with a fresh engine, and the engine it closed
 * can no longer write: on a real redis-server, with the engine below the ownership's boundary
 * replaced by a stand-in that only keeps the store view and `mayAct` it was given.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { BridgeOwnership } from '../../src/adaptor/cluster/bridge-ownership.js';
import type { Engine } from '../../src/adaptor/engine.js';
import { FencedError, RedisStore } from '../../src/adaptor/store/redis-store.js';
import { startRedis, type RedisServer } from './redis-server.js';

const TIMINGS = { leaseMs: 2_000, renewMs: 50 };
const WAIT_LIMIT_MS = 5_000;
let redis: RedisServer;
before(async () => { redis = await startRedis(); });
after(async () => { await redis.stop(); });

interface Started { store: RedisStore; mayAct: () => boolean; closed: boolean }

test('after a failed write the owner starts a fresh engine under a fresh token; the closed engine neither writes nor acts', async () => {
  const leaseClient = redis.client();
  // The store's own connection, which the test cuts: writes then fail at once, as with Redis away.
  const storeClient = new Redis({ host: '127.0.0.1', port: redis.port, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  storeClient.on('error', () => {});
  await Promise.all([leaseClient.ping(), new Promise((resolve) => storeClient.once('ready', resolve))]);
  const engines: Started[] = [];
  const waiters: (() => void)[] = [];
  const ownership = new BridgeOwnership({
    redis: leaseClient, store: new RedisStore(storeClient, { group: 'recovery', bridgeId: 'bridge-1' }), bridgeId: 'bridge-1', instanceId: 'a',
    timings: TIMINGS, logger: pino({ level: process.env.LEASE_LOG ?? 'silent' }), changed: () => {},
    startEngine: async (_bridge, store, mayAct) => {
      const started: Started = { store, mayAct, closed: false };
      engines.push(started);
      for (const w of waiters.splice(0)) w();
      return { close: async () => { started.closed = true; }, runUnfinished: () => {}, snapshot: () => ({ bridges: [] }) } as unknown as Engine;
    },
  });
  const engineCount = (n: number): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ${n} engines within ${WAIT_LIMIT_MS} ms (have ${engines.length})`)), WAIT_LIMIT_MS);
    const check = (): void => {
      if (engines.length >= n) { clearTimeout(timer); resolve(); } else waiters.push(check);
    };
    check();
  });
  try {
    await ownership.lease.tick(() => true);
    await engineCount(1);
    const first = engines[0]!;
    await first.store.applyChange({ outbox: [] });
    assert.equal(first.mayAct(), true);
    const firstLease = ownership.lease.fence();

    storeClient.disconnect();
    await assert.rejects(first.store.applyChange({ outbox: [] }), (err: Error) => !(err instanceof FencedError));
    await engineCount(2);
    await storeClient.connect();
    const second = engines[1]!;

    assert.equal(first.closed, true, 'the first engine was closed');
    assert.equal(ownership.role, 'owner');
    assert.ok(Number(ownership.lease.fence().split(':')[0]) > Number(firstLease.split(':')[0]), 'the lease was kept under a larger token');
    assert.equal(first.mayAct(), false, 'the closed engine may not send to the bridge or to WebEx');
    assert.equal(second.mayAct(), true);
    await assert.rejects(first.store.applyChange({ outbox: [] }), FencedError, 'a late write of the closed engine is refused');
    await second.store.applyChange({ outbox: [] });
    const status = ownership.status();
    assert.equal(status.fencingRefusals, 2, 'one refused write and one refused act counted');
  } finally {
    await ownership.close();
    storeClient.disconnect();
  }
});
