/**
 * The deep health check against the real emulator through the real daemon: a probe conference,
 * a loopback dial-out, mute and unmute, end. A bridge that keeps its TCP link and heartbeats but
 * refuses or delays commands fails it, and /readyz and tsp_deep_check_success say so. Runs are
 * triggered through the job runner; the schedule itself never fires during the test.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { startStack, type Stack } from '../e2e/support.js';

const LOOPBACK = '1,408,5550123';
const STEP_TIMEOUT_MS = 500;

describe('deep health check', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      deepCheck: { enabled: true, loopbackNumber: LOOPBACK, stepTimeoutMs: STEP_TIMEOUT_MS, answerTimeoutMs: 5_000 },
      // Once a year: only the test's triggers run it.
      jobs: { deepCheck: '0 0 1 1 *' },
    });
    const plan = await stack.emulator.call('PUT', '/dial-out-plan', { rules: [{ match: 'exact', number: LOOPBACK, outcome: 'answered', ringMs: 20 }] });
    assert.equal(plan.status, 200);
  });
  after(() => stack?.close());
  afterEach(async () => {
    await stack.emulator.call('DELETE', '/faults');
  });

  const readyz = async () => {
    const res = await fetch(`${stack.daemon.adminUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; reasons: string[] } };
  };
  const metrics = async () => (await fetch(`${stack.daemon.adminUrl}/metrics`)).text();
  const successGauge = async () => {
    const text = await metrics();
    const line = text.split('\n').find((l) => l.startsWith('tsp_deep_check_success{bridge="emulator"'));
    return line ? Number(line.split(' ').at(-1)) : undefined;
  };

  test('a bridge that carries out commands passes, and the probe conference is gone after', async () => {
    assert.equal(await stack.daemon.jobs.trigger('deep-check'), 'success');
    assert.equal(await successGauge(), 1);
    assert.equal((await readyz()).status, 200);
    const state = await stack.emulator.state();
    assert.equal(state.conferences.filter((c) => c.options.confKey.startsWith('9999')).length, 0);
    assert.doesNotMatch(await metrics(), /tsp_dialout_outcomes_total\{/, 'the probe\'s dial-outs are not WebEx\'s');
  });

  test('a bridge that answers TCP but refuses commands fails it and is not ready', async () => {
    await stack.emulator.call('PUT', '/faults/refuse');
    assert.equal(await stack.daemon.jobs.trigger('deep-check'), 'failure');
    assert.equal(await successGauge(), 0);
    const { status, body } = await readyz();
    assert.equal(status, 503);
    assert.match(body.reasons.join(), /emulator failed its deep check at step create/);
  });

  test('a bridge that delays commands past the step deadline fails it; passing again restores readiness', async () => {
    await stack.emulator.call('PUT', '/faults/delay', { ms: STEP_TIMEOUT_MS * 4 });
    assert.equal(await stack.daemon.jobs.trigger('deep-check'), 'failure');
    assert.equal((await readyz()).status, 503);
    await stack.emulator.call('DELETE', '/faults');
    assert.equal(await stack.daemon.jobs.trigger('deep-check'), 'success');
    assert.equal((await readyz()).status, 200);
  });
});
