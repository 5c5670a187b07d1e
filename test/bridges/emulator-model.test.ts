import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeModel, type BridgeModelOptions } from '../../src/bridges/emulator/model.js';
import { FakeClock } from '../../src/bridges/emulator/clock.js';
import { seededRandom } from '../../src/bridges/emulator/random.js';
import type { SequencedEvent } from '../../src/bridges/emulator/endpoint.js';
import type { BridgeEvent, ConferenceOptions } from '../../src/bridges/driver.js';
import { isBridgeError, type BridgeErrorCode } from '../../src/bridges/errors.js';

const TOLL = '1,408,5550100';
const OPTIONS: ConferenceOptions = { confKey: '123456', entryTone: 'beep', silentJoin: false, muteOnEntry: false };

function refusedWith(code: BridgeErrorCode): (err: unknown) => boolean {
  return (err) => isBridgeError(err, code);
}

class Bench {
  readonly clock = new FakeClock();
  readonly model: BridgeModel;
  readonly events: SequencedEvent[] = [];

  constructor(options: BridgeModelOptions = {}) {
    this.model = new BridgeModel({ clock: this.clock, random: seededRandom(7), ...options });
    this.model.on('event', (e) => this.events.push(e));
  }

  create(options: Partial<ConferenceOptions> = {}): string {
    return this.model.execute({ op: 'createConference', options: { ...OPTIONS, ...options } }).bridgeConfId;
  }

  join(confKey = OPTIONS.confKey): { port: string; legId: string } {
    const result = this.model.callIn({ dialledNumber: TOLL, digits: `${confKey}#`, callerId: '14085551212' });
    assert.equal(result.state, 'joined');
    return result;
  }

  /** Events since the last call, without seq and without port-usage reports. */
  take(): BridgeEvent[] {
    const taken = this.events.splice(0).map((e) => e.event);
    return taken.filter((e) => e.type !== 'ports');
  }
}

describe('emulator bridge model', () => {
  let b: Bench;
  beforeEach(() => {
    b = new Bench();
  });

  describe('conferences', () => {
    it('creates a conference and reports it started', () => {
      const id = b.create();
      assert.deepEqual(b.take(), [{ type: 'conferenceChanged', bridgeConfId: id, state: 'started' }]);
    });

    it('refuses a key already in use, and a malformed key', () => {
      b.create();
      assert.throws(() => b.create(), refusedWith('BRIDGE_ERR_KEY_IN_USE'));
      assert.throws(() => b.create({ confKey: '12a4' }), refusedWith('BRIDGE_ERR_INVALID'));
    });

    it('answers CONF_NOT_FOUND for every command on an unknown conference', () => {
      const bridgeConfId = 'conf-404';
      const commands = [
        { op: 'endConference', bridgeConfId },
        { op: 'lockConference', bridgeConfId, locked: true },
        { op: 'mute', bridgeConfId, port: '1/1', muted: true },
        { op: 'muteAll', bridgeConfId, muted: true, applyToNewCallers: false },
        { op: 'expel', bridgeConfId, port: '1/1' },
        { op: 'dialOut', bridgeConfId, dialOutId: 'd', number: '1,408,5551234', confirm: false, silent: false },
        { op: 'cancelDialOut', bridgeConfId, dialOutId: 'd' },
        { op: 'moveToSubConference', bridgeConfId, port: '1/1', subConfId: 1 },
        { op: 'playTone', bridgeConfId, tone: 'beep' },
        { op: 'passthrough', bridgeConfId, data: 'x' },
      ] as const;
      for (const command of commands) {
        assert.throws(() => b.model.execute(command), refusedWith('BRIDGE_ERR_CONF_NOT_FOUND'), command.op);
      }
    });

    it('answers UNSUPPORTED for an op it does not know', () => {
      const command = { op: 'reboot' } as unknown as Parameters<BridgeModel['execute']>[0];
      assert.throws(() => b.model.execute(command), refusedWith('BRIDGE_ERR_UNSUPPORTED'));
    });

    it('locks and unlocks, reporting each change once', () => {
      const id = b.create();
      b.take();
      b.model.execute({ op: 'lockConference', bridgeConfId: id, locked: true });
      b.model.execute({ op: 'lockConference', bridgeConfId: id, locked: true });
      b.model.execute({ op: 'lockConference', bridgeConfId: id, locked: false });
      assert.deepEqual(b.take(), [
        { type: 'conferenceChanged', bridgeConfId: id, state: 'locked' },
        { type: 'conferenceChanged', bridgeConfId: id, state: 'unlocked' },
      ]);
    });

    it('ending disconnects every caller, cancels ringing dial-outs and frees the ports', () => {
      const id = b.create();
      const a = b.join();
      b.model.execute({ op: 'dialOut', bridgeConfId: id, dialOutId: 'd1', number: '1,408,5551234', confirm: false, silent: false });
      b.take();
      b.model.execute({ op: 'endConference', bridgeConfId: id });
      assert.deepEqual(b.take(), [
        { type: 'callerLeft', bridgeConfId: id, port: a.port, legId: a.legId, reason: 'conference-ended' },
        { type: 'dialOut', bridgeConfId: id, dialOutId: 'd1', state: 'cancelled', port: '1/2' },
        { type: 'conferenceChanged', bridgeConfId: id, state: 'ended' },
      ]);
      assert.equal(b.model.usage().inUse, 0);
      b.clock.advance(60_000);
      assert.deepEqual(b.take(), [], 'the cancelled dial-out never finishes');
      b.create(); // the key is free again
    });
  });

  describe('call-in', () => {
    it('joins with the right key and reports the call-in number', () => {
      const id = b.create();
      b.take();
      const r = b.model.callIn({ dialledNumber: TOLL, digits: '123456#', callerId: '14085551212' });
      assert.deepEqual(r, { state: 'joined', port: '1/1', legId: r.legId, bridgeConfId: id });
      assert.deepEqual(b.take(), [
        { type: 'callerJoined', bridgeConfId: id, port: '1/1', legId: r.legId, callerId: '14085551212', dialledNumber: TOLL, muted: false, subConfId: 0 },
      ]);
      assert.equal(b.model.state().conferences[0]?.tones.beep, 1);
    });

    it('re-prompts a wrong key, then drops the caller after the last attempt', () => {
      b.create();
      const first = b.model.callIn({ dialledNumber: TOLL, digits: '999#' });
      assert.deepEqual(first, { state: 'prompting', port: '1/1', legId: first.legId, attemptsLeft: 2 });
      assert.equal(b.model.usage().inUse, 1, 'the prompt holds a port');
      assert.deepEqual(b.model.sendDtmf(first.port, '888#'), { ...first, attemptsLeft: 1 });
      assert.throws(() => b.model.sendDtmf(first.port, '777#'), refusedWith('BRIDGE_ERR_CONF_NOT_FOUND'));
      assert.equal(b.model.usage().inUse, 0);
    });

    it('joins on a later attempt within the limit', () => {
      const id = b.create();
      const r = b.model.callIn({ dialledNumber: TOLL, digits: '1#2#123456#' });
      assert.equal(r.state, 'joined');
      assert.equal(b.model.state().conferences.find((c) => c.bridgeConfId === id)?.callers.length, 1);
    });

    it('refuses a locked conference and frees the port', () => {
      const id = b.create();
      b.model.execute({ op: 'lockConference', bridgeConfId: id, locked: true });
      assert.throws(() => b.join(), refusedWith('BRIDGE_ERR_LOCKED'));
      assert.equal(b.model.usage().inUse, 0);
    });

    it('refuses a number that is not a call-in number', () => {
      b.create();
      assert.throws(() => b.model.callIn({ dialledNumber: '1,999,0000000', digits: '123456#' }), refusedWith('BRIDGE_ERR_INVALID'));
    });

    it('refuses when every offerable port is busy, never offering reserved ports', () => {
      b = new Bench({ spans: 1, channelsPerSpan: 4, reservedPorts: 1 });
      b.create();
      assert.deepEqual([b.join(), b.join(), b.join()].map((c) => c.port), ['1/1', '1/2', '1/3']);
      assert.throws(() => b.join(), refusedWith('BRIDGE_ERR_NO_PORTS'));
      assert.deepEqual(b.model.usage(), { total: 4, inUse: 3, reserved: 1 });
    });

    it('joins muted when the conference mutes on entry, silently when asked', () => {
      b.create({ muteOnEntry: true, silentJoin: true });
      b.take();
      b.join();
      const [joined] = b.take();
      assert.equal(joined?.type === 'callerJoined' && joined.muted, true);
      assert.equal(b.model.state().conferences[0]?.tones.beep, 0);
    });
  });

  describe('callers', () => {
    it('mutes and unmutes by command, refusing an unknown port', () => {
      const id = b.create();
      const a = b.join();
      b.take();
      b.model.execute({ op: 'mute', bridgeConfId: id, port: a.port, muted: true });
      b.model.execute({ op: 'mute', bridgeConfId: id, port: a.port, muted: false });
      assert.deepEqual(b.take(), [
        { type: 'muteChanged', bridgeConfId: id, port: a.port, legId: a.legId, muted: true, by: 'command' },
        { type: 'muteChanged', bridgeConfId: id, port: a.port, legId: a.legId, muted: false, by: 'command' },
      ]);
      assert.throws(() => b.model.execute({ op: 'mute', bridgeConfId: id, port: '9/9', muted: true }), refusedWith('BRIDGE_ERR_PORT_NOT_FOUND'));
    });

    it('mute all spares the exception, reports only changes, and applies to late joiners', () => {
      const id = b.create();
      const presenter = b.join();
      const other = b.join();
      b.model.execute({ op: 'mute', bridgeConfId: id, port: other.port, muted: true });
      b.take();
      b.model.execute({ op: 'muteAll', bridgeConfId: id, muted: true, exceptPort: presenter.port, applyToNewCallers: true });
      assert.deepEqual(b.take(), [], 'the presenter is spared and the other was already muted');
      const late = b.join();
      const [joined] = b.take();
      assert.equal(joined?.type === 'callerJoined' && joined.muted, true);
      b.model.execute({ op: 'muteAll', bridgeConfId: id, muted: false, applyToNewCallers: false });
      assert.deepEqual(
        b.take().map((e) => e.type === 'muteChanged' && e.port),
        [other.port, late.port],
      );
      const after = b.join();
      assert.equal(b.model.state().conferences[0]?.callers.find((c) => c.port === after.port)?.muted, false);
      assert.throws(
        () => b.model.execute({ op: 'muteAll', bridgeConfId: id, muted: true, exceptPort: '9/9', applyToNewCallers: false }),
        refusedWith('BRIDGE_ERR_PORT_NOT_FOUND'),
      );
    });

    it('*6 toggles self-mute, other keys are DTMF', () => {
      const id = b.create();
      const a = b.join();
      b.take();
      b.model.sendDtmf(a.port, '12*6');
      b.model.sendDtmf(a.port, '*6');
      const ref = { bridgeConfId: id, port: a.port, legId: a.legId };
      assert.deepEqual(b.take(), [
        { type: 'dtmf', ...ref, digits: '12' },
        { type: 'muteChanged', ...ref, muted: true, by: 'keypad' },
        { type: 'muteChanged', ...ref, muted: false, by: 'keypad' },
      ]);
      assert.equal(b.model.snapshot().conferences[0]?.callers[0]?.mutedBy, 'keypad');
      assert.throws(() => b.model.sendDtmf(a.port, '1x'), refusedWith('BRIDGE_ERR_INVALID'));
    });

    it('talks for a burst, not while muted, and stops when muted', () => {
      const id = b.create();
      const a = b.join();
      const ref = { bridgeConfId: id, port: a.port, legId: a.legId };
      b.take();
      assert.equal(b.model.talk(a.port, 500), true);
      assert.equal(b.model.snapshot().conferences[0]?.callers[0]?.talking, true);
      b.clock.advance(499);
      assert.deepEqual(b.take(), [{ type: 'talking', ...ref, talking: true }]);
      b.clock.advance(1);
      assert.deepEqual(b.take(), [{ type: 'talking', ...ref, talking: false }]);
      b.model.talk(a.port, 500);
      b.model.execute({ op: 'mute', bridgeConfId: id, port: a.port, muted: true });
      assert.deepEqual(b.take().map((e) => e.type), ['talking', 'muteChanged', 'talking']);
      assert.equal(b.model.talk(a.port, 500), false);
      b.clock.advance(1_000);
      assert.deepEqual(b.take(), []);
    });

    it('hang-up and expel report their reasons and free the port', () => {
      const id = b.create();
      const a = b.join();
      const c = b.join();
      b.take();
      b.model.hangUp(a.port);
      b.model.execute({ op: 'expel', bridgeConfId: id, port: c.port });
      assert.deepEqual(b.take(), [
        { type: 'callerLeft', bridgeConfId: id, port: a.port, legId: a.legId, reason: 'hangup' },
        { type: 'callerLeft', bridgeConfId: id, port: c.port, legId: c.legId, reason: 'expelled' },
      ]);
      assert.equal(b.model.usage().inUse, 0);
      assert.throws(() => b.model.hangUp(a.port), refusedWith('BRIDGE_ERR_PORT_NOT_FOUND'));
      assert.notEqual(b.join().legId, a.legId, 'a leg id is never reused on the same port');
    });

    it('moves callers between sub-conferences within the configured range', () => {
      const id = b.create();
      const a = b.join();
      b.take();
      b.model.execute({ op: 'moveToSubConference', bridgeConfId: id, port: a.port, subConfId: 9 });
      b.model.execute({ op: 'moveToSubConference', bridgeConfId: id, port: a.port, subConfId: 0 });
      assert.deepEqual(b.take().map((e) => e.type === 'subConferenceChanged' && e.subConfId), [9, 0]);
      assert.throws(
        () => b.model.execute({ op: 'moveToSubConference', bridgeConfId: id, port: a.port, subConfId: 10 }),
        refusedWith('BRIDGE_ERR_INVALID'),
      );
      const none = new Bench({ maxSubConferences: 0 });
      const id2 = none.create();
      const c = none.join();
      assert.throws(
        () => none.model.execute({ op: 'moveToSubConference', bridgeConfId: id2, port: c.port, subConfId: 1 }),
        refusedWith('BRIDGE_ERR_UNSUPPORTED'),
      );
    });

    it('plays tones and echoes passthrough data', () => {
      const id = b.create();
      const a = b.join();
      b.take();
      b.model.execute({ op: 'playTone', bridgeConfId: id, tone: 'announce' });
      b.model.execute({ op: 'passthrough', bridgeConfId: id, port: a.port, data: 'aGk=' });
      assert.deepEqual(b.take(), [{ type: 'passthrough', bridgeConfId: id, port: a.port, data: 'aGk=' }]);
      assert.equal(b.model.state().conferences[0]?.tones.announce, 1);
    });
  });

  describe('dial-out', () => {
    const dial = (id: string, dialOutId: string, number: string, confirm = false): void =>
      b.model.execute({ op: 'dialOut', bridgeConfId: id, dialOutId, number, name: 'Ann', confirm, silent: false });

    it('rings on a port, then answers and joins with the dial-out id', () => {
      const id = b.create();
      b.take();
      dial(id, 'd1', '1,408,5551234');
      assert.deepEqual(b.take(), [{ type: 'dialOut', bridgeConfId: id, dialOutId: 'd1', state: 'ringing', port: '1/1' }]);
      assert.equal(b.model.usage().inUse, 1, 'the port is taken while ringing');
      assert.equal(b.model.snapshot().conferences[0]?.dialOuts[0]?.state, 'ringing');
      b.clock.advance(3_000);
      const [answered, joined] = b.take();
      assert.deepEqual(answered, { type: 'dialOut', bridgeConfId: id, dialOutId: 'd1', state: 'answered', port: '1/1' });
      assert.equal(joined?.type, 'callerJoined');
      assert.equal(joined?.type === 'callerJoined' && joined.dialOutId, 'd1');
      assert.equal(joined?.type === 'callerJoined' && joined.name, 'Ann');
    });

    it('ends as each rule says, exact number before the longest prefix', () => {
      const id = b.create();
      b.model.setDialOutPlan({
        ringMs: 1_000,
        odds: { answered: 1 },
        rules: [
          { match: 'prefix', number: '1,212', outcome: 'busy' },
          { match: 'prefix', number: '1,212,555', outcome: 'no-answer', ringMs: 5_000 },
          { match: 'exact', number: '1,212,5550000', outcome: 'invalid' },
          { match: 'prefix', number: '44', outcome: 'failed' },
          { match: 'prefix', number: '1,303', outcome: 'rejected' },
        ],
      });
      dial(id, 'busy', '1,212,4440000');
      dial(id, 'noanswer', '1,212,5551111');
      dial(id, 'invalid', '1,212,5550000');
      dial(id, 'failed', '44,20,79460000');
      dial(id, 'rejected', '1,303,5550000', true);
      dial(id, 'unconfirmed', '1,303,5550001', false);
      b.clock.advance(1_000);
      const states = (): Record<string, string> =>
        Object.fromEntries(b.take().flatMap((e) => (e.type === 'dialOut' && e.state !== 'ringing' ? [[e.dialOutId, e.state]] : [])));
      assert.deepEqual(states(), {
        busy: 'busy', invalid: 'invalid', failed: 'failed', rejected: 'rejected',
        // Nobody asks to press 1 without confirm, so the callee joins.
        unconfirmed: 'answered',
      });
      b.clock.advance(4_000);
      assert.deepEqual(states(), { noanswer: 'no-answer' });
      assert.equal(b.model.usage().inUse, 1, 'only the answered call holds a port');
    });

    it('draws outcomes from the odds with the seeded randomness, repeatably', () => {
      const run = (): string[] => {
        b = new Bench();
        const id = b.create();
        b.model.setDialOutPlan({ ringMs: 10, rules: [], odds: { answered: 1, busy: 1, 'no-answer': 1 } });
        for (let i = 0; i < 30; i++) dial(id, `d${i}`, '1,408,5551234');
        b.clock.advance(10);
        return b.take().flatMap((e) => (e.type === 'dialOut' && e.state !== 'ringing' ? [e.state] : []));
      };
      const first = run();
      assert.deepEqual(run(), first);
      assert.deepEqual(new Set(first), new Set(['answered', 'busy', 'no-answer']));
    });

    it('cancels while ringing, by cancel or by expelling its port', () => {
      const id = b.create();
      dial(id, 'd1', '1,408,5551234');
      dial(id, 'd2', '1,408,5551235');
      b.take();
      b.model.execute({ op: 'cancelDialOut', bridgeConfId: id, dialOutId: 'd1' });
      b.model.execute({ op: 'expel', bridgeConfId: id, port: '1/2' });
      assert.deepEqual(b.take().map((e) => e.type === 'dialOut' && `${e.dialOutId}:${e.state}`), ['d1:cancelled', 'd2:cancelled']);
      b.clock.advance(10_000);
      assert.deepEqual(b.take(), []);
      assert.equal(b.model.usage().inUse, 0);
      assert.throws(() => b.model.execute({ op: 'cancelDialOut', bridgeConfId: id, dialOutId: 'd1' }), refusedWith('BRIDGE_ERR_DIALOUT_NOT_FOUND'));
    });

    it('refuses a malformed number, a duplicate id and a full bridge', () => {
      b = new Bench({ spans: 1, channelsPerSpan: 1 });
      const id = b.create();
      assert.throws(() => dial(id, 'd1', '5551234'), refusedWith('BRIDGE_ERR_INVALID'));
      dial(id, 'd1', '1,408,5551234');
      assert.throws(() => dial(id, 'd1', '1,408,5551234'), refusedWith('BRIDGE_ERR_INVALID'));
      assert.throws(() => dial(id, 'd2', '1,408,5551234'), refusedWith('BRIDGE_ERR_NO_PORTS'));
    });

    it('joins a locked conference: only call-ins are refused', () => {
      const id = b.create();
      b.model.execute({ op: 'lockConference', bridgeConfId: id, locked: true });
      dial(id, 'd1', '1,408,5551234');
      b.clock.advance(3_000);
      assert.equal(b.model.snapshot().conferences[0]?.callers.length, 1);
    });
  });

  describe('sequence, snapshot, port usage and restart', () => {
    it('numbers events from 1 without gaps and snapshots name the last one', () => {
      const id = b.create();
      b.join();
      b.model.execute({ op: 'mute', bridgeConfId: id, port: '1/1', muted: true });
      assert.deepEqual(b.events.map((e) => e.seq), b.events.map((_, i) => i + 1));
      const snap = b.model.execute({ op: 'snapshot' });
      assert.equal(snap.eventSeq, b.events.at(-1)?.seq);
      assert.equal(snap.conferences[0]?.callers[0]?.mutedBy, 'command');
      assert.equal(snap.takenAt, b.clock.now());
    });

    it('reports port usage once per change', () => {
      b.create();
      b.join();
      b.join();
      const ports = b.events.filter((e) => e.event.type === 'ports').map((e) => e.event.type === 'ports' && e.event.usage.inUse);
      assert.deepEqual(ports, [1, 2]);
    });

    it('a restart keeping state keeps everything; losing it forgets calls and restarts the sequence', () => {
      const id = b.create();
      b.join();
      b.model.execute({ op: 'dialOut', bridgeConfId: id, dialOutId: 'd1', number: '1,408,5551234', confirm: false, silent: false });
      const before = b.model.snapshot();
      b.model.restart(true);
      assert.deepEqual(b.model.snapshot(), before);
      b.events.length = 0;
      b.model.restart(false);
      assert.deepEqual(b.events, [], 'a bridge that is down reports nothing');
      const after = b.model.snapshot();
      assert.deepEqual([after.eventSeq, after.conferences.length, after.ports.inUse], [0, 0, 0]);
      assert.equal(b.clock.pendingTimers, 0, 'no timer of the old life is left to fire');
      b.create();
      assert.equal(b.model.eventSeq, 1);
    });

    it('fills the default 1344-port chassis across 56 conferences, then refuses', () => {
      assert.deepEqual(b.model.usage(), { total: 1344, inUse: 0, reserved: 0 });
      for (let c = 0; c < 56; c++) {
        b.create({ confKey: String(100_000 + c) });
        for (let i = 0; i < 24; i++) b.join(String(100_000 + c));
      }
      assert.equal(b.model.usage().inUse, 1344);
      assert.equal(b.model.state().conferences.reduce((n, c) => n + c.callers.length, 0), 1344);
      assert.throws(() => b.join('100000'), refusedWith('BRIDGE_ERR_NO_PORTS'));
      assert.ok(b.model.state().conferences.some((c) => c.callers.some((x) => x.port === '56/24')));
    });
  });
});
