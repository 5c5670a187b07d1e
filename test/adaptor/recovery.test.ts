import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BridgeCommand } from '../../src/bridges/driver.js';
import { openSqliteStore, type SqliteStore } from '../../src/adaptor/store/sqlite-store.js';
import { FakeClock } from './support/fake-clock.js';
import { FakeDriver } from './support/fake-driver.js';
import { FakeWebex } from './support/fake-webex.js';
import { created, dialIn, startEngine, w2a, type Harness } from './support/harness.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
after(async () => {
  for (const s of stores) await s.close().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tsp-engine-'));
  dirs.push(dir);
  return dir;
}

async function open(dir: string): Promise<SqliteStore> {
  const store = await openSqliteStore(dir);
  stores.push(store);
  return store;
}

/** The bridge takes the command, then the adaptor dies before hearing the reply. */
function dieDuring(driver: FakeDriver, op: BridgeCommand['op']): Promise<void> {
  return new Promise((reached) => {
    const model = FakeDriver.reconnecting(driver);
    model.status = { state: 'up', since: 0 };
    driver.overrides.set(op, async (command) => {
      await model.execute(command);
      reached();
      return new Promise(() => {});
    });
  });
}

/** The adaptor's first run, on a new data directory and bridge. */
async function firstRun(webex?: FakeWebex) {
  const dir = await dataDir();
  const clock = new FakeClock();
  const bridge = new FakeDriver();
  const h = await startEngine({ store: await open(dir), drivers: [bridge], clock, ...(webex ? { webex } : {}) });
  return { dir, clock, bridge, h };
}

/** Starts the adaptor again on the same data directory and bridge, with a fresh WebEx log. */
async function restart(dir: string, bridge: FakeDriver, clock: FakeClock): Promise<Harness> {
  return startEngine({ store: await open(dir), drivers: [FakeDriver.reconnecting(bridge)], clock, webex: new FakeWebex() });
}

describe('restart recovery with the SQLite store', () => {
  it('a confirmed command not yet carried out runs once after a restart, and its response is sent once', async () => {
    const dir = await dataDir();
    const store = await open(dir);
    const create = w2a.create('conf-1', '123456');
    await store.recordTransaction({ transId: 'tx-1', messages: [create], receivedAt: 0, result: 0 });
    await store.close();
    const bridge = new FakeDriver();
    const clock = new FakeClock();
    const h = await restart(dir, bridge, clock);
    await h.settle();
    assert.equal(h.driver.ops('createConference').length, 1);
    assert.deepEqual(h.webex.of('A2W_RspCreateConference').map((m) => [m.MsgID, m.Result]), [[create.MsgID, 0]]);
    await h.engine.close();
    const again = await restart(dir, bridge, clock);
    await again.settle();
    assert.equal(again.driver.ops('createConference').length, 0, 'not carried out a second time');
    assert.equal(again.webex.posts.length, 0, 'its messages were delivered before; not sent again');
    assert.equal(await again.engine.accept({ transId: 'tx-1', messages: [create], receivedAt: 0 }), 0);
    await again.settle();
    assert.equal(again.driver.ops('createConference').length, 0, 'a TransID seen before a restart is still known');
  });

  it('a mute that reached the bridge before the crash is not sent again, and is answered once', async () => {
    const { dir, clock, bridge, h } = await firstRun();
    const bc = await created(h);
    await dialIn(h, bc, 'conf-1', 'call-1');
    const reached = dieDuring(bridge, 'mute');
    void h.engine.accept({ transId: 'tx-mute', messages: [w2a.mute('conf-1', 'call-1', true)], receivedAt: 0 });
    await reached;
    assert.equal(bridge.conferences.get(bc)!.callers[0]!.muted, true, 'the bridge carried it out');
    const h2 = await restart(dir, bridge, clock);
    await h2.settle();
    assert.equal(h2.driver.ops('mute').length, 0, 'the snapshot shows it took effect');
    assert.deepEqual(h2.webex.types(), ['A2W_RspMuteUser', 'A2W_NotifyUserChange']);
    assert.equal(h2.webex.of('A2W_RspMuteUser')[0]!.Result, 0);
    assert.equal(h2.engine.counters.commandsRecovered, 1);
  });

  it('a create whose reply was lost adopts the bridge conference instead of creating a second one', async () => {
    const { dir, clock, bridge, h } = await firstRun();
    const reached = dieDuring(bridge, 'createConference');
    void h.engine.accept({ transId: 'tx-create', messages: [w2a.create('conf-1', '123456')], receivedAt: 0 });
    await reached;
    const h2 = await restart(dir, bridge, clock);
    await h2.settle();
    assert.equal(h2.driver.ops('createConference').length, 0);
    assert.equal(h2.driver.ops('endConference').length, 0, 'not mistaken for an orphan');
    assert.equal(bridge.conferences.size, 1);
    assert.deepEqual(h2.webex.types(), ['A2W_RspCreateConference', 'A2W_NotifyConferenceChange', 'A2W_NotifyConferenceChange']);
    await h2.send(w2a.lock('conf-1', true));
    assert.equal(h2.webex.of('A2W_RspLockConference')[0]!.Result, 0, 'the conference works after recovery');
  });

  it('a dial-out that reached the bridge is not dialled twice; its outcome is still answered', async () => {
    const { dir, clock, bridge, h } = await firstRun();
    const bc = await created(h);
    const reached = dieDuring(bridge, 'dialOut');
    void h.engine.accept({ transId: 'tx-dial', messages: [w2a.callout('conf-1', 'call-9', '1,408,5550123')], receivedAt: 0 });
    await reached;
    const h2 = await restart(dir, bridge, clock);
    await h2.settle();
    assert.equal(h2.driver.ops('dialOut').length, 0);
    const dialOutId = bridge.conferences.get(bc)!.dialOuts[0]!.dialOutId;
    h2.driver.event({ type: 'dialOut', bridgeConfId: bc, dialOutId, state: 'no-answer' });
    await h2.settle();
    assert.deepEqual(h2.webex.of('A2W_RspCallout').map((m) => [m.ExtCallID, m.Result]), [['call-9', 41]]);
  });

  it('a command journalled but not sent before the crash is sent after it', async () => {
    const { dir, clock, bridge, h } = await firstRun();
    const bc = await created(h);
    // Journalled as started, but the bridge never got it.
    bridge.overrides.set('lockConference', () => new Promise(() => {}));
    void h.engine.accept({ transId: 'tx-lock', messages: [w2a.lock('conf-1', true)], receivedAt: 0 });
    for (let i = 0; i < 100 && bridge.ops('lockConference').length === 0; i++) await new Promise((r) => setImmediate(r));
    const h2 = await restart(dir, bridge, clock);
    await h2.settle();
    assert.equal(h2.driver.ops('lockConference').length, 1);
    assert.equal(bridge.conferences.get(bc)!.locked, true);
    assert.equal(h2.webex.of('A2W_RspLockConference')[0]!.Result, 0);
  });

  it('messages stored but undelivered at the crash are delivered after it with their TransIDs', async () => {
    const down = new FakeWebex();
    down.answer = () => ({ status: 503 });
    const { dir, clock, bridge, h } = await firstRun(down);
    await created(h);
    const transIds = down.posts.map((p) => p.transId);
    assert.equal(transIds.length, 1, 'the conference order holds the rest back');
    const h2 = await restart(dir, bridge, clock);
    clock.advance(1_000); // the back-off the first run set still holds
    await h2.settle();
    assert.deepEqual(h2.webex.types(), ['A2W_RspCreateConference', 'A2W_NotifyConferenceChange', 'A2W_NotifyConferenceChange']);
    assert.equal(h2.webex.posts[0]!.transId, transIds[0]);
  });
});

describe('keep-alives across a restart', () => {
  it('a keep-alive is not stored; after a restart each open conference has a full keep-alive period again', async () => {
    const timeout = { conference: { keepAliveTimeoutMs: 60_000 } };
    const dir = await dataDir();
    const clock = new FakeClock();
    const bridge = new FakeDriver();
    const h = await startEngine({ store: await open(dir), drivers: [bridge], clock, options: timeout });
    await created(h, 'conf-1', '111111');
    const storedBefore = (await h.store.loadConferences())[0]!.lastActivityAt;
    clock.advance(50_000);
    await h.send(w2a.keepAlive('conf-1'));
    assert.equal((await h.store.loadConferences())[0]!.lastActivityAt, storedBefore, 'the keep-alive changed nothing stored');
    await h.engine.close();
    // The stored activity is now 50 s old; the keep-alive after it was lost with the process.
    const h2 = await startEngine({ store: await open(dir), drivers: [FakeDriver.reconnecting(bridge)], clock, webex: new FakeWebex(), options: timeout });
    clock.advance(59_000);
    await h2.settle();
    assert.deepEqual(h2.webex.of('A2W_NotifyConferenceChange'), [], 'not ended within a period of the restart');
    // The sweep runs every half period: the one after the period's end ends it.
    clock.advance(31_000);
    await h2.settle();
    assert.deepEqual(h2.webex.of('A2W_NotifyConferenceChange').map((m) => [m.ExtConfID, m.Status]), [['conf-1', 3]]);
    await h2.engine.close();
  });
});

describe('SQLite store', () => {
  it('concurrent transactions share one write (group commit) and each gets its own outcome', async () => {
    const store = await open(await dataDir());
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      store.recordTransaction({ transId: `t${i % 40}`, messages: [w2a.keepAlive('c')], receivedAt: i, result: 0 })));
    assert.equal(results.filter((r) => r.kind === 'recorded').length, 40);
    assert.equal(results.filter((r) => r.kind === 'repeat').length, 10);
    assert.equal((await store.unfinishedCommands()).length, 40);
  });

  it('compaction forgets TransIDs past retention and ended conferences', async () => {
    const store = await open(await dataDir());
    await store.recordTransaction({ transId: 'old', messages: [], receivedAt: 1, result: 0 });
    await store.recordTransaction({ transId: 'new', messages: [], receivedAt: 100, result: 0 });
    assert.equal(await store.compact(50, 50), 1);
    assert.equal((await store.recordTransaction({ transId: 'old', messages: [], receivedAt: 200, result: 0 })).kind, 'recorded');
    assert.equal((await store.recordTransaction({ transId: 'new', messages: [], receivedAt: 200, result: 0 })).kind, 'repeat');
  });
});
