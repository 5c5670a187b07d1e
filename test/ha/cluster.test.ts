/**
 * Two and three adaptor instances on one Redis, in front of two bridges: each bridge has its
 * own owner (an instance may own one while another owns the other), any instance takes WebEx
 * traffic and routes each command to its bridge's owner, a retry on the other instance is
 * recognised, a crashed owner's bridge is taken over by the least-loaded live instance, and
 * Redis going away means Confirmation 7 until it is back. Every confirmed command of a scripted
 * load of meetings is carried out exactly once on its bridge.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { w2a } from '../e2e/support.js';
import { MeetingLoad, verify } from './meetings.js';
import { startRedis } from './redis-server.js';
import { BRIDGE_IDS, owners, startCluster, waitFor, waitForOwners, type ClusterStack } from './support.js';

const MEETINGS = 6;

/** Meetings from every instance URL, checked exactly once against the bridges. */
async function runMeetings(stack: ClusterStack, first: number): Promise<MeetingLoad> {
  const load = new MeetingLoad(stack.sims[0]!, () => stack.sims.filter((_, i) => stack.members[i] !== undefined));
  const fromCommand = stack.bridges.tally.commands.length;
  await Promise.all(Array.from({ length: MEETINGS }, (_, i) => load.meeting(first + i)));
  const verdict = verify(load, stack.bridges.tally, stack.sims[0]!, fromCommand);
  assert.equal(verdict.commandsConfirmed, MEETINGS * 5, `every command confirmed (${load.unconfirmed.length} were not)`);
  assert.deepEqual(load.confirmed.filter((c) => c.result !== 0).map((c) => `${c.type} ${c.key}: ${c.result}`), []);
  assert.deepEqual(verdict.lost, []);
  assert.deepEqual(verdict.doubled, []);
  assert.equal(verdict.missingResponses, 0);
  assert.equal(verdict.responsesUnderTwoTransIds, 0);
  assert.equal(verdict.notificationsUnderTwoTransIds, 0);
  assert.deepEqual(verdict.unasked, [], 'nothing reached a bridge that WebEx did not ask for');
  return load;
}

/** Resolves once both bridges are owned, by two different instances (the first one up takes both, then hands one over). */
function waitForSpread(stack: ClusterStack): Promise<void> {
  return waitFor(() => {
    const o = owners(stack);
    return o.get('bridge-1') !== undefined && o.get('bridge-2') !== undefined && o.get('bridge-1') !== o.get('bridge-2');
  }, 15_000, 'one bridge each on two instances');
}

/** A hang is a failure, not a stuck suite. */
const LIMIT = { timeout: 60_000 };

describe('two instances, two bridges', LIMIT, () => {
  let stack: ClusterStack;
  before(async () => { stack = await startCluster(2, 'two'); });
  after(async () => { await stack?.close(); });

  test('each bridge gets one owner and the instances share them out; /readyz and metrics show each bridge', async () => {
    // The first instance up takes both; once the second is live it is handed one (a rebalance).
    await waitForSpread(stack);
    for (const m of stack.members) {
      const ready = await fetch(`${m!.adminUrl}/readyz`);
      assert.equal(ready.status, 200, 'every instance takes WebEx traffic');
      // A standby learns the holder's lease value at its next tick.
      await waitFor(async () => {
        const body = await (await fetch(`${m!.adminUrl}/readyz`)).json() as { role: string; leases: Record<string, { role: string; lease?: string }> };
        const leases = Object.values(body.leases);
        return body.role === 'owner' && leases.map((b) => b.role).sort().join() === 'owner,standby' && leases.every((b) => /^\d+:adaptor-\d$/.test(b.lease ?? ''));
      }, 5_000, 'each bridge\'s role and its owner\'s lease on /readyz');
      await waitFor(async () => ((await (await fetch(`${m!.adminUrl}/cluster`)).json()) as { peers: unknown[] }).peers.length === 2);
    }
    const metrics = await (await fetch(`${stack.members[0]!.adminUrl}/metrics`)).text();
    assert.match(metrics, /tsp_cluster_bridge_role\{bridge="bridge-1",role="(owner|standby)"\} 1/);
    assert.match(metrics, /tsp_cluster_fencing_refusals_total\{bridge="bridge-2"\} 0/);
    assert.match(metrics, /tsp_cluster_take_overs_total\{bridge="bridge-1"\} [01]/);
  });

  test('meetings posted to both URLs land on both bridges and each command is carried out once, by its bridge\'s owner', async () => {
    await runMeetings(stack, 1);
    const used = new Set(Array.from({ length: MEETINGS }, (_, i) => stack.bridges.tally.bridgesOf(String(60_000_001 + i))).flat());
    assert.deepEqual([...used].sort(), [...BRIDGE_IDS], 'new conferences are spread over the bridges');
  });

  test('a retry of the same TransID on the other instance is recognised, not acted on again', async () => {
    const [receiver, other] = stack.sims;
    const create = w2a(receiver!).create('retry-conf', '71000001');
    const first = await receiver!.send([create]);
    assert.equal(first.result, 0);
    assert.equal((await other!.send([create], { transId: first.transId })).result, 0);
    const rsp = await receiver!.next('A2W_RspCreateConference', (m) => m.MsgID === create.MsgID);
    assert.equal(rsp.message.Result, 0);
    assert.equal(stack.members.reduce((n, m) => n + m!.member.status().intake.repeats, 0), 1);
    assert.equal(stack.bridges.tally.count('createConference', '71000001'), 1);
  });

  test('when a bridge\'s owner dies without handing over, the other instance takes that bridge over and carries on', async () => {
    const before = await waitForOwners(stack);
    const victim = before.get('bridge-1')!;
    const index = stack.members.indexOf(victim);
    const lease = (m: typeof victim, bridge: string): string => m.member.status().bridges.find((b) => b.bridge === bridge)!.lease!;
    const tokenBefore = Number(lease(victim, 'bridge-1').split(':')[0]);
    await victim.member.close(); // a crash: the leases are not released, they have to expire
    stack.members[index] = undefined;
    const after = await waitForOwners(stack);
    const survivor = after.get('bridge-1')!;
    assert.notEqual(survivor, victim);
    assert.ok(Number(lease(survivor, 'bridge-1').split(':')[0]) > tokenBefore, 'the bridge\'s fencing token grew');
    await runMeetings(stack, 101);
    await victim.stop('crashed member cleaned up');
  });

  test('Redis unreachable: Confirmation 7, then 0 again once Redis is back, and every bridge owned again', async () => {
    const live = stack.members.findIndex((m) => m !== undefined);
    const sim = stack.sims[live]!;
    const { port, dir } = stack.redis;
    await stack.redis.stop();
    assert.equal((await sim.send([w2a(stack.sims[0]!).create('down-1', '71000002')])).result, 7);
    stack.redis = await startRedis([], { port, dir });
    let result;
    await waitFor(async () => (result = (await sim.send([w2a(stack.sims[0]!).create('down-2', '71000003')])).result) === 0, 10_000, 'Confirmation 0 again');
    assert.equal(result, 0);
    await waitForOwners(stack);
  });
});

describe('three instances, two bridges', LIMIT, () => {
  let stack: ClusterStack;
  before(async () => { stack = await startCluster(3, 'three'); });
  after(async () => { await stack?.close(); });

  test('a crashed owner\'s bridge goes to the instance that owned none; meetings through all three URLs are carried out once', async () => {
    await waitForSpread(stack);
    await runMeetings(stack, 201);
    const before = owners(stack);
    const victim = before.get('bridge-1')!;
    const idle = stack.members.find((m) => m !== victim && m !== before.get('bridge-2'))!;
    const index = stack.members.indexOf(victim);
    await victim.member.close();
    stack.members[index] = undefined;
    await waitFor(() => owners(stack).get('bridge-1') !== undefined, 10_000, 'bridge-1 taken over');
    assert.equal(owners(stack).get('bridge-1'), idle, 'the instance below its share takes it, not the owner of bridge-2');
    assert.equal(owners(stack).get('bridge-2'), before.get('bridge-2'), 'bridge-2 keeps its owner throughout');
    await runMeetings(stack, 301);
    await victim.stop('crashed member cleaned up');
  });
});
