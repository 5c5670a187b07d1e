/**
 * The deep health check: proves each bridge still carries out commands, not merely that its TCP
 * link answers heartbeats. On every bridge whose link is up it creates a probe conference
 * (ConfKey = a reserved prefix + random digits), and where a loopback number is configured and
 * the bridge can dial out, dials it, expects the leg to join, mutes and unmutes it and expects
 * both changes reported back; then ends the conference. Every step has a deadline; the first
 * that fails or runs out of time fails the bridge's check. Without a loopback number the caller
 * steps are reported `skipped` with the reason, and the create/end round trip still runs.
 *
 * It drives the driver contract directly (never through WebEx or the engine), so the engine
 * sees the probe's events as for an unknown bridge conference and leaves them alone. The last
 * verdict per bridge feeds /readyz and the `tsp_deep_check_*` series.
 *
 * The bridges to probe are asked for at each run: on a cluster member they are those of the
 * engine of the current take-over, and none on a standby (which then has nothing to check).
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { BridgeCommand, BridgeDriver, BridgeEvent } from '../../bridges/driver.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { BridgeReadinessInput, DeepCheckVerdict } from './readiness.js';

export interface DeepCheckOptions {
  /** ConfKeys starting with this are the probe's; keep the range out of what WebEx hands out. */
  confKeyPrefix: string;
  /** Deadline of each step (a command and the event it should bring back). */
  stepTimeoutMs: number;
  /** How long the loopback number may ring: the join step's deadline. */
  answerTimeoutMs: number;
  /** `CountryCode,AreaCode,LocalNumber` that answers and stays on the line; none: no caller steps. */
  loopbackNumber?: string;
}

export type ProbeStep = 'link' | 'create' | 'dial-out' | 'join' | 'mute' | 'unmute' | 'end';

export interface StepReport {
  step: ProbeStep;
  outcome: 'ok' | 'skipped' | 'failed';
  detail?: string;
}

export interface DeepCheckResult {
  bridge: string;
  verdict: DeepCheckVerdict;
  tookMs: number;
  steps: StepReport[];
}

type ProbeDriver = Pick<BridgeDriver, 'id' | 'status' | 'capabilities' | 'execute' | 'on' | 'off'>;

export interface DeepCheckDeps {
  /** The bridges this instance drives now. */
  drivers: () => readonly ProbeDriver[];
  options: DeepCheckOptions;
  registry: Registry;
  logger: Logger;
  /** ms since epoch. */
  now?: () => number;
}

/** Dial-outs of the probe carry ids with this prefix, so metrics can leave them out. */
export const PROBE_DIAL_OUT_PREFIX = 'probe-';
/** Digits after the prefix: enough that two probes (two instances) do not meet. */
const PROBE_KEY_DIGITS = 6;
const MS_PER_S = 1_000;

/**
 * The deep check as the configuration asks (`deepCheck`, `jobs.deepCheck`), registered as a job;
 * undefined when it is disabled. The same for a single instance and a cluster member.
 */
export function scheduleDeepCheck(deps: Omit<DeepCheckDeps, 'options'> & {
  config: DeepCheckOptions & { enabled: boolean };
  schedule: string;
  jobs: Pick<JobRunner, 'register'>;
}): DeepCheck | undefined {
  const { config, schedule, jobs, ...rest } = deps;
  if (!config.enabled) return undefined;
  const { enabled: _enabled, ...options } = config;
  const check = new DeepCheck({ ...rest, options });
  jobs.register({
    name: 'deep-check',
    schedule,
    run: async () => (await check.run()).map((r) => `${r.bridge}: ${r.verdict.outcome} in ${r.tookMs} ms`),
  });
  return check;
}

/** What readiness needs of each bridge: its link and, once checked, its last deep check verdict. */
export function bridgeReadinessInputs(drivers: readonly Pick<BridgeDriver, 'id' | 'status'>[], check: DeepCheck | undefined): BridgeReadinessInput[] {
  return drivers.map((d) => {
    const verdict = check?.verdict(d.id);
    return { id: d.id, status: d.status, ...(verdict ? { deepCheck: verdict } : {}) };
  });
}

class StepFailed extends Error {
  constructor(readonly step: ProbeStep, message: string) {
    super(message);
  }
}

export class DeepCheck {
  #deps: DeepCheckDeps;
  #now: () => number;
  #verdicts = new Map<string, DeepCheckVerdict>();
  #success: Gauge<'bridge'>;
  #lastRun: Gauge<'bridge'>;
  #duration: Gauge<'bridge'>;

  constructor(deps: DeepCheckDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    const registers = [deps.registry];
    this.#success = new Gauge({ name: 'tsp_deep_check_success', help: '1 when the last deep check of the bridge passed (it carried out commands and reported their events), else 0.', labelNames: ['bridge'], registers });
    this.#lastRun = new Gauge({ name: 'tsp_deep_check_last_run_timestamp_seconds', help: 'When the last deep check of the bridge finished, Unix time.', labelNames: ['bridge'], registers });
    this.#duration = new Gauge({ name: 'tsp_deep_check_duration_seconds', help: 'How long the last deep check of the bridge took.', labelNames: ['bridge'], registers });
  }

  /** The last verdict on `bridgeId`; undefined before its first check. */
  verdict(bridgeId: string): DeepCheckVerdict | undefined {
    return this.#verdicts.get(bridgeId);
  }

  /** Checks every bridge at once; throws (failing the job) when any bridge failed. */
  async run(): Promise<DeepCheckResult[]> {
    const results = await Promise.all(this.#deps.drivers().map((d) => this.#probe(d)));
    const failed = results.filter((r) => r.verdict.outcome === 'failed');
    if (failed.length > 0) {
      throw new Error(`deep check failed on ${failed.map((r) => `${r.bridge} at ${r.verdict.outcome === 'failed' ? `${r.verdict.step}: ${r.verdict.error}` : ''}`).join('; ')}`);
    }
    return results;
  }

  async #probe(driver: ProbeDriver): Promise<DeepCheckResult> {
    const started = this.#now();
    const steps: StepReport[] = [];
    const log = this.#deps.logger.child({ bridge: driver.id, part: 'deep-check' });
    let verdict: DeepCheckVerdict;
    try {
      await this.#steps(driver, steps);
      verdict = { outcome: 'passed', at: this.#now() };
    } catch (err) {
      const step = err instanceof StepFailed ? err.step : 'create';
      const error = err instanceof Error ? err.message : String(err);
      steps.push({ step, outcome: 'failed', detail: error });
      verdict = { outcome: 'failed', at: this.#now(), step, error };
    }
    const tookMs = this.#now() - started;
    this.#verdicts.set(driver.id, verdict);
    this.#success.set({ bridge: driver.id }, verdict.outcome === 'passed' ? 1 : 0);
    this.#lastRun.set({ bridge: driver.id }, verdict.at / MS_PER_S);
    this.#duration.set({ bridge: driver.id }, tookMs / MS_PER_S);
    if (verdict.outcome === 'passed') log.debug({ tookMs, steps }, 'deep check passed');
    else log.error({ tookMs, steps, step: verdict.step, error: verdict.error }, `deep check of bridge ${driver.id} failed at ${verdict.step}: it no longer carries out commands in time; it is reported not ready`);
    return { bridge: driver.id, verdict, tookMs, steps };
  }

  async #steps(driver: ProbeDriver, steps: StepReport[]): Promise<void> {
    const { options } = this.#deps;
    if (driver.status.state !== 'up') throw new StepFailed('link', `link is ${driver.status.state}`);
    const confKey = `${options.confKeyPrefix}${String(randomInt(10 ** PROBE_KEY_DIGITS)).padStart(PROBE_KEY_DIGITS, '0')}`;
    const { bridgeConfId } = await this.#command(driver, 'create', {
      op: 'createConference',
      options: { confKey, entryTone: 'none', silentJoin: true, muteOnEntry: false },
    });
    steps.push({ step: 'create', outcome: 'ok', detail: `ConfKey ${confKey}` });
    try {
      await this.#callerSteps(driver, bridgeConfId, steps);
    } finally {
      // Ended even when a step failed, so no probe is left holding ports.
      await this.#command(driver, 'end', { op: 'endConference', bridgeConfId }).then(
        () => steps.push({ step: 'end', outcome: 'ok' }),
        (err: unknown) => {
          if (steps.every((s) => s.outcome !== 'failed')) throw err;
          steps.push({ step: 'end', outcome: 'failed', detail: err instanceof Error ? err.message : String(err) });
        },
      );
    }
  }

  async #callerSteps(driver: ProbeDriver, bridgeConfId: string, steps: StepReport[]): Promise<void> {
    const number = this.#deps.options.loopbackNumber;
    const skip = number === undefined
      ? 'no deepCheck.loopbackNumber configured'
      : !driver.capabilities.dialOut ? `the ${driver.capabilities.model} cannot dial out` : undefined;
    if (skip !== undefined || number === undefined) {
      for (const step of ['dial-out', 'join', 'mute', 'unmute'] as const) steps.push({ step, outcome: 'skipped', detail: skip });
      return;
    }
    const dialOutId = `${PROBE_DIAL_OUT_PREFIX}${randomInt(1e9)}`;
    const joined = this.#event(driver, 'join', this.#deps.options.answerTimeoutMs, (e) => e.type === 'callerJoined' && e.bridgeConfId === bridgeConfId && e.dialOutId === dialOutId);
    await this.#command(driver, 'dial-out', { op: 'dialOut', bridgeConfId, dialOutId, number, confirm: false, silent: true });
    steps.push({ step: 'dial-out', outcome: 'ok' });
    const leg = (await joined) as Extract<BridgeEvent, { type: 'callerJoined' }>;
    steps.push({ step: 'join', outcome: 'ok', detail: `port ${leg.port}` });
    for (const [step, muted] of [['mute', true], ['unmute', false]] as const) {
      const changed = this.#event(driver, step, this.#deps.options.stepTimeoutMs, (e) => e.type === 'muteChanged' && e.legId === leg.legId && e.muted === muted);
      await this.#command(driver, step, { op: 'mute', bridgeConfId, port: leg.port, muted });
      await changed;
      steps.push({ step, outcome: 'ok' });
    }
  }

  async #command<C extends BridgeCommand>(driver: ProbeDriver, step: ProbeStep, command: C) {
    try {
      return await driver.execute(command, { timeoutMs: this.#deps.options.stepTimeoutMs });
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new StepFailed(step, `${command.op} failed${code ? ` (${code})` : ''}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Resolves with the first event matching `match`; fails the step after `timeoutMs`. */
  #event(driver: ProbeDriver, step: ProbeStep, timeoutMs: number, match: (e: BridgeEvent) => boolean): Promise<BridgeEvent> {
    const waiting = new Promise<BridgeEvent>((resolve, reject) => {
      const onEvent = (e: BridgeEvent): void => {
        if (!match(e)) return;
        clearTimeout(timer);
        driver.off('event', onEvent);
        resolve(e);
      };
      const timer = setTimeout(() => {
        driver.off('event', onEvent);
        reject(new StepFailed(step, `the bridge did not report it within ${timeoutMs} ms`));
      }, timeoutMs);
      driver.on('event', onEvent);
    });
    // A command failing first leaves this wait unobserved; its own rejection is not the news.
    waiting.catch(() => {});
    return waiting;
  }
}
