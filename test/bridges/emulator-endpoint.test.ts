import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeModel } from '../../src/bridges/emulator/model.js';
import { FakeClock } from '../../src/bridges/emulator/clock.js';
import { BridgeEndpoint, REORDER_HOLD_MS, type Heartbeat, type SequencedEvent } from '../../src/bridges/emulator/endpoint.js';
import { isBridgeError } from '../../src/bridges/errors.js';

const HEARTBEAT_MS = 1_000;
const OPTIONS = { confKey: '4321', entryTone: 'none', silentJoin: false, muteOnEntry: false } as const;

describe('emulator endpoint', () => {
  let clock: FakeClock;
  let model: BridgeModel;
  let endpoint: BridgeEndpoint;
  let seen: SequencedEvent[];

  beforeEach(() => {
    clock = new FakeClock();
    model = new BridgeModel({ clock });
    endpoint = new BridgeEndpoint(model, { clock, heartbeatIntervalMs: HEARTBEAT_MS, username: 'u', password: 'p' });
    endpoint.start();
    seen = [];
    endpoint.subscribe((e) => seen.push(e));
  });

  afterEach(() => {
    endpoint.close();
    model.close();
  });

  const create = (): Promise<{ bridgeConfId: string }> => endpoint.execute({ op: 'createConference', options: { ...OPTIONS } });
  const seqs = (): number[] => seen.map((e) => e.seq);

  it('checks the configured login', () => {
    assert.equal(endpoint.checkLogin('u', 'p'), true);
    assert.equal(endpoint.checkLogin('u', 'x'), false);
    assert.equal(endpoint.model, 'voyant-emulator');
  });

  it('beats at the interval with port usage, and stays silent under the fault', () => {
    const beats: Heartbeat[] = [];
    endpoint.onHeartbeat((hb) => beats.push(hb));
    clock.advance(3 * HEARTBEAT_MS);
    assert.equal(beats.length, 3);
    assert.deepEqual(beats[0]?.ports, { total: 1344, inUse: 0, reserved: 0 });
    assert.equal(beats[2]?.at, clock.now());
    endpoint.setFaults({ silentHeartbeats: true });
    clock.advance(5 * HEARTBEAT_MS);
    assert.equal(beats.length, 3);
    endpoint.clearFaults();
    clock.advance(HEARTBEAT_MS);
    assert.equal(beats.length, 4);
  });

  it('stops beating and refuses commands once closed, even when closed from a heartbeat', async () => {
    let beats = 0;
    endpoint.onHeartbeat(() => {
      beats++;
      endpoint.close();
    });
    clock.advance(5 * HEARTBEAT_MS);
    assert.equal(beats, 1);
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(create(), (err) => isBridgeError(err, 'BRIDGE_ERR_REFUSED'));
  });

  it('passes commands and events through when no fault is set', async () => {
    const { bridgeConfId } = await create();
    assert.match(bridgeConfId, /^conf-/);
    assert.deepEqual(seqs(), [1]);
  });

  it('delays commands by the set time', async () => {
    endpoint.setFaults({ commandDelayMs: 500 });
    let settled = false;
    const reply = create().then((r) => {
      settled = true;
      return r;
    });
    await Promise.resolve();
    clock.advance(499);
    await Promise.resolve();
    assert.equal(settled, false);
    assert.equal(model.eventSeq, 0, 'the bridge has not run it yet');
    clock.advance(1);
    assert.match((await reply).bridgeConfId, /^conf-/);
  });

  it('refuses commands under the fault, and runs them again once cleared', async () => {
    endpoint.setFaults({ refuseCommands: true });
    await assert.rejects(create(), (err) => isBridgeError(err, 'BRIDGE_ERR_REFUSED'));
    assert.equal(model.eventSeq, 0);
    endpoint.setFaults({ refuseCommands: false });
    await create();
  });

  it('fails commands still waiting out a delay when it closes, leaving no timer behind', async () => {
    endpoint.setFaults({ commandDelayMs: 10_000, reorderEvents: true });
    const pending = create();
    endpoint.close();
    await assert.rejects(pending, (err) => isBridgeError(err, 'BRIDGE_ERR_REFUSED'));
    assert.equal(clock.pendingTimers, 0);
  });

  it('duplicates every event under the fault', async () => {
    endpoint.setFaults({ duplicateEvents: true });
    await create();
    model.callIn({ dialledNumber: '1,408,5550100', digits: '4321#' });
    assert.deepEqual(seqs(), [1, 1, 2, 2, 3, 3]);
    assert.deepEqual(endpoint.counters, { eventsEmitted: 3, eventsDelivered: 6, heartbeats: 0 });
  });

  it('swaps adjacent events under the fault, releasing a lone one after a short hold', async () => {
    endpoint.setFaults({ reorderEvents: true });
    await create();
    model.callIn({ dialledNumber: '1,408,5550100', digits: '4321#' });
    model.callIn({ dialledNumber: '1,408,5550100', digits: '4321#' });
    assert.deepEqual(seqs(), [2, 1, 4, 3]);
    clock.advance(REORDER_HOLD_MS);
    assert.deepEqual(seqs(), [2, 1, 4, 3, 5]);
  });

  it('releases a held event at once when reordering is cleared', async () => {
    endpoint.setFaults({ reorderEvents: true });
    await create();
    assert.deepEqual(seqs(), []);
    endpoint.clearFaults();
    assert.deepEqual(seqs(), [1]);
  });

  it('tells servers to drop their connections, until they unsubscribe', () => {
    let drops = 0;
    const off = endpoint.onDrop(() => drops++);
    endpoint.dropConnections();
    off();
    endpoint.dropConnections();
    assert.equal(drops, 1);
  });

  it('restarts the bridge keeping or losing its state, dropping connections both times', async () => {
    let drops = 0;
    endpoint.onDrop(() => drops++);
    await create();
    endpoint.restart(true);
    assert.equal(model.snapshot().conferences.length, 1);
    endpoint.restart(false);
    assert.equal(model.snapshot().conferences.length, 0);
    assert.equal(drops, 2);
  });

  it('a throwing listener does not stop the others', async () => {
    endpoint.subscribe(() => {
      throw new Error('listener bug');
    });
    const after: number[] = [];
    endpoint.subscribe((e) => after.push(e.seq));
    await create();
    assert.deepEqual(after, [1]);
  });
});
