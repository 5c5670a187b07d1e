import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { Engine, type A2WPoster } from '../../src/adaptor/engine.js';
import { withDefaults } from '../../src/adaptor/options.js';
import { MemoryStore } from '../../src/adaptor/store/memory-store.js';
import { createCodec, type A2WMessage, type TspCodec } from '../../src/protocol/index.js';
import { FakeClock } from './support/fake-clock.js';
import { FakeDriver } from './support/fake-driver.js';
import { WEBEX_URL, w2a } from './support/harness.js';

const codecs: TspCodec[] = [];
after(() => codecs.forEach((c) => c.close()));

describe('A2W messages on the wire', () => {
  it('every A2W message the engine produces is valid against the DTD and confirmed', async () => {
    const codec = await createCodec();
    codecs.push(codec);
    const received: A2WMessage[] = [];
    const rejected: string[] = [];
    // WebEx's side: decodes each body with the same DTD and answers the Confirmation it deserves.
    const post: A2WPoster = async (_url, body) => {
      const decoded = codec.decode(body, { direction: 'A2W' });
      if (!decoded.ok) {
        rejected.push(decoded.reason);
        return { status: 200, body: codec.encodeConfirmation(decoded.transId ?? 'unknown', decoded.result) };
      }
      received.push(...(decoded.messages as A2WMessage[]));
      return { status: 200, body: codec.encodeConfirmation(decoded.transId, 0) };
    };
    const driver = new FakeDriver();
    const clock = new FakeClock();
    const engine = new Engine({
      store: new MemoryStore(), drivers: [driver], codec, post, logger: pino({ level: 'silent' }), clock,
      options: withDefaults({
        webex: { allowedHosts: ['https://webex-a.test'] },
        numbers: { tollNumber: '1,408,5550000', tollFreeNumber: '1,800,5550000', globalNumberURL: 'https://numbers.test/list' },
        hybrid: { enabled: true, sdkToken: 'token', clientURL: 'https://hybrid.test/client', adhocInstall: true, seamlessSwitchEnabled: false, appDetection: 'auto' },
        conference: { speakingHoldOffMs: 10 },
      }),
    });
    await engine.start();
    let n = 0;
    const send = async (...messages: Parameters<typeof engine.accept>[0]['messages']): Promise<void> => {
      assert.equal(await engine.accept({ transId: `tx-${++n}`, messages, receivedAt: clock.now() }), 0);
      await engine.settled();
    };
    await send(w2a.create('conf-1', '123456'));
    const bc = [...driver.conferences.keys()][0]!;
    const caller = driver.join(bc, { callerId: '1,408,5550100', dialledNumber: '1,800,5550000', name: 'Ann' });
    await engine.settled();
    const enter = received.find((m) => m.type === 'A2W_NotifyUserEnter')!;
    await send(w2a.rspEnter(enter.MsgID, 'conf-1', 'call-1'));
    driver.event({ type: 'talking', bridgeConfId: bc, port: caller.port, legId: caller.legId, talking: true });
    clock.advance(10);
    driver.event({ type: 'passthrough', bridgeConfId: bc, port: caller.port, data: 'ZGF0YQ==' });
    await send(w2a.mute('conf-1', 'call-1', true), w2a.muteAll('conf-1', false), w2a.sub('conf-1', 'call-1', 2), w2a.lock('conf-1', true));
    await send(w2a.callout('conf-1', 'call-2', '1,408,5550123'));
    const dial = driver.ops('dialOut')[0]!;
    driver.event({ type: 'dialOut', bridgeConfId: bc, dialOutId: dial.op === 'dialOut' ? dial.dialOutId : '', state: 'busy' });
    await send(w2a.expel('conf-1', 'call-1'), w2a.end('conf-1'), { ...w2a.end('unknown'), WbxHostName: WEBEX_URL });
    await engine.close();
    assert.deepEqual(rejected, []);
    assert.deepEqual(new Set(received.map((m) => m.type)), new Set([
      'A2W_RspCreateConference', 'A2W_NotifyConferenceChange', 'A2W_NotifyUserEnter', 'A2W_NotifyUserChange',
      'A2W_CSPClientPassthrough', 'A2W_RspMuteUser', 'A2W_RspMuteConference', 'A2W_RspAddToSubConference',
      'A2W_RspLockConference', 'A2W_RspCallout', 'A2W_RspExpelUser', 'A2W_RspEndConference',
    ]));
    assert.equal(engine.counters.deadLetters, 0);
  });
});
