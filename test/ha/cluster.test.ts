/**
 * Two adaptor instances on one Redis and one bridge: either takes WebEx traffic, only the
 * lease holder touches the bridge, a retry on the other instance is recognised, a crashed
 * owner's bridge is taken over, and Redis going away means Confirmation 7 until it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startRedis } from './redis-server.js';
import { startCluster, waitForOwner, type ClusterStack } from './support.js';
import { w2a } from '../e2e/support.js';

/** Polls `check` until true (bounded). */
async function waitFor(check: () => Promise<boolean>, limitMs = 5_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('two instances on Redis', () => {
  let stack: ClusterStack;
  before(async () => { stack = await startCluster(2); });
  after(async () => { await stack?.close(); });

  test('exactly one instance owns the bridges and both see each other', async () => {
    const owner = await waitForOwner(stack);
    const roles = stack.members.map((m) => m!.member.status().role).sort();
    assert.deepEqual(roles, ['owner', 'standby']);
    assert.match(owner.member.status().lease ?? '', /^\d+:adaptor-\d$/);
    for (const m of stack.members) {
      const ready = await fetch(`${m!.adminUrl}/readyz`);
      assert.equal(ready.status, 200, 'owner and standby both take WebEx traffic');
      const cluster = await (await fetch(`${m!.adminUrl}/cluster`)).json() as { role: string; peers: { id: string }[] };
      assert.equal(cluster.role, m!.member.status().role);
      await waitFor(async () => ((await (await fetch(`${m!.adminUrl}/cluster`)).json()) as { peers: unknown[] }).peers.length === 2);
    }
    const metrics = await (await fetch(`${owner.adminUrl}/metrics`)).text();
    assert.match(metrics, /tsp_cluster_role\{role="owner"\} 1/);
    assert.match(metrics, /tsp_cluster_fencing_refusals_total\{bridge="bridge-1"\} 0/);
  });

  test('a command posted to the standby is handed to the owner, carried out once, and a retry on the owner is recognised', async () => {
    const owner = await waitForOwner(stack);
    const standbyIndex = stack.members.findIndex((m) => m !== owner);
    const [receiver] = stack.sims;
    const sender = stack.sims[standbyIndex]!;
    const create = w2a(receiver!).create('ha-conf-1', '71000001');
    const first = await sender.send([create]);
    assert.equal(first.result, 0);
    const rsp = await receiver!.next('A2W_RspCreateConference', (m) => m.ExtConfID === 'ha-conf-1');
    assert.equal(rsp.message.Result, 0);
    const ownerSim = stack.sims[stack.members.indexOf(owner)]!;
    const again = await ownerSim.send([create], { transId: first.transId });
    assert.equal(again.result, 0);
    assert.equal(owner.member.status().intake.repeats + stack.members[standbyIndex]!.member.status().intake.repeats, 1);
    const bridge = await stack.emulator.state();
    assert.equal(bridge.conferences.filter((c) => c.options.confKey === '71000001').length, 1);
  });

  test('when the owner dies without handing over, the other takes the lease, reconnects the bridge and carries on', async () => {
    const owner = await waitForOwner(stack);
    const index = stack.members.indexOf(owner);
    const before = owner.member.status().lease!;
    await owner.member.close(); // a crash: the lease is not released, it has to expire
    const next = await waitForOwner(stack, owner);
    const after = next.member.status().lease!;
    assert.ok(Number(after.split(':')[0]) > Number(before.split(':')[0]), 'the fencing token grew');
    assert.ok(next.member.status().lastTakeOverMs !== undefined);
    const sim = stack.sims[stack.members.indexOf(next)]!;
    const end = w2a(stack.sims[0]!).end('ha-conf-1');
    assert.equal((await sim.send([end])).result, 0);
    const rsp = await stack.sims[0]!.next('A2W_RspEndConference', (m) => m.MsgID === end.MsgID);
    assert.equal(rsp.message.Result, 0);
    const bridge = await stack.emulator.state();
    assert.equal(bridge.conferences.filter((c) => c.options.confKey === '71000001').length, 0);
    await stack.members[index]!.stop('crashed member cleaned up');
    stack.members[index] = undefined;
  });

  test('Redis unreachable: Confirmation 7, and Confirmation 0 again once Redis is back', async () => {
    const live = stack.members.findIndex((m) => m !== undefined);
    const sim = stack.sims[live]!;
    const { port, dir } = stack.redis;
    await stack.redis.stop();
    const refused = await sim.send([w2a(stack.sims[0]!).create('ha-conf-2', '71000002')]);
    assert.equal(refused.result, 7);
    stack.redis = await startRedis([], { port, dir });
    const deadline = Date.now() + 10_000;
    let result;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = (await sim.send([w2a(stack.sims[0]!).create('ha-conf-3', '71000003')])).result;
    } while (result !== 0 && Date.now() < deadline);
    assert.equal(result, 0);
  });
});
