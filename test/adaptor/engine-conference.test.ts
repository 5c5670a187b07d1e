import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BridgeError } from '../../src/bridges/errors.js';
import { FakeDriver } from './support/fake-driver.js';
import { WEBEX_URL, WEBEX_URL_B, created, dialIn, startEngine, w2a } from './support/harness.js';

describe('conference life (spec 3.1)', () => {
  it('create answers Result 0 with the call-in numbers, then Status 1 and Status 0', async () => {
    const h = await startEngine({ options: { numbers: { tollNumber: '1,408,5550000', tollFreeNumber: '1,800,5550000', globalNumberURL: 'https://numbers.test/' } } });
    assert.equal(await h.send(w2a.create('conf-1', '123456', { TollFreeCallIn: false })), 0);
    assert.deepEqual(h.webex.types(), ['A2W_RspCreateConference', 'A2W_NotifyConferenceChange', 'A2W_NotifyConferenceChange']);
    const [rsp] = h.webex.of('A2W_RspCreateConference');
    assert.equal(rsp!.Result, 0);
    assert.equal(rsp!.ExtConfID, 'conf-1');
    assert.equal(rsp!.AccessCode, '123456');
    assert.equal(rsp!.TollNumber, '1,408,5550000');
    assert.equal(rsp!.TollFreeNumber, undefined, 'toll-free call-in was not enabled');
    assert.equal(rsp!.GlobalNumberURL, 'https://numbers.test/');
    assert.deepEqual(h.webex.of('A2W_NotifyConferenceChange').map((m) => m.Status), [1, 0]);
    assert.ok(h.webex.posts.every((p) => p.url === WEBEX_URL));
    assert.deepEqual(h.driver.ops('createConference'), [{ op: 'createConference', options: { confKey: '123456', entryTone: 'none', silentJoin: false, muteOnEntry: false } }]);
  });

  it('create carries the Hybrid attributes from configuration when Hybrid Audio is enabled', async () => {
    const h = await startEngine({ options: { hybrid: { enabled: true, sdkToken: 'tok', clientURL: 'https://hybrid.test/' } } });
    await h.send(w2a.create('conf-1', '123456'));
    const [rsp] = h.webex.of('A2W_RspCreateConference');
    assert.equal(rsp!.HybridSDKEnabled, true);
    assert.equal(rsp!.HybridSDKToken, 'tok');
    assert.equal(rsp!.HybridClientURL, 'https://hybrid.test/');
  });

  it('re-creation with the same ConfKey re-attaches, answers 0 and re-announces the roster to the new host', async () => {
    const h = await startEngine();
    const bc = await created(h);
    await dialIn(h, bc, 'conf-1', 'call-1');
    const port2 = await dialIn(h, bc, 'conf-1', 'call-2');
    await h.send(w2a.mute('conf-1', 'call-2', true));
    void port2;
    h.webex.clear();
    await h.send(w2a.create('conf-9', '123456', { WbxHostName: WEBEX_URL_B }));
    assert.equal(h.driver.ops('createConference').length, 1, 'the bridge conference is reused');
    assert.ok(h.webex.posts.every((p) => p.url === WEBEX_URL_B), 'everything goes to the new WebEx server');
    assert.deepEqual(h.webex.types(), [
      'A2W_RspCreateConference', 'A2W_NotifyConferenceChange', 'A2W_NotifyUserEnter', 'A2W_NotifyUserEnter', 'A2W_NotifyUserChange',
    ]);
    assert.equal(h.webex.of('A2W_RspCreateConference')[0]!.Result, 0);
    assert.deepEqual(h.webex.of('A2W_NotifyUserEnter').map((m) => [m.ExtConfID, m.ExtCallID]), [['conf-9', 'call-1'], ['conf-9', 'call-2']]);
    const change = h.webex.of('A2W_NotifyUserChange')[0]!;
    assert.equal(change.ExtCallID, 'call-2');
    assert.equal(change.Mute, true);
    assert.equal(change.MuteBy, 'Host');
    // Commands under the new ExtConfID reach the same conference.
    h.webex.clear();
    await h.send(w2a.mute('conf-9', 'call-1', true));
    assert.equal(h.webex.of('A2W_RspMuteUser')[0]!.Result, 0);
  });

  it('a create for a key whose creation is under way from another ExtConfID answers 11, and no second bridge conference is made', async () => {
    const h = await startEngine();
    let release: (reply: { bridgeConfId: string }) => void = () => {};
    h.driver.overrides.set('createConference', () => new Promise((r) => { release = r; }));
    void h.engine.accept({ transId: 'first', messages: [w2a.create('conf-1', '123456')], receivedAt: 0 });
    for (let i = 0; i < 50 && h.driver.ops('createConference').length === 0; i++) await new Promise((r) => setImmediate(r));
    void h.engine.accept({ transId: 'second', messages: [w2a.create('conf-2', '123456', { WbxHostName: WEBEX_URL_B })], receivedAt: 0 });
    for (let i = 0; i < 100 && h.webex.posts.length === 0; i++) await new Promise((r) => setImmediate(r));
    release({ bridgeConfId: 'bc-x' });
    await h.settle();
    assert.equal(h.driver.ops('createConference').length, 1);
    assert.deepEqual(h.webex.of('A2W_RspCreateConference').map((m) => [m.ExtConfID, m.Result]), [['conf-2', 11], ['conf-1', 0]]);
  });

  it('after re-creation, a dead old server holds nothing back, and a ringing callout is answered to the new one', async () => {
    const h = await startEngine();
    const bc = await created(h);
    await h.send(w2a.callout('conf-1', 'call-9', '1,408,5550123'));
    h.webex.answer = (p) => (p.url === WEBEX_URL ? 'timeout' : { status: 200, result: 0 });
    await h.send(w2a.keepAlive('conf-1'), w2a.lock('conf-1', true));
    await h.send(w2a.create('conf-2', '123456', { WbxHostName: WEBEX_URL_B }));
    const dial = h.driver.ops('dialOut')[0]!;
    h.driver.event({ type: 'dialOut', bridgeConfId: bc, dialOutId: dial.op === 'dialOut' ? dial.dialOutId : '', state: 'busy' });
    await h.settle();
    const toB = h.webex.posts.filter((p) => p.url === WEBEX_URL_B).flatMap((p) => p.messages.map((m) => m.type));
    assert.deepEqual(toB, ['A2W_RspCreateConference', 'A2W_NotifyConferenceChange', 'A2W_RspCallout']);
  });

  it('end disconnects everyone, cancels ringing dial-outs, answers 0 and then Status 3', async () => {
    const h = await startEngine();
    const bc = await created(h);
    await dialIn(h, bc, 'conf-1', 'call-1');
    await h.send(w2a.callout('conf-1', 'call-2', '1,408,5550123'));
    h.webex.clear();
    await h.send(w2a.end('conf-1'));
    assert.deepEqual(h.webex.types(), ['A2W_RspEndConference', 'A2W_NotifyUserChange', 'A2W_RspCallout', 'A2W_NotifyConferenceChange']);
    assert.equal(h.webex.of('A2W_RspCallout')[0]!.Result, 45);
    assert.deepEqual(h.webex.of('A2W_NotifyUserChange').map((m) => [m.ExtCallID, m.Status, m.Reason]), [['call-1', 1, 'ConferenceEnded']]);
    assert.equal(h.webex.of('A2W_NotifyConferenceChange')[0]!.Status, 3);
    assert.equal(h.driver.ops('cancelDialOut').length, 1);
    assert.equal(h.driver.conferences.size, 0);
  });

  it('end of an ended conference answers Result 13, of an unknown one Result 10 to its WbxHostName', async () => {
    const h = await startEngine();
    await created(h);
    await h.send(w2a.end('conf-1'));
    h.webex.clear();
    await h.send(w2a.end('conf-1'), { ...w2a.end('nope'), WbxHostName: WEBEX_URL_B });
    assert.deepEqual(h.webex.of('A2W_RspEndConference').map((m) => [m.ExtConfID, m.Result]), [['conf-1', 13], ['nope', 10]]);
    assert.equal(h.webex.posts.at(-1)!.url, WEBEX_URL_B);
  });

  it('commands for an unknown conference without WbxHostName are confirmed; their responses, with nowhere to go, are counted, not dead-lettered', async () => {
    const h = await startEngine();
    assert.equal(await h.send(w2a.end('nope'), w2a.lock('nope', true), w2a.callout('nope', 'out-1', '1,408,5550100')), 0);
    assert.equal(h.webex.posts.length, 0);
    assert.equal(h.engine.counters.unroutable.get('unknown-conference'), 3);
    assert.equal(h.engine.counters.deadLetters, 0);
    assert.deepEqual(await h.store.deadLetters(), []);
    assert.equal(h.engine.outboxDepth().messages, 0);
    assert.equal(h.driver.ops('dialOut').length, 0);
  });

  it('mute of an ended conference answers Result 13', async () => {
    const h = await startEngine();
    await created(h);
    await h.send(w2a.end('conf-1'));
    await h.send(w2a.mute('conf-1', 'call-1', true));
    assert.equal(h.webex.of('A2W_RspMuteUser')[0]!.Result, 13);
  });

  it('lock answers 0 with Status 2, unlock with Status 0', async () => {
    const h = await startEngine();
    const bc = await created(h);
    h.webex.clear();
    await h.send(w2a.lock('conf-1', true));
    assert.equal(h.driver.conferences.get(bc)!.locked, true);
    await h.send(w2a.lock('conf-1', false));
    assert.deepEqual(h.webex.of('A2W_RspLockConference').map((m) => m.Result), [0, 0]);
    assert.deepEqual(h.webex.of('A2W_NotifyConferenceChange').map((m) => m.Status), [2, 0]);
  });

  it('a conference without keep-alive, message or caller for the configured time is ended with Status 3', async () => {
    const h = await startEngine({ options: { conference: { keepAliveTimeoutMs: 60_000 } } });
    await created(h, 'conf-1', '111111');
    await created(h, 'conf-2', '222222');
    h.clock.advance(40_000);
    await h.send(w2a.keepAlive('conf-2'));
    h.webex.clear();
    h.clock.advance(30_000);
    await h.settle();
    assert.deepEqual(h.webex.of('A2W_NotifyConferenceChange').map((m) => [m.ExtConfID, m.Status]), [['conf-1', 3]]);
    assert.equal(h.driver.conferences.size, 1);
  });

  it('keep-alive for an unknown conference is counted, with no response', async () => {
    const h = await startEngine();
    await h.send(w2a.keepAlive('nope'));
    assert.equal(h.webex.posts.length, 0);
    assert.equal(h.engine.counters.unroutable.get('unknown-conference'), 1);
  });

  it('a key in use on the bridge answers Result 11; a bridge timeout Result 32; a link down Result 31', async () => {
    const h = await startEngine();
    h.driver.overrides.set('createConference', () => { throw new BridgeError('BRIDGE_ERR_KEY_IN_USE'); });
    await h.send(w2a.create('conf-1', '111111'));
    h.driver.overrides.set('createConference', () => { throw new BridgeError('BRIDGE_ERR_TIMEOUT'); });
    await h.send(w2a.create('conf-2', '222222'));
    h.driver.overrides.set('createConference', () => { throw new BridgeError('BRIDGE_ERR_LINK_DOWN'); });
    await h.send(w2a.create('conf-3', '333333'));
    assert.deepEqual(h.webex.of('A2W_RspCreateConference').map((m) => m.Result), [11, 32, 31]);
  });
});

describe('admission', () => {
  it('a new conference goes to the bridge with the most headroom', async () => {
    const a = new FakeDriver('bridge-a');
    const b = new FakeDriver('bridge-b');
    a.ports = { total: 100, inUse: 60, reserved: 0 };
    b.ports = { total: 100, inUse: 10, reserved: 20 };
    const h = await startEngine({ drivers: [a, b] });
    await h.send(w2a.create('conf-1', '111111', { AttendeeCount: 30 }));
    assert.equal(b.conferences.size, 1);
    // bridge-b: 70 free, 30 promised -> 40; bridge-a: 40 free.
    await h.send(w2a.create('conf-2', '222222', { AttendeeCount: 5 }));
    assert.equal(a.conferences.size + b.conferences.size, 2);
    assert.equal(b.conferences.size, 1, 'ties go to the first bridge; 40 vs 40 picks bridge-a');
  });

  it('answers Result 30 when no bridge can take the conference', async () => {
    const a = new FakeDriver();
    a.ports = { total: 10, inUse: 8, reserved: 0 };
    const h = await startEngine({ drivers: [a] });
    await h.send(w2a.create('conf-1', '111111', { AttendeeCount: 5 }));
    assert.equal(h.webex.of('A2W_RspCreateConference')[0]!.Result, 30);
    assert.equal(a.ops('createConference').length, 0);
    assert.equal(h.webex.posts.flatMap((p) => p.messages).length, 1, 'no conference change follows a refusal');
  });

  it('answers Result 50 with RedirectURL when a peer adaptor is configured', async () => {
    const a = new FakeDriver();
    a.ports = { total: 10, inUse: 10, reserved: 0 };
    const h = await startEngine({ drivers: [a], options: { admission: { redirectURL: 'https://peer.test/tsp' } } });
    await h.send(w2a.create('conf-1', '111111'));
    const rsp = h.webex.of('A2W_RspCreateConference')[0]!;
    assert.equal(rsp.Result, 50);
    assert.equal(rsp.RedirectURL, 'https://peer.test/tsp');
  });

  it('answers Result 31 when no bridge is up', async () => {
    const h = await startEngine();
    h.driver.status = { state: 'down', error: 'gone', retryInMs: 1000 };
    await h.send(w2a.create('conf-1', '111111'));
    assert.equal(h.webex.of('A2W_RspCreateConference')[0]!.Result, 31);
  });
});

describe('acceptance (spec 2)', () => {
  it('a repeated TransID is confirmed again and not acted on', async () => {
    const h = await startEngine();
    const tx = { transId: 'same', messages: [w2a.create('conf-1', '111111')], receivedAt: h.clock.now() };
    assert.equal(await h.engine.accept(tx), 0);
    assert.equal(await h.engine.accept(tx), 0);
    await h.settle();
    assert.equal(h.driver.ops('createConference').length, 1);
    assert.equal(h.webex.of('A2W_RspCreateConference').length, 1);
    assert.equal(h.engine.counters.transIdRepeats, 1);
  });

  it('answers Confirmation 7 while draining', async () => {
    const h = await startEngine();
    await h.engine.drain(1000);
    assert.equal(await h.engine.accept({ transId: 't', messages: [w2a.keepAlive('x')], receivedAt: 0 }), 7);
  });

  it('commands of one conference run in arrival order, one at a time', async () => {
    const h = await startEngine();
    const bc = await created(h);
    await dialIn(h, bc, 'conf-1', 'call-1');
    let release: () => void = () => {};
    h.driver.overrides.set('mute', () => new Promise<void>((r) => { release = r; }));
    void h.engine.accept({ transId: 'a', messages: [w2a.mute('conf-1', 'call-1', true)], receivedAt: 0 });
    void h.engine.accept({ transId: 'b', messages: [w2a.lock('conf-1', true)], receivedAt: 0 });
    for (let i = 0; i < 50 && h.driver.ops('mute').length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(h.driver.ops('lockConference').length, 0, 'the lock waits for the mute');
    h.driver.overrides.delete('mute');
    release();
    await h.settle();
    assert.deepEqual(h.driver.executed.slice(-2).map((c) => c.op), ['mute', 'lockConference']);
  });
});
