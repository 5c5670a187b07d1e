import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { W2AMessage } from '../../src/protocol/index.js';
import { createConference, dialInAndName, sendAndAnswer, startStack, w2a, type Stack } from './support.js';

const portPath = (port: string) => port.replace('/', '-');

/** Every W2A command of spec 3 against the real daemon and emulator, and what callers do. */
describe('conference and caller commands end to end', () => {
  let stack: Stack;
  const confId = 'conf-commands';
  const confKey = '52500001';
  let a: { port: string; extCallId: string };
  let b: { port: string; extCallId: string };
  let msg: () => string;

  before(async () => {
    stack = await startStack();
    msg = () => stack.sim.newId('msg');
    await createConference(stack.sim, confId, confKey);
    a = await dialInAndName(stack, confId, confKey, '14085550301');
    b = await dialInAndName(stack, confId, confKey, '14085550302');
  });
  after(async () => {
    await stack?.close();
  });

  const callerOnBridge = async (port: string) =>
    (await stack.emulator.state()).conferences.find((c) => c.options.confKey === confKey)?.callers.find((c) => c.port === port);

  test('lock refuses new call-ins on the bridge; unlock lets them in again', async () => {
    const { sim, emulator } = stack;
    const lock = w2a(sim).lock(confId, true);
    assert.equal((await sendAndAnswer(sim, lock, 'A2W_RspLockConference')).Result, 0);
    await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === confId && m.Status === 2);
    await assert.rejects(emulator.dialIn(confKey), /BRIDGE_ERR_LOCKED/);
    const unlock = w2a(sim).lock(confId, false);
    assert.equal((await sendAndAnswer(sim, unlock, 'A2W_RspLockConference')).Result, 0);
    await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === confId && m.Status === 0);
  });

  test('mute all spares the exception, mutes later callers by policy, and Mute 0 lifts it', async () => {
    const { sim } = stack;
    const muteAll: W2AMessage = {
      type: 'W2A_MuteConference', MsgID: msg(), ExtConfID: confId, Mute: true, ExceptExtCallID: a.extCallId, ApplyToNewCallers: true,
    };
    assert.equal((await sendAndAnswer(sim, muteAll, 'A2W_RspMuteConference')).Result, 0);
    const bMuted = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === b.extCallId && m.Mute === true);
    assert.equal(bMuted.message.MuteBy, 'Policy');
    assert.equal((await callerOnBridge(a.port))?.muted, false);
    const late = await dialInAndName(stack, confId, confKey, '14085550303');
    assert.equal((await callerOnBridge(late.port))?.muted, true, 'a later caller joins muted');
    const unmuteAll: W2AMessage = { type: 'W2A_MuteConference', MsgID: msg(), ExtConfID: confId, Mute: false };
    assert.equal((await sendAndAnswer(sim, unmuteAll, 'A2W_RspMuteConference')).Result, 0);
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === b.extCallId && m.Mute === false);
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === late.extCallId && m.Mute === false);
    await stack.emulator.call('DELETE', `/ports/${portPath(late.port)}`);
    const left = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === late.extCallId && m.Status === 1);
    assert.equal(left.message.Reason, 'Hangup');
  });

  test('the keypad self-mute is reported with MuteBy Self', async () => {
    const { sim, emulator } = stack;
    await emulator.call('POST', `/ports/${portPath(a.port)}/dtmf`, { digits: '*6' });
    const muted = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === a.extCallId && m.Mute === true);
    assert.equal(muted.message.MuteBy, 'Self');
    await emulator.call('POST', `/ports/${portPath(a.port)}/dtmf`, { digits: '*6' });
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === a.extCallId && m.Mute === false);
  });

  test('a talking burst becomes Speaking 1 then Speaking 0', async () => {
    const { sim, emulator } = stack;
    const talk = await emulator.call<{ talking: boolean }>('POST', `/ports/${portPath(a.port)}/talk`, { ms: 300 });
    assert.equal(talk.body.talking, true);
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === a.extCallId && m.Speaking === true);
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === a.extCallId && m.Speaking === false);
  });

  test('a move to a sub-conference and back is carried out and reported', async () => {
    const { sim } = stack;
    const move: W2AMessage = { type: 'W2A_AddToSubConference', MsgID: msg(), ExtConfID: confId, ExtCallID: a.extCallId, SubConfID: 2 };
    assert.equal((await sendAndAnswer(sim, move, 'A2W_RspAddToSubConference')).Result, 0);
    const moved = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === a.extCallId && m.Status === 2);
    assert.equal(moved.message.SubConfID, 2);
    assert.equal((await callerOnBridge(a.port))?.subConfId, 2);
    const back: W2AMessage = { type: 'W2A_AddToSubConference', MsgID: msg(), ExtConfID: confId, ExtCallID: a.extCallId, SubConfID: 0 };
    assert.equal((await sendAndAnswer(sim, back, 'A2W_RspAddToSubConference')).Result, 0);
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === a.extCallId && m.Status === 0);
  });

  test('passthrough data goes to the bridge and the bridge data comes back to WebEx', async () => {
    const { sim } = stack;
    const data = Buffer.from('hybrid hello').toString('base64');
    const pass: W2AMessage = { type: 'W2A_CSPClientPassthrough', MsgID: msg(), ExtConfID: confId, ExtCallID: a.extCallId, Data: data };
    assert.equal((await sim.send([pass])).result, 0);
    const echoed = await sim.next('A2W_CSPClientPassthrough', (m) => m.ExtCallID === a.extCallId);
    assert.equal(echoed.message.Data, data);
  });

  test('keep-alive is confirmed and has no response', async () => {
    const { sim } = stack;
    const keepAlive: W2AMessage = { type: 'W2A_KeepAliveConference', MsgID: msg(), ExtConfID: confId };
    assert.equal((await sim.send([keepAlive])).result, 0);
    // Responses of one conference come in order: a later command's answer closes the window.
    const marker = w2a(sim).mute(confId, a.extCallId, false);
    await sendAndAnswer(sim, marker, 'A2W_RspMuteUser');
    assert.equal(sim.received.filter((r) => r.message.MsgID === keepAlive.MsgID).length, 0);
  });

  test('commands for an unknown conference or caller are answered 10 and 20', async () => {
    const { sim } = stack;
    // An unknown conference has no WbxHostName of its own: the request says where to answer.
    const nowhere = { ...w2a(sim).mute('conf-nowhere', 'x', true), WbxHostName: sim.url };
    assert.equal((await sendAndAnswer(sim, nowhere, 'A2W_RspMuteUser')).Result, 10);
    assert.equal((await sendAndAnswer(sim, w2a(sim).mute(confId, 'call-nobody', true), 'A2W_RspMuteUser')).Result, 20);
  });

  const outcomes: [string, string, number][] = [
    ['busy', '1,408,5550401', 40],
    ['no-answer', '1,408,5550402', 41],
    ['invalid', '1,408,5550403', 43],
  ];
  test('dial-out outcomes are answered 40, 41 and 43', async () => {
    const { sim, emulator } = stack;
    const rules = outcomes.map(([outcome, number]) => ({ match: 'exact', number, outcome }));
    assert.equal((await emulator.call('PUT', '/dial-out-plan', { rules, odds: { answered: 1 }, ringMs: 20 })).status, 200);
    for (const [outcome, number, result] of outcomes) {
      const callout = w2a(sim).callout(confId, `call-${outcome}`, number);
      assert.equal((await sendAndAnswer(sim, callout, 'A2W_RspCallout')).Result, result, outcome);
    }
  });

  test('expel disconnects the caller on the bridge and reports Reason Expelled', async () => {
    const { sim } = stack;
    const expel: W2AMessage = { type: 'W2A_ExpelUser', MsgID: msg(), ExtConfID: confId, ExtCallID: b.extCallId };
    assert.equal((await sendAndAnswer(sim, expel, 'A2W_RspExpelUser')).Result, 0);
    const left = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === b.extCallId && m.Status === 1);
    assert.equal(left.message.Reason, 'Expelled');
    assert.equal(await callerOnBridge(b.port), undefined);
  });
});
