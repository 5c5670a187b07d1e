/**
 * Redis fails over under Sentinel and nothing acknowledged is lost: a master with the
 * durability settings of docs/high-availability.md (append-only file, min-replicas-to-write),
 * replicas, three Sentinels; writes go with WAIT 1 and the master is SIGKILLed.
 *
 * Two adaptor instances in front of two bridges (two replicas, so the promoted master still has
 * one to WAIT for): meetings run while the master dies; the instances follow the Sentinels to
 * the new master by themselves and go on, every command confirmed before, during or after the
 * fail-over is carried out exactly once, and a TransID acknowledged before it is still known.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { w2a } from '../e2e/support.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { MeetingLoad, verify } from './meetings.js';
import { startCluster, waitFor, waitForOwners } from './support.js';

const FAILOVER_LIMIT_MS = 20_000;
const servers: RedisServer[] = [];

// No diskless-sync delay: a replica re-syncs with a promoted master at once.
const DURABLE = ['--appendonly', 'yes', '--appendfsync', 'everysec', '--min-replicas-to-write', '1', '--min-replicas-max-lag', '5', '--repl-diskless-sync-delay', '0'];

/** A master, `replicas` replicas (with the master's settings, for when one is promoted) and three Sentinels. */
async function sentinelSet(replicas: number): Promise<{ master: RedisServer; replicas: RedisServer[]; sentinels: RedisServer[] }> {
  const m = await startRedis(DURABLE);
  servers.push(m);
  const rs: RedisServer[] = [];
  for (let i = 0; i < replicas; i++) rs.push(await startRedis([...DURABLE, '--replicaof', '127.0.0.1', String(m.port)]));
  servers.push(...rs);
  const sentinels: RedisServer[] = [];
  for (let i = 0; i < 3; i++) sentinels.push(await startRedis([], { sentinelOf: m.port }));
  servers.push(...sentinels);
  // WAIT needs the replicas in sync: wait for them before the adaptors write.
  const probe = m.client();
  await waitFor(async () => ((await probe.info('replication')).match(/state=online/g) ?? []).length === replicas, 10_000, 'replicas in sync');
  return { master: m, replicas: rs, sentinels };
}

after(async () => {
  for (const s of servers) await s.stop();
});

test('two instances follow the Sentinels to the promoted master and go on; every command confirmed around the fail-over is carried out once', { timeout: 60_000 }, async () => {
  const set = await sentinelSet(2);
  const stack = await startCluster(2, 'sentinel-cluster', {
    redis: set.master,
    redisConfig: { sentinels: set.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), waitReplicas: 1, waitTimeoutMs: 1_000, commandTimeoutMs: 1_000 },
  });
  try {
    await waitForOwners(stack, FAILOVER_LIMIT_MS);
    const load = new MeetingLoad(stack.sims[0]!, () => stack.sims);
    // Before: the replicas must be in sync for WAIT; WebEx's retries cover that.
    await Promise.all([1, 2, 3].map((n) => load.meeting(n)));
    const early = w2a(stack.sims[0]!).create('before-fail-over', '72000001');
    const earlyTransId = stack.sims[0]!.newId('trans');
    await waitFor(async () => (await stack.sims[1]!.send([early], { transId: earlyTransId })).result === 0, FAILOVER_LIMIT_MS, 'a create confirmed before the fail-over');
    let running = true;
    const during = load.run(3, () => running, 10);
    await waitFor(() => load.confirmed.length >= 20, FAILOVER_LIMIT_MS, 'meetings under way');
    await set.master.stop();
    await waitFor(async () => {
      const role = await set.replicas[0]!.client().call('ROLE') as [string];
      const other = await set.replicas[1]!.client().call('ROLE') as [string];
      return role[0] === 'master' || other[0] === 'master';
    }, FAILOVER_LIMIT_MS, 'a replica promoted');
    const confirmedAtFailOver = load.confirmed.length;
    await waitFor(() => load.confirmed.length >= confirmedAtFailOver + 10, FAILOVER_LIMIT_MS, 'commands confirmed on the promoted master');
    running = false;
    await during;
    await waitForOwners(stack, FAILOVER_LIMIT_MS);
    for (const m of stack.members) assert.equal(m!.member.status().redis, 'ready', 'the instance reconnected to the new master');
    const repeats = stack.members.reduce((n, m) => n + m!.member.status().intake.repeats, 0);
    assert.equal((await stack.sims[0]!.send([early], { transId: earlyTransId })).result, 0);
    assert.equal(stack.members.reduce((n, m) => n + m!.member.status().intake.repeats, 0), repeats + 1, 'the TransID acknowledged before the fail-over is known to the new master');
    assert.equal(stack.bridges.tally.count('createConference', '72000001'), 1);
    const verdict = verify(load, stack.bridges.tally, stack.sims[0]!);
    assert.deepEqual(verdict.lost, [], 'nothing acknowledged is lost');
    assert.deepEqual(verdict.doubled, []);
    assert.equal(verdict.missingResponses, 0);
    assert.equal(verdict.responsesUnderTwoTransIds, 0);
    assert.deepEqual(verdict.unasked.filter((c) => c.key !== '72000001'), [], 'nothing reached a bridge that WebEx did not send');
  } finally {
    await stack.close();
  }
});
