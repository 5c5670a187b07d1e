import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createConference, startStack, type Stack } from './support.js';

const KEEP_ALIVE_TIMEOUT_MS = 400;

/** Spec 3.1, W2A_KeepAliveConference: a forgotten, empty conference is ended and cleaned up. */
describe('keep-alive clean-up', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ conference: { keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS } });
  });
  after(async () => {
    await stack?.close();
  });

  test('a conference with no keep-alive, no message and no caller is ended with Status 3', async () => {
    const { sim, emulator } = stack;
    const confKey = '90900001';
    await createConference(sim, 'conf-forgotten', confKey);
    const ended = await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === 'conf-forgotten' && m.Status === 3);
    assert.ok(ended);
    const bridge = await emulator.state();
    assert.equal(bridge.conferences.filter((c) => c.options.confKey === confKey).length, 0);
  });

  test('a conference with a caller is kept however long it goes without keep-alive', async () => {
    const { sim, emulator } = stack;
    const confKey = '90900002';
    await createConference(sim, 'conf-busy', confKey);
    await emulator.dialIn(confKey);
    await sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === 'conf-busy');
    // A later conference's clean-up proves sweeps ran meanwhile.
    await createConference(sim, 'conf-marker', '90900003');
    await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === 'conf-marker' && m.Status === 3);
    assert.equal(sim.all('A2W_NotifyConferenceChange').filter((r) => r.message.ExtConfID === 'conf-busy' && r.message.Status === 3).length, 0);
    assert.equal((await emulator.state()).conferences.filter((c) => c.options.confKey === confKey).length, 1);
  });
});
