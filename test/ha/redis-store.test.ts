/**
 * The Redis store against a real redis-server: the Store contract (as the SQLite store keeps
 * it), global TransID de-duplication across two connections (two instances), and fencing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConferenceState } from '../../src/adaptor/conference/state.js';
import { FencedError, RedisStore } from '../../src/adaptor/store/redis-store.js';
import { TransactionLog } from '../../src/adaptor/store/redis/transaction-log.js';
import type { OutboxInput } from '../../src/adaptor/store/store.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import { startRedis, type RedisServer } from './redis-server.js';

let redis: RedisServer;
let groupSeq = 0;
before(async () => { redis = await startRedis(); });
after(async () => { await redis.stop(); });

const msg = (ExtConfID: string): W2AMessage => ({ type: 'KeepAlive', ExtConfID } as unknown as W2AMessage);
const conf = (confId: string, endedAt?: number): ConferenceState =>
  ({ confId, extConfID: confId, callers: [], ...(endedAt === undefined ? {} : { endedAt, status: 'ended' }) } as unknown as ConferenceState);
const out = (n: number): OutboxInput => ({ orderKey: 'k', url: 'https://wbx.example/a2w', message: { type: 'Status', ExtConfID: 'c' } as never, transId: `a2w-${n}`, createdAt: n });

function store(fence?: () => string): RedisStore {
  return new RedisStore(redis.client(), { group: `g${++groupSeq}`, bridgeId: 'bridge-1', ...(fence ? { fence } : {}) });
}

describe('Redis store', () => {
  it('records a TransID once: a retry on another instance gets the first result back', async () => {
    const a = store();
    const b = new RedisStore(redis.client(), { group: `g${groupSeq}`, bridgeId: 'bridge-1' });
    const first = await a.recordTransaction({ transId: 't1', messages: [msg('c1'), msg('c2')], receivedAt: 1, result: 0 });
    assert.equal(first.kind, 'recorded');
    assert.deepEqual(first.kind === 'recorded' && first.commands.map((c) => c.message.ExtConfID), ['c1', 'c2']);
    assert.deepEqual(await b.recordTransaction({ transId: 't1', messages: [msg('c1')], receivedAt: 2, result: 0 }), { kind: 'repeat', result: 0 });
    assert.deepEqual((await b.unfinishedCommands()).map((c) => [c.message.ExtConfID, c.state]), [['c1', 'accepted'], ['c2', 'accepted']]);
  });

  it('journals start and completion with the state change and the outbox, all at once', async () => {
    const s = store();
    const rec = await s.recordTransaction({ transId: 't', messages: [msg('c1')], receivedAt: 1, result: 0 });
    assert.ok(rec.kind === 'recorded');
    const id = rec.commands[0]!.id;
    await s.startCommand(id, { conferences: [conf('c1')] });
    assert.equal((await s.unfinishedCommands())[0]!.state, 'started');
    const records = await s.completeCommand(id, { conferences: [conf('c1', 5)], outbox: [out(1), out(2)] });
    assert.deepEqual(records.map((r) => r.transId), ['a2w-1', 'a2w-2']);
    assert.deepEqual(await s.unfinishedCommands(), []);
    assert.deepEqual((await s.loadConferences()).map((c) => c.endedAt), [5]);
    assert.deepEqual((await s.pendingOutbox()).map((r) => r.id), records.map((r) => r.id));
  });

  it('keeps outbox retries, deliveries and dead letters', async () => {
    const s = store();
    const [r1, r2, r3] = await s.applyChange({ outbox: [out(1), out(2), out(3)] });
    await s.outboxRetryLater([r1!.id], 2, 99);
    await s.outboxDelivered([r2!.id]);
    await s.outboxDeadLetter([r3!.id], 'HTTP 400', 7);
    const pending = await s.pendingOutbox();
    assert.deepEqual(pending.map((r) => [r.id, r.attempts, r.nextAttemptAt]), [[r1!.id, 2, 99]]);
    assert.deepEqual((await s.deadLetters()).map((d) => [d.record.id, d.reason, d.at]), [[r3!.id, 'HTTP 400', 7]]);
  });

  it('keeps a batch (messages sharing one TransID) for the instance that takes over, and settles it as one', async () => {
    const lease = { value: 'lease-1' };
    const owner = store(() => lease.value);
    const client = redis.client();
    await client.set(owner.keys.lease, 'lease-1');
    const [r1, r2, r3, r4] = await owner.applyChange({ outbox: [out(1), out(2), out(3), out(4)] });
    await owner.outboxBatch([r2!, r3!].map((r) => ({ ...r, transId: r1!.transId })));
    await owner.outboxRetryLater([r1!.id, r2!.id, r3!.id], 1, 50);
    // The lease moves on: the old owner can no longer change a batch, the new one reads it whole.
    await client.set(owner.keys.lease, 'lease-2');
    await assert.rejects(owner.outboxBatch([{ ...r4!, transId: r1!.transId }]), FencedError);
    const successor = new RedisStore(redis.client(), { group: `g${groupSeq}`, bridgeId: 'bridge-1', fence: () => 'lease-2' });
    const pending = await successor.pendingOutbox();
    assert.deepEqual(pending.map((r) => [r.id, r.transId, r.attempts, r.nextAttemptAt, r.message, r.createdAt, r.url, r.orderKey]), [
      [r1!.id, 'a2w-1', 1, 50, r1!.message, 1, r1!.url, 'k'], [r2!.id, 'a2w-1', 1, 50, r2!.message, 2, r2!.url, 'k'],
      [r3!.id, 'a2w-1', 1, 50, r3!.message, 3, r3!.url, 'k'], [r4!.id, 'a2w-4', 0, 0, r4!.message, 4, r4!.url, 'k'],
    ]);
    await successor.outboxDeadLetter([r1!.id, r2!.id, r3!.id], 'Confirmation Result 2', 9);
    assert.deepEqual((await successor.deadLetters()).map((d) => [d.record.id, d.record.transId, d.reason]),
      [r1, r2, r3].map((r) => [r!.id, 'a2w-1', 'Confirmation Result 2']));
    await successor.outboxDelivered([r4!.id]);
    assert.deepEqual(await successor.pendingOutbox(), []);
  });

  it('forgets old TransIDs and long-ended conferences on compaction', async () => {
    const s = store();
    await s.recordTransaction({ transId: 'old', messages: [], receivedAt: 10, result: 0 });
    await s.recordTransaction({ transId: 'new', messages: [], receivedAt: 30, result: 0 });
    await s.applyChange({ conferences: [conf('ended', 10), conf('open')] });
    assert.equal(await s.compact(20, 20), 1);
    assert.equal((await s.recordTransaction({ transId: 'old', messages: [], receivedAt: 40, result: 0 })).kind, 'recorded');
    assert.equal((await s.recordTransaction({ transId: 'new', messages: [], receivedAt: 40, result: 0 })).kind, 'repeat');
    assert.deepEqual((await s.loadConferences()).map((c) => c.confId), ['open']);
  });

  it('refuses an owner write under a stale lease value and counts it', async () => {
    let mine = 'lease-1';
    const s = store(() => mine);
    const client = redis.client();
    await client.set(s.keys.lease, 'lease-1');
    await s.applyChange({ conferences: [conf('c1')] });
    await client.set(s.keys.lease, 'lease-2');
    await assert.rejects(s.applyChange({ conferences: [conf('c2')] }), FencedError);
    await assert.rejects(s.outboxDelivered([1]), FencedError);
    assert.equal(s.fencingRefusals, 2);
    assert.deepEqual((await s.loadConferences()).map((c) => c.confId), ['c1']);
    mine = 'lease-2';
    await s.applyChange({ conferences: [conf('c2')] });
    assert.equal((await s.loadConferences()).length, 2);
  });

  it('routes every command of a conference to the bridge its create went to, and fences each bridge on its own lease', async () => {
    const group = `g${++groupSeq}`;
    const client = redis.client();
    const log = new TransactionLog(client, { group });
    const [one, two] = ['bridge-1', 'bridge-2'].map((bridgeId) => new RedisStore(client, { group, bridgeId, fence: () => `lease-${bridgeId}` }));
    const create = (ExtConfID: string, ConfKey: string): W2AMessage => ({ type: 'W2A_CreateConference', ExtConfID, ConfKey } as unknown as W2AMessage);
    const first = await log.record({ transId: 't1', messages: [create('x1', 'k1')], receivedAt: 1, result: 0 }, () => 'bridge-2');
    assert.deepEqual(first.kind === 'recorded' && first.commands.map((c) => c.bridgeId), ['bridge-2']);
    // Later commands follow the route whatever is proposed: by ExtConfID, and a re-creation by ConfKey.
    const later = await log.record({ transId: 't2', messages: [msg('x1'), create('x2', 'k1'), msg('unknown')], receivedAt: 2, result: 0 }, () => 'bridge-1');
    assert.deepEqual(later.kind === 'recorded' && later.commands.map((c) => c.bridgeId), ['bridge-2', 'bridge-2', 'bridge-1']);
    assert.deepEqual((await two!.unfinishedCommands()).map((c) => c.message.ExtConfID), ['x1', 'x1', 'x2']);
    assert.deepEqual((await one!.unfinishedCommands()).map((c) => c.message.ExtConfID), ['unknown']);
    assert.equal((await log.record({ transId: 't1', messages: [msg('x1')], receivedAt: 3, result: 0 }, () => 'bridge-1')).kind, 'repeat', 'one TransID journal for all bridges');

    await client.set(one!.keys.lease, 'lease-bridge-1');
    await client.set(two!.keys.lease, 'lease-bridge-2');
    await one!.applyChange({ conferences: [conf('c1')] });
    await client.set(one!.keys.lease, 'moved-on');
    await assert.rejects(one!.applyChange({ conferences: [conf('c2')] }), FencedError);
    await two!.applyChange({ conferences: [conf('c3')] });
    assert.deepEqual((await two!.loadConferences()).map((c) => c.confId), ['c3'], 'bridge-2 keeps its own owner and its own conferences');
  });
});
