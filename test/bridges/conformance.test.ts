/**
 * The driver conformance suite: the same scenarios, through the real emulator on ephemeral
 * ports, against every driver in DRIVERS. A new bridge driver is accepted by adding one line
 * there and passing. Scenarios a bridge model does not claim in its capabilities are checked
 * to fail honestly with BRIDGE_ERR_UNSUPPORTED instead.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import type { BridgeEvent, DialOutState } from '../../src/bridges/driver.js';
import { isBridgeError } from '../../src/bridges/errors.js';
import { createDriver, knownDrivers } from '../../src/bridges/registry.js';
import { ConformanceBench, type DriverUnderTest } from './support/conformance-bench.js';
import { nextDriverEvent } from './support/driver-events.js';

const DRIVERS: DriverUnderTest[] = [
  { driver: 'voyant2035', ports: (p) => ({ port: p.voyant2035 }) },
  { driver: 'voyant2313', ports: (p) => ({ port: p.voyant2313Request, notifyPort: p.voyant2313Notify }) },
];

const KEY = '123456';
const NUMBER = '1,408,5557000';

const byType = <T extends BridgeEvent['type']>(type: T) => (e: BridgeEvent): e is Extract<BridgeEvent, { type: T }> => e.type === type;

for (const under of DRIVERS) {
  describe(`driver conformance: ${under.driver}`, () => {
    let bench: ConformanceBench;

    beforeEach(async () => {
      bench = await ConformanceBench.start(under);
    });

    afterEach(async () => {
      await bench.close();
    });

    it('connects, resyncs on an empty bridge, and reports heartbeats with port usage', async () => {
      assert.equal(bench.driver.status.state, 'up');
      assert.equal(bench.resyncs.length, 1);
      const [heartbeat] = await nextDriverEvent(bench.driver, 'heartbeat');
      assert.equal(heartbeat.ports?.total, 1344);
      assert.equal(bench.driver.health().ports?.total, 1344);
    });

    it('creates, locks (a locked conference refuses call-in), unlocks and ends a conference', async () => {
      const conf = await bench.createConference(KEY);
      await bench.waitFor('started', (e) => e.type === 'conferenceChanged' && e.bridgeConfId === conf && e.state === 'started');
      await bench.driver.execute({ op: 'lockConference', bridgeConfId: conf, locked: true });
      await bench.waitFor('locked', (e) => e.type === 'conferenceChanged' && e.state === 'locked');
      const [dialledNumber = ''] = bench.emulator.model.callInNumbers;
      assert.throws(() => bench.emulator.model.callIn({ dialledNumber, digits: `${KEY}#` }), (e) => isBridgeError(e, 'BRIDGE_ERR_LOCKED'));
      await bench.driver.execute({ op: 'lockConference', bridgeConfId: conf, locked: false });
      const { port } = await bench.callIn(KEY);
      const from = bench.mark();
      await bench.driver.execute({ op: 'endConference', bridgeConfId: conf });
      const left = await bench.waitFor('caller left', byType('callerLeft'), from);
      assert.deepEqual(left, { type: 'callerLeft', bridgeConfId: conf, port, legId: (left as { legId: string }).legId, reason: 'conference-ended' });
      await bench.waitFor('ended', (e) => e.type === 'conferenceChanged' && e.state === 'ended', from);
      await assert.rejects(bench.driver.execute({ op: 'mute', bridgeConfId: conf, port, muted: true }), (e) => isBridgeError(e, 'BRIDGE_ERR_CONF_NOT_FOUND'));
    });

    it('refuses a conference key already in use', async () => {
      await bench.createConference(KEY);
      await assert.rejects(bench.createConference(KEY), (e) => isBridgeError(e, 'BRIDGE_ERR_KEY_IN_USE'));
    });

    it('mutes and unmutes one caller, reported as by command', async () => {
      const conf = await bench.createConference(KEY);
      const { port, joined } = await bench.callIn(KEY);
      assert.equal(joined.type === 'callerJoined' && joined.muted, false);
      const from = bench.mark();
      await bench.driver.execute({ op: 'mute', bridgeConfId: conf, port, muted: true });
      const muted = await bench.waitFor('muted', byType('muteChanged'), from);
      assert.deepEqual([muted.type === 'muteChanged' && muted.muted, muted.type === 'muteChanged' && muted.by], [true, 'command']);
      await bench.driver.execute({ op: 'mute', bridgeConfId: conf, port, muted: false });
      await bench.waitFor('unmuted', (e) => e.type === 'muteChanged' && !e.muted && e.by === 'command', from);
      await assert.rejects(bench.driver.execute({ op: 'mute', bridgeConfId: conf, port: '56/24', muted: true }), (e) => isBridgeError(e, 'BRIDGE_ERR_PORT_NOT_FOUND'));
    });

    it('mutes all but the presenter, and a late joiner joins muted', async () => {
      const caps = bench.driver.capabilities;
      const conf = await bench.createConference(KEY);
      const presenter = await bench.callIn(KEY, '4085550001');
      const other = await bench.callIn(KEY, '4085550002');
      const command = { op: 'muteAll' as const, bridgeConfId: conf, muted: true, exceptPort: presenter.port, applyToNewCallers: true };
      if (!caps.muteAllException || !caps.muteNewCallers) {
        await assert.rejects(bench.driver.execute(command), (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
        return;
      }
      const from = bench.mark();
      await bench.driver.execute(command);
      await bench.waitFor('other muted', (e) => e.type === 'muteChanged' && e.port === other.port && e.muted, from);
      const late = await bench.callIn(KEY, '4085550003');
      assert.equal(late.joined.type === 'callerJoined' && late.joined.muted, true);
      assert.ok(!bench.events.slice(from).some((e) => e.type === 'muteChanged' && e.port === presenter.port), 'the presenter keeps their state');
      const snapshot = await bench.driver.execute({ op: 'snapshot' });
      assert.deepEqual(snapshot.conferences[0]?.muteAll, { muted: true, exceptPort: presenter.port, applyToNewCallers: true });
    });

    it('expels a caller', async () => {
      const conf = await bench.createConference(KEY);
      const { port } = await bench.callIn(KEY);
      const from = bench.mark();
      await bench.driver.execute({ op: 'expel', bridgeConfId: conf, port });
      const left = await bench.waitFor('expelled', byType('callerLeft'), from);
      assert.equal(left.type === 'callerLeft' && left.reason, 'expelled');
    });

    for (const outcome of ['answered', 'busy', 'no-answer', 'rejected', 'invalid'] as const satisfies readonly DialOutState[]) {
      it(`dials out with confirmation and reports '${outcome}'`, async () => {
        const conf = await bench.createConference(KEY);
        bench.emulator.model.setDialOutPlan({ rules: [{ match: 'exact', number: NUMBER, outcome }], odds: { answered: 1 }, ringMs: 10 });
        const from = bench.mark();
        await bench.driver.execute({ op: 'dialOut', bridgeConfId: conf, dialOutId: 'd-1', number: NUMBER, name: 'Guest', confirm: true, silent: false });
        await bench.waitFor('ringing', (e) => e.type === 'dialOut' && e.state === 'ringing', from);
        const done = await bench.waitFor(outcome, (e) => e.type === 'dialOut' && e.state !== 'ringing', from);
        assert.equal(done.type === 'dialOut' && done.state, outcome);
        if (outcome === 'answered') {
          const joined = await bench.waitFor('dial-out joined', byType('callerJoined'), from);
          assert.equal(joined.type === 'callerJoined' && joined.dialOutId, 'd-1');
        } else {
          assert.deepEqual(bench.trueSnapshot().ports.inUse, 0);
        }
      });
    }

    it('cancels a dial-out while it rings', async () => {
      const conf = await bench.createConference(KEY);
      bench.emulator.model.setDialOutPlan({ rules: [], odds: { answered: 1 }, ringMs: 60_000 });
      const from = bench.mark();
      await bench.driver.execute({ op: 'dialOut', bridgeConfId: conf, dialOutId: 'd-2', number: NUMBER, confirm: false, silent: true });
      await bench.waitFor('ringing', (e) => e.type === 'dialOut' && e.state === 'ringing', from);
      const snapshot = await bench.driver.execute({ op: 'snapshot' });
      assert.equal(snapshot.conferences[0]?.dialOuts[0]?.state, 'ringing');
      await bench.driver.execute({ op: 'cancelDialOut', bridgeConfId: conf, dialOutId: 'd-2' });
      await bench.waitFor('cancelled', (e) => e.type === 'dialOut' && e.state === 'cancelled', from);
      await assert.rejects(bench.driver.execute({ op: 'cancelDialOut', bridgeConfId: conf, dialOutId: 'd-2' }), (e) => isBridgeError(e, 'BRIDGE_ERR_DIALOUT_NOT_FOUND'));
    });

    it('moves a caller to a sub-conference and back, within the advertised range', async () => {
      const caps = bench.driver.capabilities;
      const conf = await bench.createConference(KEY);
      const { port } = await bench.callIn(KEY);
      if (!caps.subConferences) {
        await assert.rejects(bench.driver.execute({ op: 'moveToSubConference', bridgeConfId: conf, port, subConfId: 1 }), (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
        return;
      }
      const from = bench.mark();
      await bench.driver.execute({ op: 'moveToSubConference', bridgeConfId: conf, port, subConfId: caps.maxSubConferences });
      await bench.waitFor('moved', (e) => e.type === 'subConferenceChanged' && e.subConfId === caps.maxSubConferences, from);
      await bench.driver.execute({ op: 'moveToSubConference', bridgeConfId: conf, port, subConfId: 0 });
      await bench.waitFor('back', (e) => e.type === 'subConferenceChanged' && e.subConfId === 0, from);
      await assert.rejects(
        bench.driver.execute({ op: 'moveToSubConference', bridgeConfId: conf, port, subConfId: caps.maxSubConferences + 1 }),
        (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED') || isBridgeError(e, 'BRIDGE_ERR_INVALID'),
      );
    });

    it('reports a keypad self-mute as by keypad, and DTMF', async () => {
      await bench.createConference(KEY);
      const { port } = await bench.callIn(KEY);
      const from = bench.mark();
      bench.emulator.model.sendDtmf(port, '*6');
      const muted = await bench.waitFor('self-muted', byType('muteChanged'), from);
      assert.deepEqual([muted.type === 'muteChanged' && muted.muted, muted.type === 'muteChanged' && muted.by], [true, 'keypad']);
      bench.emulator.model.sendDtmf(port, '42');
      const dtmf = await bench.waitFor('dtmf', byType('dtmf'), from);
      assert.equal(dtmf.type === 'dtmf' && dtmf.digits, '42');
    });

    it('reports talking started and stopped', async () => {
      await bench.createConference(KEY);
      const { port } = await bench.callIn(KEY);
      const from = bench.mark();
      assert.equal(bench.emulator.model.talk(port, 20), true);
      await bench.waitFor('talking', (e) => e.type === 'talking' && e.talking, from);
      await bench.waitFor('quiet', (e) => e.type === 'talking' && !e.talking, from);
    });

    it('plays tones where the bridge can, and refuses passthrough where it cannot', async () => {
      const caps = bench.driver.capabilities;
      const conf = await bench.createConference(KEY);
      const tone = bench.driver.execute({ op: 'playTone', bridgeConfId: conf, tone: 'beep' });
      if (caps.tones) await tone;
      else await assert.rejects(tone, (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
      if (!caps.passthrough) {
        await assert.rejects(bench.driver.execute({ op: 'passthrough', bridgeConfId: conf, data: 'x' }), (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
      }
    });

    it("a snapshot equals the bridge's true state", async () => {
      const conf = await bench.createConference(KEY, { muteOnEntry: true, entryTone: 'announce' });
      await bench.createConference('7777');
      const a = await bench.callIn(KEY, '4085550001');
      await bench.callIn(KEY, '4085550002');
      bench.emulator.model.sendDtmf(a.port, '*6');
      await bench.waitFor('self-unmuted', (e) => e.type === 'muteChanged' && e.by === 'keypad');
      await bench.driver.execute({ op: 'lockConference', bridgeConfId: conf, locked: true });
      bench.emulator.model.setDialOutPlan({ rules: [], odds: { answered: 1 }, ringMs: 60_000 });
      await bench.driver.execute({ op: 'dialOut', bridgeConfId: conf, dialOutId: 'd-3', number: NUMBER, confirm: false, silent: false });
      const { takenAt: _, ...snapshot } = await bench.driver.execute({ op: 'snapshot' });
      assert.deepEqual(snapshot, bench.trueSnapshot());
    });

    describe('faults', () => {
      it('a connection drop mid-command fails it with LINK_DOWN; the driver reconnects and resyncs', async () => {
        const conf = await bench.createConference(KEY);
        bench.emulator.endpoint.setFaults({ commandDelayMs: 10_000 });
        const resynced = bench.nextResync();
        const inFlight = bench.driver.execute({ op: 'lockConference', bridgeConfId: conf, locked: true });
        bench.emulator.endpoint.dropConnections();
        await assert.rejects(inFlight, (e) => isBridgeError(e, 'BRIDGE_ERR_LINK_DOWN') && e.message.includes('lockConference'));
        bench.emulator.endpoint.clearFaults();
        const snapshot = await resynced;
        assert.equal(snapshot.conferences[0]?.bridgeConfId, conf);
        assert.equal(bench.driver.health().reconnects, 1);
        await bench.driver.execute({ op: 'lockConference', bridgeConfId: conf, locked: true });
      });

      it('silent heartbeats with TCP open: the link goes stale, reconnects and resyncs', async () => {
        const stale = nextDriverEvent(bench.driver, 'status', (s) => s.state === 'stale');
        bench.emulator.endpoint.setFaults({ silentHeartbeats: true });
        await stale;
        const resynced = bench.nextResync();
        bench.emulator.endpoint.clearFaults();
        await resynced;
        assert.equal(bench.driver.status.state, 'up');
        assert.ok(bench.driver.health().reconnects >= 1);
      });

      it('a delayed reply times out, and the late reply is counted, not applied twice', async () => {
        const conf = await bench.createConference(KEY);
        bench.emulator.endpoint.setFaults({ commandDelayMs: 150 });
        const from = bench.mark();
        await assert.rejects(
          bench.driver.execute({ op: 'lockConference', bridgeConfId: conf, locked: true }, { timeoutMs: 30 }),
          (e) => isBridgeError(e, 'BRIDGE_ERR_TIMEOUT'),
        );
        // The bridge still runs it: the event tells so, and the late reply follows it.
        await bench.waitFor('locked late', (e) => e.type === 'conferenceChanged' && e.state === 'locked', from);
        bench.emulator.endpoint.clearFaults();
        // A reply on the same request path after the late one proves the late one was read.
        const snapshot = await bench.driver.execute({ op: 'snapshot' });
        assert.equal(snapshot.conferences[0]?.locked, true);
        assert.equal(bench.driver.health().unknownReplies, 1);
        assert.equal(bench.events.filter((e) => e.type === 'conferenceChanged' && e.state === 'locked').length, 1);
        assert.equal(bench.driver.status.state, 'up');
      });

      for (const fault of ['duplicateEvents', 'reorderEvents'] as const) {
        it(`${fault}: every event is delivered once, in the bridge's order`, async () => {
          const truthFrom = bench.truth.length;
          const from = bench.mark();
          bench.emulator.endpoint.setFaults({ [fault]: true });
          const conf = await bench.createConference(KEY);
          const a = await bench.callIn(KEY, '4085550001');
          const b = await bench.callIn(KEY, '4085550002');
          await bench.driver.execute({ op: 'mute', bridgeConfId: conf, port: a.port, muted: true });
          bench.emulator.model.sendDtmf(b.port, '*6');
          bench.emulator.model.sendDtmf(b.port, '123');
          await bench.driver.execute({ op: 'lockConference', bridgeConfId: conf, locked: true });
          // The endpoint releases a held (reordered) last event when the fault is cleared.
          bench.emulator.endpoint.clearFaults();
          const expected = bench.truth.slice(truthFrom).map((e) => e.event);
          const last = expected[expected.length - 1];
          await bench.waitFor('the last event', (e) => JSON.stringify(e) === JSON.stringify(last), from);
          assert.deepEqual(bench.events.slice(from), expected);
          if (fault === 'duplicateEvents') assert.ok(bench.driver.health().duplicateEvents >= expected.length);
        });
      }

      for (const keepState of [false, true]) {
        it(`a bridge restart ${keepState ? 'keeping' : 'losing'} its state: the resync snapshot shows the new state`, async () => {
          await bench.createConference(KEY);
          await bench.callIn(KEY);
          const resynced = bench.nextResync();
          bench.emulator.endpoint.restart(keepState);
          const snapshot = await resynced;
          assert.equal(snapshot.conferences.length, keepState ? 1 : 0);
          const { takenAt: _, ...rest } = snapshot;
          assert.deepEqual(rest, bench.trueSnapshot());
          // The new connection's events flow again, whatever the bridge's sequence restarted at.
          const from = bench.mark();
          await bench.createConference('4444');
          await bench.waitFor('started after restart', (e) => e.type === 'conferenceChanged' && e.state === 'started', from);
        });
      }
    });
  });
}

describe('driver registry', () => {
  it('creates every standard driver by name, and names the known ones for an unknown name', () => {
    for (const { driver } of DRIVERS) assert.ok(knownDrivers().includes(driver));
    const config = {
      id: 'b1', driver: 'nope', host: '127.0.0.1', port: 1, username: 'u', password: 'p',
      heartbeatIntervalMs: 1_000, missedHeartbeats: 3, commandTimeoutMs: 1_000, reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 100,
    };
    assert.throws(() => createDriver(config, { logger: pino({ level: 'silent' }) }), /unknown driver 'nope'; known drivers: .*voyant2035/);
  });
});
