import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../../src/common/typed-emitter.js';
import { startStack, w2a, type Stack } from './support.js';

const REFUSALS_WHILE_DOWN = 3;

/** Spec 3.5 and 4: A2W delivery survives WebEx's endpoint being away, in order, once per TransID. */
describe("WebEx's endpoint down for a while, then back", () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  test('everything produced meanwhile is delivered afterwards, in order, each TransID taken once', async () => {
    const { sim, emulator } = stack;
    const confKey = '80800001';
    sim.setPolicy({ kind: 'down' });
    const create = w2a(sim).create('conf-down', confKey);
    assert.equal((await sim.send([create])).result, 0);
    for (let refused = 0; refused < REFUSALS_WHILE_DOWN; refused += 1) await nextEvent(sim, 'refused');
    sim.setPolicy({ kind: 'http', status: 503 });
    await nextEvent(sim, 'refused');
    sim.setPolicy({ kind: 'result', result: 7 });
    await nextEvent(sim, 'refused');
    sim.setPolicy({ kind: 'ok' });

    const rsp = await sim.next('A2W_RspCreateConference', (m) => m.MsgID === create.MsgID);
    const creating = await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === 'conf-down' && m.Status === 1);
    const running = await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === 'conf-down' && m.Status === 0);
    assert.ok(rsp.seq < creating.seq && creating.seq < running.seq, 'in the order they were produced');

    await emulator.dialIn(confKey);
    const enter = await sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === 'conf-down');
    assert.ok(enter.seq > running.seq);

    // Messages that waited for WebEx share a POST (one TransID) now; none may arrive twice.
    const msgIds = sim.received.map((r) => r.message.MsgID);
    assert.equal(new Set(msgIds).size, msgIds.length, 'no message taken twice');
  });
});
