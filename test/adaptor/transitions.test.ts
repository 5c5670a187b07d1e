/**
 * The functional core on its own: transitions, policies and reconciliation as plain functions,
 * with no engine, store, driver or clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BridgeSnapshot } from '../../src/bridges/driver.js';
import { admit } from '../../src/adaptor/admission.js';
import { planCommand, type CommandContext } from '../../src/adaptor/conference/commands.js';
import { applyBridgeEvent } from '../../src/adaptor/conference/events.js';
import { reconcile, replyFromSnapshot } from '../../src/adaptor/conference/reconcile.js';
import type { ConferenceState, JoinedCaller } from '../../src/adaptor/conference/state.js';
import { checkDialOut } from '../../src/adaptor/dial-policy.js';
import { withDefaults } from '../../src/adaptor/options.js';
import { w2a } from './support/harness.js';

const options = withDefaults({});
let ids = 0;
const ctx: CommandContext = {
  now: 1_000_000, newMsgId: () => `a${++ids}`, options, commandId: 7, inDoubt: false, newConfId: () => 'conf-id',
  admit: () => ({ kind: 'admitted', bridgeId: 'b' }),
  capabilities: () => ({ model: 'm', subConferences: true, maxSubConferences: 9, dialOut: true, dialOutConfirm: true, muteAllException: true, muteNewCallers: true, talkingEvents: true, tones: true, passthrough: true }),
};

function conference(over: Partial<ConferenceState> = {}): ConferenceState {
  return {
    confId: 'c1', confKey: '123456', extConfID: 'conf-1', formerExtConfIDs: [], wbxHostName: 'https://webex-a.test/tsp',
    bridgeId: 'b', bridgeConfId: 'bc1', status: 'running', entryTone: 'none', silentJoin: false, muteOnEntry: false,
    attendeeCount: 0, classes: { tollCallIn: true, tollFreeCallIn: true, domesticCallBack: true, intlCallBack: false },
    muteAll: undefined, lastActivityAt: 0, recentDialOutsAt: [], callers: [], ...over,
  };
}

function caller(over: Partial<JoinedCaller> = {}): JoinedCaller {
  return {
    phase: 'joined', extCallID: 'call-1', enterMsgID: 'e1', port: '1/1', legId: 'leg-1', muted: false, mutedBy: 'Bridge',
    speaking: false, subConfId: 0, held: [], ...over,
  };
}

describe('command transitions', () => {
  it('mute of an ended conference answers Result 13 without touching the bridge', () => {
    const step = planCommand(conference({ status: 'ended' }), w2a.mute('conf-1', 'call-1', true), ctx);
    assert.equal(step.kind, 'done');
    assert.equal(step.kind === 'done' && step.effects.out[0]!.message.type, 'A2W_RspMuteUser');
    assert.equal(step.kind === 'done' && step.effects.result, 13);
  });

  it('mute of a known caller asks the bridge, then answers 0 and reports MuteBy Host', () => {
    const step = planCommand(conference({ callers: [caller()] }), w2a.mute('conf-1', 'call-1', true), ctx);
    assert.ok(step.kind === 'bridge');
    assert.deepEqual(step.command, { op: 'mute', bridgeConfId: 'bc1', port: '1/1', muted: true });
    const after = step.then(undefined, conference({ callers: [caller()] }));
    assert.ok(after.kind === 'done');
    assert.deepEqual(after.effects.out.map((o) => o.message.type), ['A2W_RspMuteUser', 'A2W_NotifyUserChange']);
    assert.equal(after.effects.conferences[0]!.callers[0]!.phase === 'joined' && after.effects.conferences[0]!.callers[0]!.mutedBy, 'Host');
  });

  it('a callout derives its dial-out id from the command, so a re-run after a crash asks for the same one', () => {
    const step = planCommand(conference(), w2a.callout('conf-1', 'call-9', '1,408,5550123'), ctx);
    assert.ok(step.kind === 'bridge' && step.command.op === 'dialOut');
    assert.equal(step.command.dialOutId, 'c1-7');
    assert.ok(step.journal?.callers.some((c) => c.phase === 'dialing' && c.dialOutId === 'c1-7'), 'journalled before dialling');
  });
});

describe('event transitions', () => {
  it('a change of a caller WebEx has not named is held on the caller, not sent', () => {
    const conf = conference({ callers: [caller({ extCallID: undefined })] });
    const e = applyBridgeEvent(conf, { type: 'muteChanged', bridgeConfId: 'bc1', port: '1/1', legId: 'leg-1', muted: true, by: 'keypad' }, ctx);
    assert.equal(e.out.length, 0);
    const held = e.conferences[0]!.callers[0]!;
    assert.ok(held.phase === 'joined' && held.held.length === 1);
  });

  it('events of an ended conference change nothing', () => {
    const e = applyBridgeEvent(conference({ status: 'ended' }), { type: 'callerLeft', bridgeConfId: 'bc1', port: '1/1', legId: 'leg-1', reason: 'hangup' }, ctx);
    assert.deepEqual([e.conferences, e.out], [[], []]);
  });
});

describe('policies', () => {
  it('dial-out: domestic vs international is decided by CountryCode against the home country', () => {
    const conf = conference();
    assert.equal(checkDialOut(conf, '1,408,5550123', 0, options.dialOut), undefined);
    assert.equal(checkDialOut(conf, '44,20,5550123', 0, options.dialOut), 'international-call-back-disabled');
    assert.equal(checkDialOut(conf, '1,900,5550123', 0, options.dialOut), 'blocked-prefix');
    assert.equal(checkDialOut(conf, '1,408,5550123', 0, { ...options.dialOut, allowedPrefixes: ['1,650'] }), 'prefix-not-allowed');
  });

  it('admission counts reserved and promised ports as taken', () => {
    const loads = [
      { bridgeId: 'a', up: true, ports: { total: 100, inUse: 0, reserved: 50 }, promised: 0 },
      { bridgeId: 'b', up: true, ports: { total: 100, inUse: 10, reserved: 0 }, promised: 45 },
    ];
    assert.deepEqual(admit(loads, 10, false), { kind: 'admitted', bridgeId: 'a' });
    assert.deepEqual(admit(loads, 60, false), { kind: 'refused', result: 30 });
    assert.deepEqual(admit(loads, 60, true), { kind: 'refused', result: 50 });
    assert.deepEqual(admit(loads.map((l) => ({ ...l, up: false })), 1, true), { kind: 'refused', result: 31 });
  });
});

describe('reconciliation', () => {
  const snapshot = (conferences: BridgeSnapshot['conferences']): BridgeSnapshot => ({ takenAt: 0, eventSeq: 0, ports: { total: 10, inUse: 0, reserved: 0 }, conferences });
  const options1 = { confKey: '123456', entryTone: 'none' as const, silentJoin: false, muteOnEntry: false };

  it('lists what the bridge lost, what WebEx missed, and orphans', () => {
    const r = reconcile(
      [conference({ status: 'locked', callers: [caller()] }), conference({ confId: 'c2', bridgeConfId: 'gone' })],
      snapshot([
        { bridgeConfId: 'bc1', options: options1, locked: false, callers: [], dialOuts: [] },
        { bridgeConfId: 'stray', options: { ...options1, confKey: '999' }, locked: false, callers: [], dialOuts: [] },
      ]),
    );
    assert.deepEqual(r.corrections.map((c) => c.kind).sort(), ['caller-left-unreported', 'lock-reapplied']);
    assert.deepEqual(r.lost.map((c) => c.confId), ['c2']);
    assert.deepEqual(r.orphans.map((c) => c.bridgeConfId), ['stray']);
  });

  it('a command in doubt counts as done when the snapshot shows its effect', () => {
    const snap = snapshot([{ bridgeConfId: 'bc1', options: options1, locked: true, callers: [{ port: '1/1', legId: 'l', muted: true, mutedBy: 'command', talking: false, subConfId: 0 }], dialOuts: [] }]);
    assert.deepEqual(replyFromSnapshot(snap, { op: 'createConference', options: options1 }), { reply: { bridgeConfId: 'bc1' } });
    assert.ok(replyFromSnapshot(snap, { op: 'lockConference', bridgeConfId: 'bc1', locked: true }));
    assert.ok(replyFromSnapshot(snap, { op: 'mute', bridgeConfId: 'bc1', port: '1/1', muted: true }));
    assert.equal(replyFromSnapshot(snap, { op: 'mute', bridgeConfId: 'bc1', port: '1/1', muted: false }), undefined);
    assert.equal(replyFromSnapshot(snap, { op: 'dialOut', bridgeConfId: 'bc1', dialOutId: 'd', number: '1,2,3', confirm: false, silent: false }), undefined);
    assert.ok(replyFromSnapshot(snap, { op: 'endConference', bridgeConfId: 'other' }));
  });
});
