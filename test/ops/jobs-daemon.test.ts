/**
 * The daemon's scheduled work all runs through its job runner: the engine's maintenance, the
 * deep check and call-record rotation are named jobs, each run logged with its duration and
 * outcome. Runs are triggered by hand; no test waits for a schedule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/adaptor/config.js';
import { startStack, type Stack } from '../e2e/support.js';

describe('scheduled jobs in the daemon', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ deepCheck: { enabled: true }, jobs: { deepCheck: '0 0 1 1 *', reconcile: '0 0 1 1 *' } });
  });
  after(() => stack?.close());

  test('engine maintenance, the deep check and call-record rotation are named jobs', () => {
    assert.deepEqual(
      [...stack.daemon.jobs.names].sort(),
      ['call-record-rotation', 'compaction', 'deep-check', 'keepalive-sweep', 'reconcile'],
    );
  });

  test('a triggered run is logged with its duration and outcome', async () => {
    assert.equal(await stack.daemon.jobs.trigger('compaction'), 'success');
    assert.equal(await stack.daemon.jobs.trigger('reconcile'), 'success');
    const lines = stack.logs.filter((l) => l.component === 'jobs' && (l.job === 'compaction' || l.job === 'reconcile'));
    assert.deepEqual(lines.map((l) => [l.job, l.outcome, typeof l.tookMs]), [['compaction', 'success', 'number'], ['reconcile', 'success', 'number']]);
    assert.deepEqual((lines[0]!.summary as { forgotten: number }), { forgotten: 0 });
  });

  test('a schedule that is not a cron expression is refused with its key', () => {
    assert.throws(() => parseConfig({ jobs: { compaction: 'hourly' } }), /jobs\.compaction: must be a cron expression/);
  });
});
