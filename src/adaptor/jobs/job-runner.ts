/**
 * Scheduled jobs: named bodies run on cron schedules (node-cron, six fields with seconds) or,
 * for the engine's work whose period follows from its own options, every so many ms. Each
 * run logged with its duration and outcome and exported as metrics. A job never overlaps
 * itself: a run still going when the next falls due is skipped, logged and counted.
 *
 * The engine's maintenance (keep-alive clean-up, reconciliation sweeps, compaction), the deep
 * health check and call-record rotation are all registered here by the composition root, so
 * there is one mechanism to read in the logs and one set of series to alert on. `trigger(name)`
 * runs a job now, through the same path (tests use it, with a scheduler that never fires).
 */
import cron from 'node-cron';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface JobDefinition {
  /** Names the job in logs and in the `job` label, e.g. `keepalive-sweep`. */
  name: string;
  /** A node-cron expression (six fields put seconds first: `*\/30 * * * * *`), or a period. */
  schedule: Schedule;
  /** Resolves when done; a rejection is the run's failure. May return a short summary to log. */
  run: () => Promise<unknown> | unknown;
}

export type Schedule = string | { everyMs: number };

export type JobOutcome = 'success' | 'failure' | 'skipped';

/** What fires a job on its schedule; node-cron by default, a manual one in tests. */
export interface Scheduler {
  /** `fire` resolves when the run it started (or skipped) is over. */
  schedule(name: string, when: Schedule, fire: () => Promise<JobOutcome>): { stop(): void };
}

/** node-cron for expressions, an unref'd interval for periods. */
export const cronScheduler: Scheduler = {
  schedule(name, when, fire) {
    if (typeof when !== 'string') {
      const timer = setInterval(() => void fire(), when.everyMs);
      timer.unref();
      return { stop: () => clearInterval(timer) };
    }
    // Overlap is the runner's to decide, so a skipped run is logged and counted.
    const task = cron.schedule(when, () => void fire(), { name, noOverlap: false });
    return { stop: () => void task.destroy() };
  },
};

export interface JobRunnerOptions {
  registry: Registry;
  logger: Logger;
  scheduler?: Scheduler;
  /** ms since epoch. */
  now?: () => number;
}

const MS_PER_S = 1_000;
const DURATION_BUCKETS_S = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

interface Job extends JobDefinition {
  running: Promise<JobOutcome> | undefined;
  stop: (() => void) | undefined;
}

export class JobRunner {
  #jobs = new Map<string, Job>();
  #state: 'registering' | 'started' | 'closed' = 'registering';
  #scheduler: Scheduler;
  #logger: Logger;
  #now: () => number;
  #lastRun: Gauge<'job'>;
  #lastSuccess: Gauge<'job'>;
  #duration: Histogram<'job'>;
  #runs: Counter<'job' | 'outcome'>;

  constructor(options: JobRunnerOptions) {
    this.#scheduler = options.scheduler ?? cronScheduler;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    const registers = [options.registry];
    this.#lastRun = new Gauge({ name: 'tsp_job_last_run_timestamp_seconds', help: 'When each job last finished a run (success or failure), Unix time.', labelNames: ['job'], registers });
    this.#lastSuccess = new Gauge({ name: 'tsp_job_last_success_timestamp_seconds', help: 'When each job last succeeded, Unix time.', labelNames: ['job'], registers });
    this.#duration = new Histogram({ name: 'tsp_job_duration_seconds', help: 'How long job runs took.', labelNames: ['job'], buckets: DURATION_BUCKETS_S, registers });
    this.#runs = new Counter({ name: 'tsp_job_runs_total', help: 'Job runs by outcome; skipped means the previous run was still going.', labelNames: ['job', 'outcome'], registers });
  }

  /** Adds a job; its schedule is checked now, so a bad expression stops start-up with its name. */
  register(job: JobDefinition): void {
    if (this.#state === 'closed') throw new Error(`JobRunner.register(${job.name}): the runner is closed`);
    if (this.#jobs.has(job.name)) throw new Error(`JobRunner.register: a job named "${job.name}" is already registered`);
    if (typeof job.schedule === 'string' ? !cron.validate(job.schedule) : !(job.schedule.everyMs >= 1)) {
      throw new Error(`jobs: ${JSON.stringify(job.schedule)} for ${job.name} is not a cron expression (five fields, or six with seconds first, e.g. "*/30 * * * * *") nor a period of 1 ms or more`);
    }
    const entry: Job = { ...job, running: undefined, stop: undefined };
    this.#jobs.set(job.name, entry);
    for (const outcome of ['success', 'failure', 'skipped'] as const) this.#runs.inc({ job: job.name, outcome }, 0);
    if (this.#state === 'started') this.#arm(entry);
  }

  /** Starts every schedule; jobs registered later start at once. */
  start(): void {
    if (this.#state !== 'registering') return;
    this.#state = 'started';
    for (const job of this.#jobs.values()) this.#arm(job);
  }

  get names(): string[] {
    return [...this.#jobs.keys()];
  }

  /** Runs `name` now, unless a run of it is still going (then `skipped`). */
  trigger(name: string): Promise<JobOutcome> {
    const job = this.#jobs.get(name);
    if (!job) return Promise.reject(new Error(`JobRunner.trigger: no job named "${name}"; known: ${this.names.join(', ')}`));
    if (this.#state === 'closed') return Promise.resolve('skipped');
    if (job.running) {
      this.#runs.inc({ job: name, outcome: 'skipped' });
      this.#logger.warn({ job: name }, `job ${name} skipped: its previous run is still going`);
      return Promise.resolve('skipped');
    }
    const running = this.#run(job).finally(() => {
      job.running = undefined;
    });
    job.running = running;
    return running;
  }

  /** Stops the schedules and waits for runs under way. Idempotent. */
  async close(): Promise<void> {
    this.#state = 'closed';
    for (const job of this.#jobs.values()) {
      job.stop?.();
      job.stop = undefined;
    }
    await Promise.allSettled([...this.#jobs.values()].map((j) => j.running));
  }

  #arm(job: Job): void {
    const task = this.#scheduler.schedule(job.name, job.schedule, () => this.trigger(job.name));
    job.stop = () => task.stop();
  }

  async #run(job: Job): Promise<JobOutcome> {
    const started = this.#now();
    let outcome: JobOutcome;
    let summary: unknown;
    let error: unknown;
    try {
      summary = await job.run();
      outcome = 'success';
    } catch (err) {
      error = err;
      outcome = 'failure';
    }
    const finished = this.#now();
    const tookMs = finished - started;
    this.#duration.observe({ job: job.name }, tookMs / MS_PER_S);
    this.#lastRun.set({ job: job.name }, finished / MS_PER_S);
    this.#runs.inc({ job: job.name, outcome });
    if (outcome === 'success') {
      this.#lastSuccess.set({ job: job.name }, finished / MS_PER_S);
      this.#logger.info({ job: job.name, tookMs, outcome, ...(summary === undefined ? {} : { summary }) }, `job ${job.name} done in ${tookMs} ms`);
    } else {
      this.#logger.error({ job: job.name, tookMs, outcome, err: error }, `job ${job.name} failed after ${tookMs} ms; it runs again at its next time`);
    }
    return outcome;
  }
}
