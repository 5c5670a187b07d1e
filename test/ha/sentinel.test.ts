/**
 * Redis fails over under Sentinel and nothing acknowledged is lost: a master with the
 * durability settings of docs/high-availability.md (append-only file, min-replicas-to-write),
 * one replica, three Sentinels; the store writes with WAIT 1, the master is SIGKILLed, the
 * replica is promoted and the store (through the Sentinels) finds every acknowledged
 * transaction there.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { connectRedis } from '../../src/adaptor/cluster/redis-connection.js';
import { parseConfig } from '../../src/adaptor/config.js';
import { RedisStore } from '../../src/adaptor/store/redis-store.js';
import { startRedis, type RedisServer } from './redis-server.js';

const TRANSACTIONS = 20;
const FAILOVER_LIMIT_MS = 20_000;
const servers: RedisServer[] = [];
let master: RedisServer;
let replica: RedisServer;

before(async () => {
  master = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec', '--min-replicas-to-write', '1', '--min-replicas-max-lag', '5']);
  replica = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec', '--replicaof', '127.0.0.1', String(master.port)]);
  servers.push(master, replica);
  for (let i = 0; i < 3; i++) servers.push(await startRedis([], { sentinelOf: master.port }));
});
after(async () => {
  for (const s of servers) await s.stop();
});

test('after the master is killed, the promoted replica has every transaction the store acknowledged', async () => {
  const config = parseConfig({
    store: { kind: 'redis', redis: { sentinels: servers.slice(2).map((s) => ({ host: '127.0.0.1', port: s.port })), waitReplicas: 1, commandTimeoutMs: 1_000 } },
  }, { source: 'sentinel test', env: {} });
  const redis = await connectRedis(config.store.redis, pino({ level: 'silent' }), 'sentinel-test');
  try {
    const store = new RedisStore(redis, { group: 'sentinel', bridgeId: 'bridge-1', waitReplicas: { replicas: 1, timeoutMs: 2_000 } });
    // The replica must be in sync before WAIT can succeed.
    const deadline = Date.now() + FAILOVER_LIMIT_MS;
    const acknowledged: string[] = [];
    for (let i = 0; i < TRANSACTIONS; i++) {
      const transId = `sentinel-${i}`;
      for (;;) {
        try {
          const outcome = await store.recordTransaction({ transId, messages: [], receivedAt: i, result: 0 });
          assert.equal(outcome.kind, 'recorded');
          acknowledged.push(transId);
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    await master.stop();
    // Every acknowledged TransID is a repeat on the promoted master.
    for (const transId of acknowledged) {
      for (;;) {
        try {
          const outcome = await store.recordTransaction({ transId, messages: [], receivedAt: 0, result: 0 });
          assert.equal(outcome.kind, 'repeat', `${transId} was acknowledged before the fail-over and must still be known`);
          break;
        } catch (err) {
          if (err instanceof assert.AssertionError || Date.now() > deadline + FAILOVER_LIMIT_MS) throw err;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    const role = await redis.call('ROLE') as [string];
    assert.equal(role[0], 'master');
  } finally {
    redis.disconnect();
  }
});
