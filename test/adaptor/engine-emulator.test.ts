/**
 * The engine against the real drivers and the bridge emulator over TCP on loopback: the driver
 * contract as the engine relies on it (resync at start, events, replies), for each driver.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { Engine } from '../../src/adaptor/engine.js';
import { withDefaults } from '../../src/adaptor/options.js';
import { MemoryStore } from '../../src/adaptor/store/memory-store.js';
import type { DriverConfig } from '../../src/bridges/driver.js';
import { Emulator, type EmulatorPorts } from '../../src/bridges/emulator/emulator.js';
import { createDriver } from '../../src/bridges/registry.js';
import { FakeWebex, jsonCodec } from './support/fake-webex.js';
import { w2a } from './support/harness.js';

const DRIVERS: { driver: string; ports: (p: EmulatorPorts) => Pick<DriverConfig, 'port' | 'notifyPort'> }[] = [
  { driver: 'voyant2035', ports: (p) => ({ port: p.voyant2035 }) },
  { driver: 'voyant2313', ports: (p) => ({ port: p.voyant2313Request, notifyPort: p.voyant2313Notify }) },
];

for (const under of DRIVERS) {
  describe(`engine with the ${under.driver} driver and the emulator`, () => {
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
    });

    async function start() {
        const emulator = new Emulator({ username: 'u', password: 'p', heartbeatIntervalMs: 1_000 });
        closers.push(() => emulator.close());
        const ports = await emulator.start();
        const logger = pino({ level: 'silent' });
        const driver = createDriver({
          id: 'emu', driver: under.driver, host: '127.0.0.1', ...under.ports(ports), username: 'u', password: 'p',
          heartbeatIntervalMs: 1_000, missedHeartbeats: 3, commandTimeoutMs: 2_000, reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 500,
        }, { logger });
        const webex = new FakeWebex();
        const engine = new Engine({
          store: new MemoryStore(), drivers: [driver], codec: jsonCodec, post: webex.post, logger,
          options: withDefaults({ webex: { allowedHosts: ['https://webex-a.test'] } }),
        });
        closers.push(() => engine.close());
        await engine.start();
        const send = async (...messages: Parameters<Engine['accept']>[0]['messages']): Promise<void> => {
          assert.equal(await engine.accept({ transId: `${under.driver}-${Math.random()}`, messages, receivedAt: Date.now() }), 0);
          await engine.settled();
        };
      return { emulator, engine, webex, send };
    }

    it('creates a conference, announces a dial-in caller, mutes it and ends the conference', async () => {
      const { emulator, engine, webex, send } = await start();
      await send(w2a.create('conf-1', '123456'));
      assert.deepEqual(webex.of('A2W_RspCreateConference').map((m) => m.Result), [0]);

      const [dialledNumber = ''] = emulator.model.callInNumbers;
      emulator.model.callIn({ dialledNumber, digits: '123456#', callerId: '1,408,5550199' });
      await webex.waitFor('A2W_NotifyUserEnter');
      const enter = webex.of('A2W_NotifyUserEnter')[0]!;
      assert.deepEqual([enter.ExtCallID, enter.CallerID], ['', '1,408,5550199']);
      await send(w2a.rspEnter(enter.MsgID, 'conf-1', 'call-1'));

      await send(w2a.mute('conf-1', 'call-1', true));
      assert.deepEqual(webex.of('A2W_RspMuteUser').map((m) => m.Result), [0]);
      const bridgeConf = emulator.model.snapshot().conferences[0]!;
      assert.equal(bridgeConf.callers[0]!.muted, true);

      await send(w2a.end('conf-1'));
      await webex.waitFor('A2W_NotifyConferenceChange', 3);
      assert.deepEqual(webex.of('A2W_RspEndConference').map((m) => m.Result), [0]);
      assert.deepEqual(webex.of('A2W_NotifyConferenceChange').map((m) => m.Status), [1, 0, 3]);
      assert.equal(emulator.model.snapshot().conferences.length, 0);
      assert.equal(engine.counters.deadLetters, 0);
    });

    it('dials out: the callout is answered 0 and the callee enters with the callout ExtCallID', async () => {
      const { emulator, webex, send } = await start();
      emulator.model.setDialOutPlan({ rules: [], odds: { answered: 1 }, ringMs: 0 });
      await send(w2a.create('conf-1', '123456'));
      await send(w2a.callout('conf-1', 'call-9', '1,408,5550123', { Name: 'Bob' }));
      await webex.waitFor('A2W_NotifyUserEnter');
      assert.deepEqual(webex.of('A2W_RspCallout').map((m) => [m.ExtCallID, m.Result]), [['call-9', 0]]);
      assert.deepEqual(webex.of('A2W_NotifyUserEnter').map((m) => m.ExtCallID), ['call-9']);
    });

    it('a caller who joins while the link is down is reported after the resync', async () => {
      const { emulator, engine, webex, send } = await start();
      await send(w2a.create('conf-1', '123456'));
      emulator.endpoint.dropConnections();
      const [dialledNumber = ''] = emulator.model.callInNumbers;
      emulator.model.callIn({ dialledNumber, digits: '123456#', callerId: '1,408,5550142' });
      await webex.waitFor('A2W_NotifyUserEnter');
      assert.deepEqual(webex.of('A2W_NotifyUserEnter').map((m) => m.CallerID), ['1,408,5550142']);
      await engine.settled();
      assert.equal(webex.of('A2W_NotifyUserEnter').length, 1, 'reported once');
      assert.equal(engine.counters.corrections.get('caller-joined-unreported'), 1, 'found by the resync, the event having been lost');
    });
  });
}
