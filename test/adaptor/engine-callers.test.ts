import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BridgeError } from '../../src/bridges/errors.js';
import { FakeDriver } from './support/fake-driver.js';
import { created, dialIn, startEngine, w2a, type Harness } from './support/harness.js';

async function conferenceWithCaller(h: Harness): Promise<{ bc: string; port: string }> {
  const bc = await created(h);
  const port = await dialIn(h, bc, 'conf-1', 'call-1');
  h.webex.clear();
  return { bc, port };
}

const legOf = (h: Harness, bc: string, port: string): string => h.driver.conferences.get(bc)!.callers.find((c) => c.port === port)!.legId;

/** A caller has dialled in and been announced; WebEx has not named it yet. */
async function unnamedCaller() {
  const h = await startEngine();
  const bc = await created(h);
  h.webex.clear();
  const caller = h.driver.join(bc);
  await h.settle();
  return { h, bc, caller, enter: h.webex.of('A2W_NotifyUserEnter')[0]! };
}

describe('dial-in callers (spec 3.2)', () => {
  it('a dial-in caller is announced with an empty ExtCallID, its caller id and dialled number', async () => {
    const h = await startEngine();
    const bc = await created(h);
    h.webex.clear();
    h.driver.join(bc, { callerId: '1,408,5550100', dialledNumber: '1,800,5550000', name: 'Ann' });
    await h.settle();
    const [enter] = h.webex.of('A2W_NotifyUserEnter');
    assert.equal(enter!.ExtCallID, '');
    assert.equal(enter!.CallerID, '1,408,5550100');
    assert.equal(enter!.DialedNumber, '1,800,5550000');
    assert.equal(enter!.Name, 'Ann');
    assert.equal(enter!.Mute, false);
  });

  it('events of a caller are held until W2A_RspNotifyUserEnter names it, then sent in order', async () => {
    const { h, bc, caller, enter } = await unnamedCaller();
    h.driver.event({ type: 'muteChanged', bridgeConfId: bc, port: caller.port, legId: caller.legId, muted: true, by: 'keypad' });
    h.driver.event({ type: 'subConferenceChanged', bridgeConfId: bc, port: caller.port, legId: caller.legId, subConfId: 2 });
    await h.settle();
    assert.deepEqual(h.webex.types(), ['A2W_NotifyUserEnter'], 'nothing about the caller before it has an ExtCallID');
    await h.send(w2a.rspEnter(enter.MsgID, 'conf-1', 'call-7'));
    const changes = h.webex.of('A2W_NotifyUserChange');
    assert.deepEqual(changes.map((m) => [m.ExtCallID, m.Status, m.Mute, m.MuteBy, m.SubConfID]), [
      ['call-7', 0, true, 'Self', undefined],
      ['call-7', 2, true, 'Self', 2],
    ]);
  });

  it('a caller who leaves before being named still has its leave reported once named', async () => {
    const { h, bc, caller, enter } = await unnamedCaller();
    h.driver.event({ type: 'callerLeft', bridgeConfId: bc, port: caller.port, legId: caller.legId, reason: 'hangup' });
    await h.settle();
    await h.send(w2a.rspEnter(enter.MsgID, 'conf-1', 'call-7'));
    const [left] = h.webex.of('A2W_NotifyUserChange');
    assert.deepEqual([left!.ExtCallID, left!.Status, left!.Reason], ['call-7', 1, 'Hangup']);
  });

  it('W2A_RspNotifyUserEnter for an unknown caller is logged and counted', async () => {
    const h = await startEngine();
    await created(h);
    await h.send(w2a.rspEnter('no-such-msg', 'conf-1', 'call-1'), w2a.rspEnter('x', 'nope', 'call-1'));
    assert.equal(h.engine.counters.unroutable.get('unknown-caller'), 1);
    assert.equal(h.engine.counters.unroutable.get('unknown-conference'), 1);
  });
});

describe('mute (spec 3.2)', () => {
  it('mute one answers 0 and reports the change with MuteBy Host', async () => {
    const h = await startEngine();
    const { bc, port } = await conferenceWithCaller(h);
    await h.send(w2a.mute('conf-1', 'call-1', true));
    assert.deepEqual(h.webex.types(), ['A2W_RspMuteUser', 'A2W_NotifyUserChange']);
    assert.equal(h.webex.of('A2W_RspMuteUser')[0]!.Result, 0);
    const change = h.webex.of('A2W_NotifyUserChange')[0]!;
    assert.deepEqual([change.Mute, change.MuteBy], [true, 'Host']);
    assert.equal(h.driver.conferences.get(bc)!.callers.find((c) => c.port === port)!.muted, true);
  });

  it('the bridge echoing a mute the engine ordered reports nothing more', async () => {
    const h = await startEngine();
    const { bc, port } = await conferenceWithCaller(h);
    await h.send(w2a.mute('conf-1', 'call-1', true));
    h.driver.event({ type: 'muteChanged', bridgeConfId: bc, port, legId: legOf(h, bc, port), muted: true, by: 'command' });
    await h.settle();
    assert.equal(h.webex.of('A2W_NotifyUserChange').length, 1);
  });

  it('mute of an unknown caller answers 20, of an unknown conference 10', async () => {
    const h = await startEngine();
    await conferenceWithCaller(h);
    await h.send(w2a.mute('conf-1', 'nobody', true), { ...w2a.mute('nope', 'call-1', true), WbxHostName: 'https://webex-a.test/tsp' });
    assert.deepEqual(h.webex.of('A2W_RspMuteUser').map((m) => m.Result), [20, 10]);
  });

  it('a caller who left on the bridge answers 20 to a mute', async () => {
    const h = await startEngine();
    const { bc, port } = await conferenceWithCaller(h);
    h.driver.overrides.set('mute', () => { throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND'); });
    await h.send(w2a.mute('conf-1', 'call-1', true));
    assert.equal(h.webex.of('A2W_RspMuteUser')[0]!.Result, 20);
    void bc; void port;
  });

  it('mute all spares the exception and reports each change with MuteBy Policy', async () => {
    const h = await startEngine();
    const bc = await created(h);
    const p1 = await dialIn(h, bc, 'conf-1', 'call-1');
    await dialIn(h, bc, 'conf-1', 'call-2');
    await dialIn(h, bc, 'conf-1', 'call-3');
    h.webex.clear();
    await h.send(w2a.muteAll('conf-1', true, { ExceptExtCallID: 'call-1' }));
    assert.equal(h.webex.of('A2W_RspMuteConference')[0]!.Result, 0);
    assert.deepEqual(h.webex.of('A2W_NotifyUserChange').map((m) => [m.ExtCallID, m.Mute, m.MuteBy]), [['call-2', true, 'Policy'], ['call-3', true, 'Policy']]);
    const [muteAll] = h.driver.ops('muteAll');
    assert.equal(muteAll!.op === 'muteAll' ? muteAll!.exceptPort : undefined, p1);
  });

  it('with ApplyToNewCallers, later callers join muted by Policy until a mute all with Mute 0', async () => {
    // A bridge that cannot mute new callers itself: the engine mutes each late joiner.
    const driver = new FakeDriver('bridge-a', { muteNewCallers: false });
    const h = await startEngine({ drivers: [driver] });
    const bc = await created(h);
    await h.send(w2a.muteAll('conf-1', true, { ApplyToNewCallers: true }));
    driver.quietly((confs) => { delete confs.get(bc)!.muteAll; });
    h.webex.clear();
    await dialIn(h, bc, 'conf-1', 'late-1');
    assert.equal(h.webex.of('A2W_NotifyUserEnter')[0]!.Mute, true);
    assert.deepEqual(driver.ops('mute').map((c) => c.op === 'mute' && c.muted), [true]);
    await h.send(w2a.muteAll('conf-1', false));
    h.webex.clear();
    await dialIn(h, bc, 'conf-1', 'late-2');
    assert.equal(h.webex.of('A2W_NotifyUserEnter')[0]!.Mute, false);
  });

  it('mute all with an unknown exception answers 20', async () => {
    const h = await startEngine();
    await conferenceWithCaller(h);
    await h.send(w2a.muteAll('conf-1', true, { ExceptExtCallID: 'nobody' }));
    assert.equal(h.webex.of('A2W_RspMuteConference')[0]!.Result, 20);
    assert.equal(h.driver.ops('muteAll').length, 0);
  });
});

describe('expel, sub-conferences, passthrough (spec 3.2-3.4)', () => {
  it('expel answers 0 and reports Status 1 Reason Expelled', async () => {
    const h = await startEngine();
    const { bc } = await conferenceWithCaller(h);
    await h.send(w2a.expel('conf-1', 'call-1'));
    assert.deepEqual(h.webex.types(), ['A2W_RspExpelUser', 'A2W_NotifyUserChange']);
    const change = h.webex.of('A2W_NotifyUserChange')[0]!;
    assert.deepEqual([change.Status, change.Reason], [1, 'Expelled']);
    assert.equal(h.driver.conferences.get(bc)!.callers.length, 0);
  });

  it('expelling a ringing dial-out cancels it and answers its callout 45', async () => {
    const h = await startEngine();
    await created(h);
    await h.send(w2a.callout('conf-1', 'call-9', '1,408,5550123'));
    h.webex.clear();
    await h.send(w2a.expel('conf-1', 'call-9'));
    assert.equal(h.driver.ops('cancelDialOut').length, 1);
    assert.deepEqual(h.webex.delivered().map((m) => [m.type, 'Result' in m ? m.Result : undefined]), [['A2W_RspExpelUser', 0], ['A2W_RspCallout', 45]]);
  });

  it('a move to a sub-conference answers 0 and reports Status 2 with the SubConfID, and back Status 0', async () => {
    const h = await startEngine();
    await conferenceWithCaller(h);
    await h.send(w2a.sub('conf-1', 'call-1', 3));
    await h.send(w2a.sub('conf-1', 'call-1', 0));
    assert.deepEqual(h.webex.of('A2W_RspAddToSubConference').map((m) => m.Result), [0, 0]);
    assert.deepEqual(h.webex.of('A2W_NotifyUserChange').map((m) => [m.Status, m.SubConfID]), [[2, 3], [0, undefined]]);
  });

  it('a sub-conference the bridge cannot hold answers 32 without asking it', async () => {
    const driver = new FakeDriver('bridge-a', { subConferences: false, maxSubConferences: 0 });
    const h = await startEngine({ drivers: [driver] });
    await conferenceWithCaller(h);
    await h.send(w2a.sub('conf-1', 'call-1', 1));
    assert.equal(h.webex.of('A2W_RspAddToSubConference')[0]!.Result, 32);
    assert.equal(driver.ops('moveToSubConference').length, 0);
  });

  it('passthrough data is relayed to the bridge for the caller, and bridge data to WebEx', async () => {
    const h = await startEngine();
    const { bc, port } = await conferenceWithCaller(h);
    await h.send(w2a.passthrough('conf-1', 'call-1', 'aGVsbG8='));
    assert.deepEqual(h.driver.ops('passthrough'), [{ op: 'passthrough', bridgeConfId: bc, port, data: 'aGVsbG8=' }]);
    h.driver.event({ type: 'passthrough', bridgeConfId: bc, port, data: 'cmVwbHk=' });
    await h.settle();
    const [out] = h.webex.of('A2W_CSPClientPassthrough');
    assert.deepEqual([out!.ExtCallID, out!.Data], ['call-1', 'cmVwbHk=']);
    assert.equal(h.webex.posts.flatMap((p) => p.messages).length, 1, 'passthrough has no response message');
  });
});

describe('dial-out (spec 3.2)', () => {
  it('callout answers 0 when answered, then the caller enters with the same ExtCallID', async () => {
    const h = await startEngine();
    const bc = await created(h);
    h.webex.clear();
    await h.send(w2a.callout('conf-1', 'call-9', '1,408,5550123', { Name: 'Bob', Confirm: true }));
    assert.equal(h.webex.posts.length, 0, 'the answer waits for the outcome');
    const dial = h.driver.ops('dialOut')[0]!;
    assert.ok(dial.op === 'dialOut' && dial.confirm && dial.name === 'Bob');
    const dialOutId = dial.op === 'dialOut' ? dial.dialOutId : '';
    h.driver.event({ type: 'dialOut', bridgeConfId: bc, dialOutId, state: 'ringing' });
    h.driver.event({ type: 'dialOut', bridgeConfId: bc, dialOutId, state: 'answered' });
    h.driver.join(bc, { dialOutId });
    await h.settle();
    assert.deepEqual(h.webex.types(), ['A2W_RspCallout', 'A2W_NotifyUserEnter']);
    assert.equal(h.webex.of('A2W_RspCallout')[0]!.Result, 0);
    const enter = h.webex.of('A2W_NotifyUserEnter')[0]!;
    assert.deepEqual([enter.ExtCallID, enter.Name], ['call-9', 'Bob']);
    await h.send(w2a.mute('conf-1', 'call-9', true));
    assert.equal(h.webex.of('A2W_RspMuteUser')[0]!.Result, 0, 'the caller is addressable by its ExtCallID at once');
  });

  for (const [state, result] of [['busy', 40], ['no-answer', 41], ['rejected', 42], ['invalid', 43], ['failed', 32]] as const) {
    it(`a dial-out ending ${state} answers Result ${result}`, async () => {
      const h = await startEngine();
      const bc = await created(h);
      await h.send(w2a.callout('conf-1', 'call-9', '1,408,5550123'));
      const dial = h.driver.ops('dialOut')[0]!;
      h.driver.event({ type: 'dialOut', bridgeConfId: bc, dialOutId: dial.op === 'dialOut' ? dial.dialOutId : '', state });
      await h.settle();
      assert.equal(h.webex.of('A2W_RspCallout')[0]!.Result, result);
    });
  }

  it('no free port for the dial-out answers 30', async () => {
    const h = await startEngine();
    await created(h);
    h.driver.overrides.set('dialOut', () => { throw new BridgeError('BRIDGE_ERR_NO_PORTS'); });
    await h.send(w2a.callout('conf-1', 'call-9', '1,408,5550123'));
    assert.equal(h.webex.of('A2W_RspCallout')[0]!.Result, 30);
  });

  it('policy: international call-back not enabled, blocked prefix, limits answer 44 and are counted', async () => {
    const h = await startEngine({ options: { dialOut: { maxConcurrentPerConference: 2, maxPerMinutePerConference: 3 } } });
    await created(h, 'conf-1', '123456', { IntlCallBack: false });
    await h.send(
      w2a.callout('conf-1', 'c1', '44,20,55501234', { CallType: 'CallBack' }),
      w2a.callout('conf-1', 'c2', '1,900,5550123'),
      w2a.callout('conf-1', 'c3', '1,408,5550001'),
      w2a.callout('conf-1', 'c4', '1,408,5550002'),
      w2a.callout('conf-1', 'c5', '1,408,5550003'),
    );
    assert.deepEqual(h.webex.of('A2W_RspCallout').map((m) => [m.ExtCallID, m.Result]), [['c1', 44], ['c2', 44], ['c5', 44]]);
    assert.equal(h.driver.ops('dialOut').length, 2);
    const r = h.engine.counters.dialOutRefusals;
    assert.deepEqual([r.get('international-call-back-disabled'), r.get('blocked-prefix'), r.get('too-many-concurrent')], [1, 1, 1]);
  });

  it('policy: a domestic call-back the conference did not enable answers 44', async () => {
    const h = await startEngine();
    await created(h, 'conf-1', '123456', { DomesticCallBack: false, IntlCallBack: true });
    await h.send(w2a.callout('conf-1', 'c1', '1,408,5550001'), w2a.callout('conf-1', 'c2', '49,30,5550001'));
    assert.deepEqual(h.webex.of('A2W_RspCallout').map((m) => m.Result), [44]);
    assert.equal(h.driver.ops('dialOut').length, 1);
  });

  it('policy: at most the configured dial-outs per minute', async () => {
    const h = await startEngine({ options: { dialOut: { maxPerMinutePerConference: 2 } } });
    const bc = await created(h);
    for (const id of ['c1', 'c2', 'c3']) {
      await h.send(w2a.callout('conf-1', id, '1,408,5550001'));
      const dial = h.driver.ops('dialOut').at(-1)!;
      h.driver.event({ type: 'dialOut', bridgeConfId: bc, dialOutId: dial.op === 'dialOut' ? dial.dialOutId : '', state: 'busy' });
      await h.settle();
    }
    assert.deepEqual(h.webex.of('A2W_RspCallout').map((m) => m.Result), [40, 40, 44]);
    h.clock.advance(61_000);
    await h.send(w2a.callout('conf-1', 'c4', '1,408,5550001'));
    assert.equal(h.driver.ops('dialOut').length, 3, 'a minute later the rate allows another');
  });
});

describe('active speaker', () => {
  async function speaking(h: Harness): Promise<{ talk: (on: boolean) => void; port: string; bc: string }> {
    const { bc, port } = await conferenceWithCaller(h);
    const legId = legOf(h, bc, port);
    return { bc, port, talk: (on) => h.driver.event({ type: 'talking', bridgeConfId: bc, port, legId, talking: on }) };
  }

  it('a talking change becomes Speaking only after the hold-off; a short burst is not reported', async () => {
    const h = await startEngine({ options: { conference: { speakingHoldOffMs: 300 } } });
    const { talk } = await speaking(h);
    talk(true);
    h.clock.advance(100);
    talk(false);
    h.clock.advance(1000);
    await h.settle();
    assert.equal(h.webex.posts.length, 0);
    talk(true);
    h.clock.advance(299);
    await h.settle();
    assert.equal(h.webex.posts.length, 0);
    h.clock.advance(1);
    await h.settle();
    assert.deepEqual(h.webex.of('A2W_NotifyUserChange').map((m) => m.Speaking), [true]);
  });

  it('Speaking changes are limited per conference per second; the latest state wins', async () => {
    const h = await startEngine({ options: { conference: { speakingHoldOffMs: 10, speakingMaxChangesPerSecond: 2 } } });
    const bc = await created(h);
    const ports = [await dialIn(h, bc, 'conf-1', 'a'), await dialIn(h, bc, 'conf-1', 'b'), await dialIn(h, bc, 'conf-1', 'c')];
    h.webex.clear();
    for (const port of ports) h.driver.event({ type: 'talking', bridgeConfId: bc, port, legId: legOf(h, bc, port), talking: true });
    h.clock.advance(10);
    await h.settle();
    assert.equal(h.webex.of('A2W_NotifyUserChange').length, 2);
    h.clock.advance(1000);
    await h.settle();
    assert.deepEqual(h.webex.of('A2W_NotifyUserChange').map((m) => [m.ExtCallID, m.Speaking]), [['a', true], ['b', true], ['c', true]]);
  });

  it('a caller who is muted stops speaking, and a muted caller does not start', async () => {
    const h = await startEngine({ options: { conference: { speakingHoldOffMs: 10 } } });
    const { talk } = await speaking(h);
    talk(true);
    h.clock.advance(10);
    await h.settle();
    await h.send(w2a.mute('conf-1', 'call-1', true));
    const change = h.webex.of('A2W_NotifyUserChange').at(-1)!;
    assert.deepEqual([change.Mute, change.Speaking], [true, false]);
    talk(false);
    talk(true);
    h.clock.advance(10);
    await h.settle();
    assert.equal(h.webex.of('A2W_NotifyUserChange').length, 2, 'no Speaking for a muted caller');
  });
});
