import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../../src/common/typed-emitter.js';
import { startStack, w2a, type Stack } from './support.js';

/**
 * One meeting through the whole daemon: WebEx simulator -> HTTPS endpoint -> engine ->
 * voyant2313 driver over TCP -> emulator, and the A2W messages back.
 */
describe('a meeting end to end', () => {
  let stack: Stack;
  const confId = 'conf-meeting-1';
  const confKey = '51500001';
  let callerExtCallId = '';

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  test('CreateConference is confirmed, answered Result 0, and the conference is announced running', async () => {
    const { sim } = stack;
    const build = w2a(sim);
    const create = build.create(confId, confKey);
    const sent = await sim.send([create]);
    assert.equal(sent.result, 0);
    const rsp = await sim.next('A2W_RspCreateConference', (m) => m.ExtConfID === confId);
    assert.equal(rsp.message.MsgID, create.MsgID);
    assert.equal(rsp.message.Result, 0);
    const running = await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === confId && m.Status === 0);
    assert.ok(running.seq > rsp.seq, 'the conference is announced after the response');
    const bridge = await stack.emulator.state();
    assert.equal(bridge.conferences.filter((c) => c.options.confKey === confKey).length, 1);
  });

  test('a caller who dials in is announced with an empty ExtCallID and gets the one WebEx answers', async () => {
    const { sim, emulator } = stack;
    await emulator.dialIn(confKey);
    const enter = await sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === confId);
    assert.equal(enter.message.ExtCallID, '');
    assert.ok(enter.answeredExtCallID);
    const answered = await enter.answered;
    assert.equal(answered?.result, 0);
    callerExtCallId = enter.answeredExtCallID;
  });

  test('a host mute through the endpoint mutes the caller on the bridge and is reported', async () => {
    const { sim, emulator } = stack;
    const mute = w2a(sim).mute(confId, callerExtCallId, true);
    const sent = await sim.send([mute]);
    assert.equal(sent.result, 0);
    const rsp = await sim.next('A2W_RspMuteUser', (m) => m.MsgID === mute.MsgID);
    assert.equal(rsp.message.Result, 0);
    assert.equal(rsp.message.ExtCallID, callerExtCallId);
    const change = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === callerExtCallId && m.Mute === true);
    assert.equal(change.message.MuteBy, 'Host');
    assert.equal(change.message.Status, 0);
    const conference = (await emulator.state()).conferences.find((c) => c.options.confKey === confKey);
    assert.equal(conference?.callers[0]?.muted, true);
  });

  test('a repeated TransID is confirmed again and not carried out again', async () => {
    const { sim, emulator } = stack;
    const build = w2a(sim);
    const unmute = build.mute(confId, callerExtCallId, false);
    const first = await sim.send([unmute]);
    assert.equal(first.result, 0);
    await sim.next('A2W_RspMuteUser', (m) => m.MsgID === unmute.MsgID);
    const repeat = await sim.send([unmute], { transId: first.transId });
    assert.equal(repeat.result, 0);
    // Per-conference order: once a later command's response is here, a second response to
    // the repeat would have come before it.
    const marker = build.mute(confId, callerExtCallId, true);
    assert.equal((await sim.send([marker])).result, 0);
    await sim.next('A2W_RspMuteUser', (m) => m.MsgID === marker.MsgID);
    assert.equal(sim.all('A2W_RspMuteUser').filter((r) => r.message.MsgID === unmute.MsgID).length, 1);
    const conference = (await emulator.state()).conferences.find((c) => c.options.confKey === confKey);
    assert.equal(conference?.callers[0]?.muted, true);
  });

  test('EndConference disconnects the caller and announces the end', async () => {
    const { sim, emulator } = stack;
    const end = w2a(sim).end(confId);
    assert.equal((await sim.send([end])).result, 0);
    const rsp = await sim.next('A2W_RspEndConference', (m) => m.MsgID === end.MsgID);
    assert.equal(rsp.message.Result, 0);
    const left = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === callerExtCallId && m.Status === 1);
    assert.equal(left.message.Reason, 'ConferenceEnded');
    await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === confId && m.Status === 3);
    const bridge = await emulator.state();
    assert.equal(bridge.conferences.filter((c) => c.options.confKey === confKey).length, 0);
  });

  test('a stopping daemon answers Confirmation 7 while its drain delivers what is pending', async () => {
    const { sim, daemon } = stack;
    // A response WebEx cannot take yet keeps the drain (and so the listener) busy.
    sim.setPolicy({ kind: 'down' });
    const pending = w2a(sim).mute(confId, callerExtCallId, false);
    assert.equal((await sim.send([pending])).result, 0);
    await nextEvent(sim, 'refused');
    const stopping = daemon.stop('test: stop intake');
    const create = w2a(sim).create('conf-too-late', '51500002');
    const late = await sim.send([create]);
    assert.equal(late.result, 7, late.reason);
    sim.setPolicy({ kind: 'ok' });
    await stopping;
    assert.equal((await sim.next('A2W_RspMuteUser', (m) => m.MsgID === pending.MsgID)).message.Result, 13);
    assert.equal(sim.all('A2W_RspCreateConference').filter((r) => r.message.MsgID === create.MsgID).length, 0);
  });
});
