import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConference, startStack, w2a, type Stack } from './support.js';

const CHASSIS_PORTS = 1344;
const PEER = 'https://127.0.0.1:9443/tsp';

/** Issue 4, "capacity, balancing, redirection" and the dial-out policy. */
describe('admission and dial-out policy', () => {
  let alone: Stack;
  let withPeer: Stack;

  before(async () => {
    alone = await startStack();
    withPeer = await startStack({ admission: { redirectURL: PEER } });
  });
  after(async () => {
    await alone?.close();
    await withPeer?.close();
  });

  /** Fills the bridge by promise: a conference expecting every port still free. */
  async function fillBridge(stack: Stack, confKey: string): Promise<void> {
    const { ports } = await stack.emulator.state();
    assert.equal(ports.total, CHASSIS_PORTS);
    const free = ports.total - ports.inUse - ports.reserved;
    await createConference(stack.sim, `conf-full-${confKey}`, confKey, { AttendeeCount: free });
  }

  test('a dial-out to a blocked prefix answers 44 and nothing is dialled', async () => {
    const { sim, emulator } = alone;
    const confKey = '70700005';
    await createConference(sim, 'conf-dial', confKey, { TollCallIn: true });
    const callout = w2a(sim).callout('conf-dial', 'call-blocked', '1,900,5550100');
    assert.equal((await sim.send([callout])).result, 0);
    const rsp = await sim.next('A2W_RspCallout', (m) => m.MsgID === callout.MsgID);
    assert.equal(rsp.message.Result, 44);
    const conference = (await emulator.state()).conferences.find((c) => c.options.confKey === confKey);
    assert.deepEqual(conference?.dialOuts, []);
  });

  test('an allowed dial-out answers 0 when picked up, then the caller enters with the same ExtCallID', async () => {
    const { sim, emulator } = alone;
    assert.equal((await emulator.call('PUT', '/dial-out-plan', { rules: [], odds: { answered: 1 }, ringMs: 50 })).status, 200);
    const callout = w2a(sim).callout('conf-dial', 'call-ok', '1,408,5550177');
    assert.equal((await sim.send([callout])).result, 0);
    const rsp = await sim.next('A2W_RspCallout', (m) => m.MsgID === callout.MsgID);
    assert.equal(rsp.message.Result, 0);
    const enter = await sim.next('A2W_NotifyUserEnter', (m) => m.ExtCallID === 'call-ok');
    assert.equal(enter.message.ExtConfID, 'conf-dial');
  });
  test('a full bridge answers Result 30', async () => {
    const { sim } = alone;
    await fillBridge(alone, '70700001');
    const create = w2a(sim).create('conf-no-room', '70700002', { AttendeeCount: 10 });
    assert.equal((await sim.send([create])).result, 0);
    const rsp = await sim.next('A2W_RspCreateConference', (m) => m.MsgID === create.MsgID);
    assert.equal(rsp.message.Result, 30);
  });

  test('with a peer adaptor configured, a full bridge answers Result 50 with its RedirectURL', async () => {
    const { sim } = withPeer;
    await fillBridge(withPeer, '70700003');
    const create = w2a(sim).create('conf-redirected', '70700004', { AttendeeCount: 10 });
    assert.equal((await sim.send([create])).result, 0);
    const rsp = await sim.next('A2W_RspCreateConference', (m) => m.MsgID === create.MsgID);
    assert.equal(rsp.message.Result, 50);
    assert.equal(rsp.message.RedirectURL, PEER);
  });

});
