import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConference, dialInAndName, startStack, type Stack } from './support.js';

/** Issue 4, "keeping the bridge and WebEx in step": what happened while the link was down. */
describe('bridge link loss and resynchronisation', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  test('callers who joined or left while the link was down are reported after the reconnect', async () => {
    const { sim, emulator, logs } = stack;
    const confKey = '60600001';
    await createConference(sim, 'conf-resync', confKey);
    const leaving = await dialInAndName(stack, 'conf-resync', confKey, '14085550201');
    const resyncsBefore = logs.filter((l) => l.msg === 'bridge link up, resynchronised').length;

    // Cut every protocol connection; the caller changes happen before the driver is back
    // (its first reconnect waits at least reconnectInitialDelayMs / 2).
    assert.equal((await emulator.call('POST', '/faults/drop')).status, 204);
    await emulator.call('DELETE', `/ports/${leaving.port.replace('/', '-')}`);
    await emulator.dialIn(confKey, '14085550202');

    const left = await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === leaving.extCallId && m.Status === 1);
    assert.ok(left.message.Reason);
    const joined = await sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === 'conf-resync' && m.ExtCallID === '');
    assert.equal((await joined.answered)?.result, 0);
    assert.ok(logs.filter((l) => l.msg === 'bridge link up, resynchronised').length > resyncsBefore, 'the link was re-established');

    const bridge = await emulator.state();
    const conference = bridge.conferences.find((c) => c.options.confKey === confKey);
    assert.equal(conference?.callers.length, 1);
  });
});
