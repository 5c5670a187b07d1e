/**
 * The engine's observation events and the live feed on the real daemon (emulator over TCP, the
 * WebEx simulator): what a console sees when a conference is created, callers join, one is
 * muted by the host, one mutes itself; a mute's timeline in the order it happened; a throwing
 * observer never stops the engine. And the change derivation as a pure function.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { conferenceChanges } from '../../src/adaptor/conference/observation.js';
import type { ConferenceState, DialingCaller } from '../../src/adaptor/conference/state.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import { createConference, startStack, type Stack } from '../e2e/support.js';
import { hostMute, joinCaller, portPath } from './console-support.js';
import { fakeCaller, fakeConference, FeedReader } from './live-feed-support.js';

describe('live feed on the real engine', () => {
  let stack: Stack;
  let feed: FeedReader;
  const extConfID = 'LIVE-ENGINE-1';
  const confKey = '6161';

  before(async () => {
    stack = await startStack();
    feed = new FeedReader(`${stack.daemon.adminUrl.replace('http:', 'ws:')}/live`);
  });
  after(async () => {
    feed?.ws.terminate();
    await stack?.close();
  });

  test('the snapshot names the bridges with their link and ports', async () => {
    const snapshot = await feed.until((m) => m.type === 'snapshot');
    assert.ok(snapshot.type === 'snapshot');
    const bridge = snapshot.bridges.find((b) => b.id === 'emulator');
    assert.equal(bridge?.link.state, 'up');
    assert.ok((bridge?.ports?.total ?? 0) > 0);
  });

  test('creation, joins, a host mute and a self mute arrive as conference changes', async () => {
    await createConference(stack.sim, extConfID, confKey);
    const ann = await joinCaller(stack, extConfID, confKey, 'Ann', '14085550131');
    const ben = await joinCaller(stack, extConfID, confKey, 'Ben', '14085550132');
    assert.equal(await hostMute(stack, extConfID, ann.extCallId, true), 0);
    await stack.emulator.call('POST', `/ports/${portPath(ben.port)}/dtmf`, { digits: '*6' });
    const selfMuted = await feed.until((m) => m.type === 'conference' && m.changes.some((c) => c.kind === 'mute' && c.by === 'Self'));
    assert.ok(selfMuted.type === 'conference');

    const changes = feed.messages.flatMap((m) => (m.type === 'conference' && m.conference.extConfID === extConfID ? m.changes : []));
    // The conference is shown (creating) as soon as it is kept, before the bridge is asked.
    const kinds = changes.map((c) => (c.kind === 'mute' ? `mute:${c.by}` : c.kind === 'status' ? `${c.was}->${c.status}` : c.kind));
    for (const kind of ['created', 'creating->running', 'callerJoined', 'callerNamed', 'mute:Host', 'mute:Self']) assert.ok(kinds.includes(kind), `${kind} in ${kinds.join(',')}`);
    assert.ok(kinds.indexOf('created') < kinds.indexOf('creating->running'));
    assert.ok(kinds.indexOf('creating->running') < kinds.indexOf('callerJoined'));
    assert.ok(kinds.indexOf('mute:Host') < kinds.indexOf('mute:Self'));
    const callers = selfMuted.conference.callers;
    const shown = (ext: string) => callers.find((c) => c.extCallID === ext);
    const annShown = shown(ann.extCallId);
    assert.ok(annShown?.phase === 'joined' && annShown.muted && annShown.mutedBy === 'Host');
    const benShown = shown(ben.extCallId);
    assert.ok(benShown?.phase === 'joined' && benShown.muted && benShown.mutedBy === 'Self');
  });

  test('a mute\'s timeline runs WebEx command -> bridge command -> state -> notification delivered', async () => {
    const annStep = feed.messages.find((m) => m.type === 'step' && m.entry.step.kind === 'w2a' && m.entry.step.msgType === 'W2A_MuteUser');
    assert.ok(annStep?.type === 'step');
    const ann = annStep.entry.caller;
    assert.ok(ann?.extCallID);
    await feed.until((m) => m.type === 'step' && m.entry.step.kind === 'a2w' && m.entry.step.msgType === 'A2W_RspMuteUser' && m.entry.step.phase === 'delivered');
    feed.ws.send(JSON.stringify({ type: 'timeline', extConfID }));
    const timeline = await feed.until((m) => m.type === 'timeline');
    assert.ok(timeline.type === 'timeline');
    const about = timeline.entries.filter((e) => e.caller?.extCallID === ann.extCallID || (e.caller?.legId !== undefined && e.caller.legId === ann.legId));
    const names = about.map((e) => {
      const s = e.step;
      if (s.kind === 'w2a') return s.msgType;
      if (s.kind === 'bridge-command') return `${s.op}:${s.phase}`;
      if (s.kind === 'a2w') return `${s.msgType}:${s.phase}`;
      if (s.kind === 'change') return s.change.kind;
      return s.eventType;
    });
    const order = ['W2A_MuteUser', 'mute:sent', 'mute:done', 'mute', 'A2W_RspMuteUser:queued', 'A2W_RspMuteUser:delivered'];
    const at = order.map((n) => names.indexOf(n, names.indexOf('W2A_MuteUser')));
    assert.ok(at.every((i) => i >= 0), `every step present: ${names.join(', ')}`);
    assert.deepEqual(at, [...at].sort((a, b) => a - b), `in order: ${names.join(', ')}`);
    // The bridge command named only the port; the feed tied it to the caller.
    const sent = about.find((e) => e.step.kind === 'bridge-command' && e.step.op === 'mute');
    assert.equal(sent?.caller?.extCallID, ann.extCallID);
  });

  test('a dial-out is shown ringing while it rings', async () => {
    const ringMs = 60_000;
    await stack.emulator.call('PUT', '/dial-out-plan', { rules: [{ match: 'exact', number: '1,212,5550177', outcome: 'answered', ringMs }], ringMs });
    const callout: W2AMessage = { type: 'W2A_Callout', MsgID: stack.sim.newId('msg'), ExtConfID: extConfID, ExtCallID: 'live-callout-1', PhoneNumber: '1,212,5550177' };
    assert.equal((await stack.sim.send([callout])).result, 0);
    const ringing = await feed.until((m) => m.type === 'conference' && m.changes.some((c) => c.kind === 'dialOut' && c.caller.extCallID === 'live-callout-1'));
    assert.ok(ringing.type === 'conference');
    const shown = ringing.conference.callers.find((c) => c.extCallID === 'live-callout-1');
    assert.ok(shown?.phase === 'dialing' && shown.state === 'ringing');
    assert.equal(shown.number, '*,***,***0177', 'the number is masked');
  });

  test('a throwing observer is logged and the engine carries on', async () => {
    const boom = (): void => {
      throw new Error('observer bug');
    };
    stack.daemon.engine.on('conference', boom);
    try {
      const cat = await joinCaller(stack, extConfID, confKey, 'Cat', '14085550133');
      assert.equal(await hostMute(stack, extConfID, cat.extCallId, true), 0);
    } finally {
      stack.daemon.engine.off('conference', boom);
    }
    assert.ok(stack.logs.some((l) => l.msg === 'an engine observer failed; the engine carries on'));
  });
});

describe('conference changes', () => {
  const joined = fakeCaller;
  const conf = (callers: ConferenceState['callers'], status: ConferenceState['status'] = 'running'): ConferenceState => ({ ...fakeConference('e', callers), status });
  const ringing: DialingCaller = {
    phase: 'dialing', extCallID: 'out-1', dialOutId: 'd1', number: '1,212,5550188', state: 'ringing', request: { MsgID: 'm', url: undefined }, startedAt: 0,
  } as DialingCaller;

  test('a keep-alive changes nothing an operator sees', () => {
    const a = conf([joined(1)]);
    assert.deepEqual(conferenceChanges(a, { ...a, lastActivityAt: 99 }), []);
  });

  test('mute, speaking, sub-conference and leaving are told per caller', () => {
    const before = conf([joined(1), joined(2), joined(3)]);
    const after = conf([joined(1, { muted: true, mutedBy: 'Host' }), joined(2, { speaking: true, subConfId: 2 })], 'locked');
    assert.deepEqual(conferenceChanges(before, after), [
      { kind: 'status', status: 'locked', was: 'running' },
      { kind: 'mute', caller: { legId: 'leg-1', extCallID: 'call-1' }, muted: true, by: 'Host' },
      { kind: 'speaking', caller: { legId: 'leg-2', extCallID: 'call-2' }, speaking: true },
      { kind: 'subConference', caller: { legId: 'leg-2', extCallID: 'call-2' }, subConfId: 2 },
      { kind: 'callerLeft', caller: { legId: 'leg-3', extCallID: 'call-3' } },
    ]);
  });

  test('a dial-out rings, then joins as a caller; another ends without joining', () => {
    const other: DialingCaller = { ...ringing, extCallID: 'out-2', dialOutId: 'd2' };
    const dialling = conf([ringing, other]);
    assert.deepEqual(conferenceChanges(conf([]), dialling).map((c) => c.kind === 'dialOut' && c.state), ['ringing', 'ringing']);
    const after = conf([joined(9, { extCallID: 'out-1', dialOutId: 'd1' })]);
    assert.deepEqual(conferenceChanges(dialling, after), [
      { kind: 'dialOut', caller: { legId: 'leg-9', extCallID: 'out-1', dialOutId: 'd1' }, state: 'joined' },
      { kind: 'callerJoined', caller: { legId: 'leg-9', extCallID: 'out-1', dialOutId: 'd1' } },
      { kind: 'dialOut', caller: { extCallID: 'out-2', dialOutId: 'd2' }, state: 'ended' },
    ]);
  });
});
