import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { testKeyPair } from '../shell/support.js';
import { createConference, dialInAndName, startStack, w2a, type Stack } from './support.js';

/** Spec 3.1: another WebEx server re-creates a running conference with the same ConfKey. */
describe('WebEx server fail-over: re-creation with the same ConfKey', () => {
  let stack: Stack;
  let second: WebexSim;

  before(async () => {
    stack = await startStack();
    const keyPair = await testKeyPair();
    second = new WebexSim({ adaptorUrl: stack.daemon.webexUrl, adaptorCa: keyPair.cert, keyPair, idPrefix: 'wbx2' });
    await second.start();
  });
  after(async () => {
    await stack?.close();
    await second?.close();
  });

  test('re-attaches the running conference, answers 0 and re-announces the roster to the new server', async () => {
    const { sim, emulator } = stack;
    const confKey = '40400001';
    await createConference(sim, 'conf-first', confKey);
    const muted = await dialInAndName(stack, 'conf-first', confKey, '14085550101');
    const plain = await dialInAndName(stack, 'conf-first', confKey, '14085550102');
    const mute = w2a(sim).mute('conf-first', muted.extCallId, true);
    assert.equal((await sim.send([mute])).result, 0);
    await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === muted.extCallId && m.Mute === true);

    const recreate = w2a(second).create('conf-second', confKey);
    assert.equal((await second.send([recreate])).result, 0);
    const rsp = await second.next('A2W_RspCreateConference', (m) => m.MsgID === recreate.MsgID);
    assert.equal(rsp.message.Result, 0);
    assert.equal(rsp.message.ExtConfID, 'conf-second');

    const entered = await Promise.all(
      [muted, plain].map((c) =>
        second.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === 'conf-second' && m.ExtCallID === c.extCallId),
      ),
    );
    assert.equal(entered.length, 2);
    const change = await second.next('A2W_NotifyUserChange', (m) => m.ExtCallID === muted.extCallId);
    assert.equal(change.message.Mute, true);
    assert.equal(second.all('A2W_NotifyUserChange').filter((r) => r.message.ExtCallID === plain.extCallId).length, 0,
      'a caller in the default state gets no NotifyUserChange');

    const bridge = await emulator.state();
    assert.equal(bridge.conferences.filter((c) => c.options.confKey === confKey).length, 1, 'still one bridge conference');

    // From now on the conference answers to the new server under its new ExtConfID.
    const unmute = w2a(second).mute('conf-second', muted.extCallId, false);
    assert.equal((await second.send([unmute])).result, 0);
    const rspMute = await second.next('A2W_RspMuteUser', (m) => m.MsgID === unmute.MsgID);
    assert.equal(rspMute.message.Result, 0);
  });
});
