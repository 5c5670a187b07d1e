/**
 * Call records of a cluster: the buffer is in Redis (real redis-server), the files are each
 * owner's (real CallRecordWriter, fsynced). A leg's record is written once even when the change
 * that ended it is applied again by the next owner after a take-over, even when an instance
 * dies between writing its file and trimming the buffer, and a former owner buffers nothing.
 * End to end: a caller hangs up on a cluster member's bridge and the record lands in that
 * owner's file, once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { CallRecordWriter } from '../../src/adaptor/cdr/call-record-writer.js';
import type { CallRecord } from '../../src/adaptor/cdr/call-record.js';
import { callRecordKeys, RedisCallRecords } from '../../src/adaptor/cdr/redis-call-records.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { createConference } from '../e2e/support.js';
import { waitFor } from '../ha/support.js';
import { startRedis, type RedisServer } from '../ha/redis-server.js';
import { silentLogger, testKeyPair } from '../shell/support.js';
import { ownerOf, startOpsCluster, type OpsCluster } from './cluster-support.js';
import { promtoolCheck, sample } from './metrics-support.js';
import { portPath } from './console-support.js';

function record(id: string, end = '2026-11-22T10:00:00.000Z'): CallRecord {
  return {
    recordId: id, confKey: '123456', ExtConfID: 'EXT-1', ExtCallID: 'CALL-1', bridge: 'bridge-1', port: '1/1', direction: 'call-in',
    callerNumber: '*******0111', dialledNumber: '*******0100', start: '2026-11-22T09:00:00.000Z', answer: '2026-11-22T09:00:01.000Z',
    end, durationSec: 3599, endReason: 'Hangup',
  };
}

async function linesIn(dir: string): Promise<CallRecord[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.jsonl'));
  const texts = await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CallRecord));
}

describe('call record buffer in Redis', () => {
  let redis: RedisServer;
  let client: Redis;
  let dir: string;
  const open: { close(): Promise<void> }[] = [];

  const instance = async (id: string, group: string, writer?: Pick<CallRecordWriter, 'append' | 'digitsKept'>) => {
    const files = new CallRecordWriter({ dir: path.join(dir, group, id), format: 'jsonl', keepDays: 3, digitsKept: 4, logger: silentLogger });
    await files.open();
    open.push(files);
    const buffer = new RedisCallRecords({ redis: client, group, instanceId: id, writer: writer ?? files, logger: silentLogger, drainEveryMs: 60_000 });
    open.push(buffer);
    return { files, buffer, dir: files.dir };
  };

  before(async () => {
    redis = await startRedis();
    client = redis.client();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-cdr-cluster-'));
  });
  after(async () => {
    for (const o of open.reverse()) await o.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a leg recorded again by the next owner (the change applied twice across a take-over) is written once, by the first', async () => {
    const a = await instance('adaptor-0', 'repeat');
    const b = await instance('adaptor-1', 'repeat');
    assert.equal(await a.buffer.append([record('conf-1/leg-1'), record('conf-1/leg-2')]), 2);
    await a.buffer.settled();
    assert.equal(await b.buffer.append([record('conf-1/leg-1')]), 0, 'the repeat is dropped in Redis');
    b.buffer.drain();
    await b.buffer.settled();
    assert.deepEqual((await linesIn(a.dir)).map((r) => r.recordId).sort(), ['conf-1/leg-1', 'conf-1/leg-2']);
    assert.deepEqual(await linesIn(b.dir), []);
    const keys = callRecordKeys('repeat', 'adaptor-0');
    assert.equal(await client.llen(keys.pending), 0);
    assert.equal(await client.llen(keys.inFlight), 0);
  });

  test('an instance that dies between its file and the buffer trim writes nothing twice when it starts again', async () => {
    let crash = true;
    const real = new CallRecordWriter({ dir: path.join(dir, 'crash', 'adaptor-0'), format: 'jsonl', keepDays: 3, digitsKept: 4, logger: silentLogger });
    await real.open();
    open.push(real);
    const dying = { digitsKept: 4, append: async (records: readonly CallRecord[]) => {
      await real.append(records);
      if (crash) throw new Error('the process died here, after the fsync, before the trim');
    } };
    const first = await instance('adaptor-0', 'crash', dying);
    await first.buffer.append([record('conf-2/leg-1')]);
    await first.buffer.settled();
    const keys = callRecordKeys('crash', 'adaptor-0');
    assert.equal(await client.llen(keys.inFlight), 1, 'the batch stays in flight under this instance');
    await first.buffer.close();

    // The same instance id starts again, with its files as the crash left them.
    crash = false;
    const files = new CallRecordWriter({ dir: real.dir, format: 'jsonl', keepDays: 3, digitsKept: 4, logger: silentLogger });
    await files.open();
    open.push(files);
    const again = new RedisCallRecords({ redis: client, group: 'crash', instanceId: 'adaptor-0', writer: files, logger: silentLogger, drainEveryMs: 60_000 });
    open.push(again);
    again.start(() => true);
    await again.settled();
    assert.equal(await client.llen(keys.inFlight), 0);
    await real.close();
    assert.deepEqual((await linesIn(real.dir)).map((r) => r.recordId), ['conf-2/leg-1']);
  });

  test('with waitReplicas, an append resolves only once the replicas have it (here none: it fails and says so)', async () => {
    const files = new CallRecordWriter({ dir: path.join(dir, 'replicas', 'adaptor-0'), format: 'jsonl', keepDays: 3, digitsKept: 4, logger: silentLogger });
    await files.open();
    open.push(files);
    const buffer = new RedisCallRecords({
      redis: client, group: 'replicas', instanceId: 'adaptor-0', writer: files, logger: silentLogger, drainEveryMs: 60_000, waitReplicas: { replicas: 1, timeoutMs: 50 },
    });
    open.push(buffer);
    await assert.rejects(buffer.append([record('conf-4/leg-1')]), /only 0 of 1 Redis replicas acknowledged/);
  });

  test('an owner that lost its lease buffers nothing', async () => {
    const a = await instance('adaptor-0', 'fenced');
    await assert.rejects(a.buffer.sinkFor(() => false).append([record('conf-3/leg-1')]), /no longer holds the bridge lease/);
    assert.equal(await client.llen(callRecordKeys('fenced', 'adaptor-0').pending), 0);
    await a.buffer.sinkFor(() => true).append([record('conf-3/leg-1')]);
    await a.buffer.settled();
    assert.deepEqual((await linesIn(a.dir)).map((r) => r.recordId), ['conf-3/leg-1']);
  });
});

describe('call records of a cluster member, end to end', () => {
  let stack: OpsCluster;
  let sim: WebexSim | undefined;

  before(async () => {
    stack = await startOpsCluster({ members: 2, bridges: 1, extra: () => ({ deepCheck: { enabled: false } }) });
  });
  after(async () => {
    await sim?.close();
    await stack?.close();
  });

  test('a caller who hangs up is recorded once, in the files of the bridge\'s owner', async () => {
    await waitFor(() => ownerOf(stack, 'bridge-1') !== undefined, 10_000, 'bridge-1 owned');
    const owner = ownerOf(stack, 'bridge-1')!;
    const other = stack.members.find((m) => m !== owner)!;
    const keyPair = await testKeyPair();
    // Posted to the instance that does not own the bridge: it hands the command over.
    sim = new WebexSim({ adaptorUrl: other.webexUrl, adaptorCa: keyPair.cert, keyPair });
    await sim.start();
    await createConference(sim, 'CDR-CLUSTER-1', '556677');
    const emulator = stack.bridges.clients[0]!;
    const port = await emulator.dialIn('556677', '14085550199');
    const enter = await sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === 'CDR-CLUSTER-1');
    const named = (await enter.answered)?.result === 0 ? enter.answeredExtCallID : undefined;
    assert.ok(named, 'the dial-in caller was named');
    const left = await emulator.call('DELETE', `/ports/${portPath(port)}`);
    assert.ok(left.status < 300, `hang-up refused: ${left.status}`);
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === named && m.Status === 1);

    const ownerDir = path.join(stack.dirs[stack.members.indexOf(owner)]!, 'call-records');
    const otherDir = path.join(stack.dirs[stack.members.indexOf(other)]!, 'call-records');
    await waitFor(async () => (await linesIn(ownerDir)).length > 0, 10_000, 'the record in the owner\'s files');
    const records = await linesIn(ownerDir);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.ExtConfID, 'CDR-CLUSTER-1');
    assert.equal(records[0]!.bridge, 'bridge-1');
    assert.equal(records[0]!.endReason, 'Hangup');
    assert.doesNotMatch(JSON.stringify(records[0]), /14085550199/, 'the number is masked');
    assert.deepEqual(await linesIn(otherDir), []);
  });

  test('the owner\'s /metrics carries the engine series of its bridge, next to the cluster\'s, and promtool accepts it', async () => {
    // On a loaded machine a 1.5 s lease may change hands, leaving a moment with no engine: scrape
    // whichever member owns the bridge once its engine runs.
    let owner = ownerOf(stack, 'bridge-1');
    let text = '';
    await waitFor(async () => {
      owner = ownerOf(stack, 'bridge-1');
      text = owner ? await (await fetch(`${owner.adminUrl}/metrics`)).text() : '';
      return sample(text, 'tsp_bridge_up{bridge="bridge-1"') === 1;
    }, 10_000, 'the owner\'s engine running');
    assert.ok(owner);
    const { output } = await promtoolCheck(text);
    const complaints = output.split('\n').filter((l) => l.trim() !== '');
    assert.deepEqual(complaints, []);
    // Counted by the engine that ran it: the owner's, unless the lease moved since.
    const scrapes = await Promise.all(stack.members.map(async (m) => (m ? (await fetch(`${m.adminUrl}/metrics`)).text() : '')));
    const creates = scrapes.map((t) => sample(t, 'tsp_w2a_commands_total{type="W2A_CreateConference",result="0"') ?? 0);
    assert.equal(creates.reduce((a, b) => a + b, 0), 1);
    assert.equal(sample(text, 'tsp_conferences{state="running"'), 1);
    assert.match(text, /^tsp_cluster_bridge_role\{bridge="bridge-1",role="owner"\} 1$/m);
    assert.match(text, /^# TYPE tsp_webex_refusals_total counter$/m);
    const other = stack.members.find((m) => m !== owner)!;
    const idle = await (await fetch(`${other.adminUrl}/metrics`)).text();
    assert.equal(sample(idle, 'tsp_conferences{state="running"'), 0, 'a standby counts no conference');
  });
});
