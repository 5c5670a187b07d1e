/**
 * The job runner: named jobs, no overlap, outcomes logged and exported. Schedules are fired by
 * hand through a manual scheduler; no test waits on the wall clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { JobRunner, type JobOutcome, type Schedule, type Scheduler } from '../../src/adaptor/jobs/job-runner.js';

class ManualScheduler implements Scheduler {
  readonly armed = new Map<string, { when: Schedule; fire: () => Promise<JobOutcome> }>();
  schedule(name: string, when: Schedule, fire: () => Promise<JobOutcome>) {
    this.armed.set(name, { when, fire });
    return { stop: () => void this.armed.delete(name) };
  }
  fire(name: string): Promise<JobOutcome> {
    const job = this.armed.get(name);
    if (!job) throw new Error(`${name} is not scheduled`);
    return job.fire();
  }
}

function setUp() {
  const registry = new Registry();
  const scheduler = new ManualScheduler();
  let now = 1_700_000_000_000;
  const runner = new JobRunner({ registry, scheduler, logger: pino({ level: 'silent' }), now: () => (now += 250) });
  const value = async (name: string, labels: Record<string, string>) => {
    const values = (await registry.getMetricsAsJSON()).flatMap((m) => m.values.map((v) => ({ ...v, name: (v as { metricName?: string }).metricName ?? m.name })));
    return values.find((v) => v.name === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };
  return { registry, scheduler, runner, value };
}

describe('job runner', () => {
  test('a job runs when its schedule fires, and its success is exported', async () => {
    const { scheduler, runner, value } = setUp();
    let runs = 0;
    runner.register({ name: 'sweep', schedule: '*/30 * * * * *', run: () => { runs++; } });
    runner.start();
    assert.equal(scheduler.armed.get('sweep')?.when, '*/30 * * * * *');
    assert.equal(await scheduler.fire('sweep'), 'success');
    assert.equal(await runner.trigger('sweep'), 'success');
    assert.equal(runs, 2);
    assert.equal(await value('tsp_job_runs_total', { job: 'sweep', outcome: 'success' }), 2);
    assert.ok((await value('tsp_job_last_success_timestamp_seconds', { job: 'sweep' }))! > 1_700_000_000);
    assert.equal(await value('tsp_job_duration_seconds_count', { job: 'sweep' }), 2);
  });

  test('a run still going when the next falls due is skipped and counted', async () => {
    const { runner, value } = setUp();
    let release: () => void = () => {};
    let runs = 0;
    runner.register({ name: 'reconcile', schedule: '0 * * * * *', run: () => { runs++; return new Promise<void>((r) => { release = r; }); } });
    const first = runner.trigger('reconcile');
    assert.equal(await runner.trigger('reconcile'), 'skipped');
    release();
    assert.equal(await first, 'success');
    assert.equal(runs, 1);
    assert.equal(await value('tsp_job_runs_total', { job: 'reconcile', outcome: 'skipped' }), 1);
  });

  test('a failing run is a failure: last run moves, last success does not', async () => {
    const { runner, value } = setUp();
    runner.register({ name: 'compaction', schedule: '0 0 * * * *', run: () => { throw new Error('disk full'); } });
    assert.equal(await runner.trigger('compaction'), 'failure');
    assert.ok((await value('tsp_job_last_run_timestamp_seconds', { job: 'compaction' }))! > 0);
    assert.equal(await value('tsp_job_last_success_timestamp_seconds', { job: 'compaction' }), undefined);
    assert.equal(await value('tsp_job_runs_total', { job: 'compaction', outcome: 'failure' }), 1);
  });

  test('a bad schedule or a second job of the same name is refused with its name', () => {
    const { runner } = setUp();
    assert.throws(() => runner.register({ name: 'x', schedule: 'every minute', run: () => {} }), /"every minute" for x is not a cron expression/);
    assert.throws(() => runner.register({ name: 'y', schedule: { everyMs: 0 }, run: () => {} }), /for y is not a cron expression/);
    runner.register({ name: 'x', schedule: '* * * * *', run: () => {} });
    assert.throws(() => runner.register({ name: 'x', schedule: '* * * * *', run: () => {} }), /already registered/);
  });

  test('close stops the schedules and waits for the run under way', async () => {
    const { scheduler, runner } = setUp();
    let finished = false;
    let release: () => void = () => {};
    runner.register({ name: 'slow', schedule: '* * * * * *', run: () => new Promise<void>((r) => { release = () => { finished = true; r(); }; }) });
    runner.start();
    const firing = scheduler.fire('slow');
    const closed = runner.close();
    assert.equal(scheduler.armed.size, 0);
    release();
    await closed;
    assert.equal(finished, true);
    assert.equal(await firing, 'success');
    assert.equal(await runner.trigger('slow'), 'skipped');
  });
});
