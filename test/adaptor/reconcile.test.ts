import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { created, dialIn, startEngine, w2a, type Harness } from './support/harness.js';

async function meeting(h: Harness): Promise<string> {
  const bc = await created(h);
  await dialIn(h, bc, 'conf-1', 'call-1');
  h.webex.clear();
  return bc;
}

describe('keeping the bridge and WebEx in step', () => {
  it('callers who joined and left while the link was down are reported at resync', async () => {
    const h = await startEngine();
    const bc = await meeting(h);
    h.driver.quietly((confs) => {
      const conf = confs.get(bc)!;
      conf.callers = [{ port: '2/1', legId: 'leg-new', muted: false, mutedBy: 'bridge', talking: false, subConfId: 0, callerId: '1,650,5550000' }];
    });
    h.driver.reconnect();
    await h.settle();
    const left = h.webex.of('A2W_NotifyUserChange')[0]!;
    assert.deepEqual([left.ExtCallID, left.Status, left.Reason], ['call-1', 1, 'Dropped']);
    const enter = h.webex.of('A2W_NotifyUserEnter')[0]!;
    assert.deepEqual([enter.ExtCallID, enter.CallerID], ['', '1,650,5550000']);
    const c = h.engine.counters.corrections;
    assert.deepEqual([c.get('caller-left-unreported'), c.get('caller-joined-unreported')], [1, 1]);
  });

  it('a conference busy with a command at resync is brought in step once that command is through', async () => {
    const h = await startEngine();
    const bc = await meeting(h);
    let release = (): void => {};
    let sent = (): void => {};
    const lockSent = new Promise<void>((resolve) => (sent = resolve));
    h.driver.overrides.set('lockConference', () => new Promise<void>((resolve) => {
      release = resolve;
      sent();
    }));
    assert.equal(await h.engine.accept({ transId: 'w2a-busy', messages: [w2a.lock('conf-1', true)], receivedAt: h.clock.now() }), 0);
    await lockSent;
    h.driver.quietly((confs) => {
      confs.get(bc)!.callers.push({ port: '2/1', legId: 'leg-new', muted: false, mutedBy: 'bridge', talking: false, subConfId: 0, callerId: '1,650,5550000' });
    });
    h.driver.reconnect();
    // The resync met the conference busy with the lock: nothing reported yet.
    assert.deepEqual(h.webex.of('A2W_NotifyUserEnter'), []);
    release();
    await h.settle();
    assert.deepEqual(h.webex.of('A2W_NotifyUserEnter').map((m) => m.CallerID), ['1,650,5550000']);
    assert.equal(h.engine.counters.corrections.get('caller-joined-unreported'), 1);
  });

  it('a lock and a mute-all policy the bridge lost are applied again', async () => {
    const h = await startEngine();
    const bc = await meeting(h);
    await h.send(w2a.lock('conf-1', true), w2a.muteAll('conf-1', true, { ApplyToNewCallers: true }));
    h.driver.quietly((confs) => {
      const conf = confs.get(bc)!;
      conf.locked = false;
      delete conf.muteAll;
    });
    const before = h.driver.executed.length;
    h.driver.reconnect();
    await h.settle();
    assert.deepEqual(h.driver.executed.slice(before).map((c) => c.op).sort(), ['lockConference', 'muteAll']);
    assert.equal(h.driver.conferences.get(bc)!.locked, true);
    assert.equal(h.driver.conferences.get(bc)!.muteAll?.applyToNewCallers, true);
  });

  it('a keypad mute missed while the link was down is reported; a commanded mute the bridge lost is re-applied', async () => {
    const h = await startEngine();
    const bc = await meeting(h);
    await dialIn(h, bc, 'conf-1', 'call-2');
    await h.send(w2a.mute('conf-1', 'call-2', true));
    h.webex.clear();
    h.driver.quietly((confs) => {
      const [a, b] = confs.get(bc)!.callers;
      Object.assign(a!, { muted: true, mutedBy: 'keypad' });
      Object.assign(b!, { muted: false, mutedBy: 'command' });
    });
    h.driver.reconnect();
    await h.settle();
    assert.deepEqual(h.webex.of('A2W_NotifyUserChange').map((m) => [m.ExtCallID, m.Mute, m.MuteBy]), [['call-1', true, 'Self']]);
    assert.deepEqual(h.driver.ops('mute').slice(-1).map((c) => c.op === 'mute' && c.muted), [true]);
    assert.equal(h.driver.conferences.get(bc)!.callers[1]!.muted, true);
  });

  it('a ringing dial-out the bridge forgot is answered as failed', async () => {
    const h = await startEngine();
    const bc = await meeting(h);
    await h.send(w2a.callout('conf-1', 'call-9', '1,408,5550123'));
    h.driver.quietly((confs) => { confs.get(bc)!.dialOuts = []; });
    h.driver.reconnect();
    await h.settle();
    assert.deepEqual(h.webex.of('A2W_RspCallout').map((m) => [m.ExtCallID, m.Result]), [['call-9', 32]]);
    assert.equal(h.engine.counters.corrections.get('dial-out-outcome-lost'), 1);
  });

  it('a conference the bridge lost is created again; its callers are reported dropped', async () => {
    const h = await startEngine();
    const bc = await meeting(h);
    await h.send(w2a.lock('conf-1', true));
    h.webex.clear();
    h.driver.quietly((confs) => confs.delete(bc));
    h.driver.reconnect();
    await h.settle();
    assert.equal(h.driver.conferences.size, 1);
    const [again] = h.driver.conferences.values();
    assert.notEqual(again!.bridgeConfId, bc);
    assert.equal(again!.options.confKey, '123456');
    assert.equal(again!.locked, true, 'its lock is put back');
    assert.deepEqual(h.webex.of('A2W_NotifyUserChange').map((m) => [m.ExtCallID, m.Reason]), [['call-1', 'Dropped']]);
    // The conference carries on: callers reach it under its new bridge id.
    await dialIn(h, again!.bridgeConfId, 'conf-1', 'call-5');
    await h.send(w2a.mute('conf-1', 'call-5', true));
    assert.equal(h.webex.of('A2W_RspMuteUser')[0]!.Result, 0);
  });

  it('an orphan bridge conference is ended with orphanPolicy end', async () => {
    const h = await startEngine();
    h.driver.quietly((confs) => confs.set('stray', {
      bridgeConfId: 'stray', options: { confKey: '999999', entryTone: 'none', silentJoin: false, muteOnEntry: false }, locked: false, callers: [], dialOuts: [],
    }));
    h.driver.reconnect();
    await h.settle();
    assert.equal(h.driver.conferences.has('stray'), false);
    assert.equal(h.engine.counters.corrections.get('orphan-ended'), 1);
  });

  it('an adopted orphan is re-attached by a create with its key, and its callers announced', async () => {
    const h = await startEngine({ options: { conference: { orphanPolicy: 'adopt' } } });
    h.driver.quietly((confs) => confs.set('stray', {
      bridgeConfId: 'stray', options: { confKey: '999999', entryTone: 'none', silentJoin: false, muteOnEntry: false }, locked: false,
      callers: [{ port: '3/3', legId: 'leg-x', muted: false, mutedBy: 'bridge', talking: false, subConfId: 0 }], dialOuts: [],
    }));
    h.driver.reconnect();
    await h.settle();
    assert.equal(h.engine.counters.corrections.get('orphan-adopted'), 1);
    assert.equal(h.webex.posts.length, 0, 'nobody to tell yet');
    h.driver.join('stray');
    await h.settle();
    assert.equal(h.engine.counters.deadLetters, 0, 'a join before any WebEx claims it is not a dead letter');
    await h.send(w2a.create('conf-7', '999999'));
    assert.equal(h.driver.ops('createConference').length, 0);
    assert.equal(h.webex.of('A2W_RspCreateConference')[0]!.Result, 0);
    assert.deepEqual(h.webex.of('A2W_NotifyUserEnter').map((m) => m.ExtCallID), ['', '']);
  });

  it('a periodic check acts only on a difference it sees twice', async () => {
    const h = await startEngine({ options: { conference: { reconcileIntervalMs: 1_000, keepAliveTimeoutMs: 3_600_000 } } });
    const bc = await meeting(h);
    h.driver.quietly((confs) => { confs.get(bc)!.locked = true; });
    h.clock.advance(1_000);
    await h.settle();
    assert.equal(h.driver.ops('lockConference').length, 0, 'maybe an event is on its way');
    h.clock.advance(1_000);
    await h.settle();
    assert.deepEqual(h.driver.ops('lockConference').map((c) => c.op === 'lockConference' && c.locked), [false]);
  });
});
