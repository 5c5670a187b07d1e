/**
 * Scenario 1, command throughput: mixed W2A commands over kept-alive HTTPS at rising rates,
 * then the same client and the same steps against a bare express 5 HTTPS server with the same
 * certificate that parses nothing and returns a fixed Confirmation: the machine's ceiling.
 * The figure is the highest rate whose p99 Confirmation latency stayed under 20 ms with every
 * command confirmed 0.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createCodec, type W2AMessage } from '../../../protocol/index.js';
import { Harness, prepareDataDir, type BenchConference } from '../harness.js';
import { CONNECTIONS, LoadClient, MSG_SLOT, TRANS_SLOT, type Bodies, type StepResult } from '../load-client.js';
import { entry, measured, type ScenarioResult, type ScenarioSettings } from '../scenario.js';
import { Target } from '../target.js';

const CONFIRM_P99_LIMIT_MS = 20;
const RATES_PER_S = [
  100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000, 1_250, 1_500, 1_750, 2_000, 2_500, 3_000, 3_500, 4_000, 5_000, 6_000, 7_000, 8_000,
  10_000, 12_000, 15_000, 20_000, 25_000,
];
const SMOKE_RATE_PER_S = 100;
const WARM_UP_RATE_PER_S = 300;
/** Long enough for the hot paths to be optimised: a cold first step failed at 100/s (p99 62 ms). */
const WARM_UP_S = 3;
/**
 * Each step's length: the rate is one a provider can hold, not one a few seconds can show. In 3 s
 * steps one stall of ~30 ms on this shared machine is 1% of the commands, and the same tree passed
 * 3,000/s in one run and failed 1,000/s in the next, as did the bare server.
 */
const STEP_S = 10;
/** A failing step is run once more before the climb stops: one burst of other work on a shared machine is not the knee. */
const ATTEMPTS_PER_STEP = 2;
/** The longest wait between steps for the A2W posts of the last one. */
const STEP_DRAIN_MS = 15_000;
const CONFERENCES = 20;
const CALLERS = 100;
/** A step counts only if it reached this share of the offered rate. */
const ACHIEVED_SHARE = 0.9;

type Command = W2AMessage extends infer M ? (M extends W2AMessage ? Omit<M, 'MsgID'> : never) : never;

/** What WebEx sends most: keep-alives, then host mutes, locks and sub-conference moves. */
const MIX: { share: number; make: (c: BenchConference, i: number) => Command }[] = [
  { share: 5, make: (c) => ({ type: 'W2A_KeepAliveConference', ExtConfID: c.extConfId }) },
  { share: 3, make: (c, i) => ({ type: 'W2A_MuteUser', ExtConfID: c.extConfId, ExtCallID: c.extCallIds[i % c.extCallIds.length]!, Mute: i % 2 === 0 }) },
  { share: 1, make: (c, i) => ({ type: 'W2A_LockConference', ExtConfID: c.extConfId, Lock: i % 2 === 0 }) },
  { share: 1, make: (c, i) => ({ type: 'W2A_AddToSubConference', ExtConfID: c.extConfId, ExtCallID: c.extCallIds[i % c.extCallIds.length]!, SubConfID: i % 3 }) },
];

const BARE_BODIES: Bodies = { templates: ['<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>x</TransID></WbxTSPSchema>'], tag: 'bare' };

export function throughput(settings: ScenarioSettings): Promise<ScenarioResult> {
  return measured('throughput', 'Command throughput: W2A commands/s at p99 Confirmation < 20 ms, and the bare-HTTPS ceiling', async () => {
    const stepS = settings.durationS ?? (settings.smoke ? 1 : STEP_S);
    const rates = settings.rates ?? (settings.smoke ? [SMOKE_RATE_PER_S] : RATES_PER_S);
    // Rates named on the command line are each measured: a comparison at fixed load, not a climb.
    const stopAtFailure = settings.rates === undefined;
    const prepared = await prepareDataDir();
    const notes: string[] = [];
    let adaptorSteps: MeasuredStep[] = [];
    let ceilingSteps: MeasuredStep[] = [];
    try {
      const harness = await Harness.start({ prepared, ...entry(settings) });
      const codec = await createCodec();
      try {
        const conferences = await harness.createConferences(CONFERENCES, 'tp');
        await harness.fill(conferences, CALLERS, 200, 60_000);
        await harness.drained();
        const body = bodies(conferences, codec.encode);
        const client = new LoadClient(harness.url, settings.remote ? settings.remote.ca : prepared.keyPair.cert);
        try {
          const cpu = async (): Promise<CpuUs | undefined> => {
            const read = await harness.cpuUs();
            return read && { target: read.daemon, emulator: read.emulator };
          };
          adaptorSteps = await climb({ client, body, stepS, between: () => harness.drained(STEP_DRAIN_MS), cpu, stopAtFailure }, rates);
        } finally {
          await client.close();
        }
        const after = await harness.drained();
        if (after) notes.push(`after the last step: ${after.outboxDepth} A2W messages queued, ${after.deadLetters} dead-lettered`);
      } finally {
        await harness.close();
        codec.close();
      }
      // The bare server runs once the daemon has stopped, on the same certificate.
      const ceiling = await Target.start({ kind: 'ceiling', dataDir: prepared.dataDir }, settings.targetEntry);
      try {
        const client = new LoadClient(ceiling.ready.url, prepared.keyPair.cert);
        try {
          const cpu = async (): Promise<CpuUs> => {
            const read = await ceiling.stats();
            return { target: read.cpuUserUs + read.cpuSystemUs, emulator: 0 };
          };
          ceilingSteps = await climb({ client, body: BARE_BODIES, stepS, between: async () => undefined, cpu, stopAtFailure }, rates);
        } finally {
          await client.close();
        }
      } finally {
        await ceiling.stop();
      }
    } finally {
      await rm(prepared.dataDir, { recursive: true, force: true });
    }
    // CPU time of the target per command in its busiest step (the last, usually saturated):
    // what caps it on one core, and what other work on a shared machine moves least.
    const adaptorCpuUs = busiest(adaptorSteps)?.cpuUsPerCommand ?? 0;
    const emulatorCpuUs = busiest(adaptorSteps)?.emulatorCpuUsPerCommand ?? 0;
    const ceilingCpuUs = busiest(ceilingSteps)?.cpuUsPerCommand ?? 0;
    const adaptorBest = best(adaptorSteps);
    const ceilingBest = best(ceilingSteps);
    const commandsPerSecond = adaptorBest?.achievedPerSecond ?? 0;
    const ceilingPerSecond = ceilingBest?.achievedPerSecond ?? 0;
    return {
      processes: 'load client in a worker thread and WebEx simulator in the bench process; the bridge emulator and the daemon (its driver connected to that emulator over loopback TCP) each in a child process; later the bare server in a child process',
      figures: {
        commandsPerSecond,
        confirmP99Ms: adaptorBest?.p99Ms ?? 0,
        ceilingPerSecond,
        ceilingP99Ms: ceilingBest?.p99Ms ?? 0,
        ceilingRatioPct: ceilingPerSecond ? Math.round((commandsPerSecond / ceilingPerSecond) * 100) : 0,
        // Whatever the latency: the most confirmed per second in any step.
        peakPerSecond: Math.max(0, ...adaptorSteps.map((s) => s.achievedPerSecond)),
        ceilingPeakPerSecond: Math.max(0, ...ceilingSteps.map((s) => s.achievedPerSecond)),
        stepSeconds: stepS,
        daemonCpuUsPerCommand: adaptorCpuUs,
        // The bridge's share, in its own process: not the adaptor's cost, shown so the two add up.
        emulatorCpuUsPerCommand: emulatorCpuUs,
        ceilingCpuUsPerRequest: ceilingCpuUs,
        // One core's worth of each: the rate at which the process alone would be saturated.
        daemonOneCorePerSecond: adaptorCpuUs ? Math.round(1e6 / adaptorCpuUs) : 0,
        ceilingOneCorePerSecond: ceilingCpuUs ? Math.round(1e6 / ceilingCpuUs) : 0,
      },
      latencies: {},
      histograms: { bucketMs: 1, byName: {} },
      curve: {
        xLabel: 'offered commands/s',
        yLabel: 'p99 Confirmation ms',
        series: {
          adaptor: adaptorSteps.map((s) => [s.offeredPerSecond, s.p99Ms]),
          'bare HTTPS': ceilingSteps.map((s) => [s.offeredPerSecond, s.p99Ms]),
        },
      },
      notes: [
        `mix per 10 commands: 5 W2A_KeepAliveConference, 3 W2A_MuteUser, 1 W2A_LockConference, 1 W2A_AddToSubConference, over ${CONFERENCES} conferences with ${CALLERS} callers; each command is one transaction`,
        `steps of ${stepS} s, open loop over ${CONNECTIONS} kept-alive HTTP/1.1 connections from a worker thread of the bench process, latency counted from each command's due time; a step passes with p99 < ${CONFIRM_P99_LIMIT_MS} ms, every command confirmed 0 and >= ${ACHIEVED_SHARE * 100}% of the offered rate confirmed; a failing step is run once more, and the climb stops at the first step that fails twice (the second attempt is the one recorded); an unrecorded ${WARM_UP_S} s at ${WARM_UP_RATE_PER_S}/s comes first`,
        'CPU per command: the target process\'s CPU time (process.cpuUsage, including the daemon\'s A2W posts) over the commands confirmed in its busiest step; one core / that = the rate one event loop can carry, whatever else the machine runs; the bridge emulator\'s CPU, in its own process, is counted apart',
        ...(stopAtFailure ? [] : [`rates given (--rate ${rates.join(', ')}): each measured, no climb; the best passing one is the figure`]),
        ...notes,
      ],
      detail: { adaptor: adaptorSteps, ceiling: ceilingSteps },
    };
  });
}

/** Bodies are encoded once per template; each send only fills in fresh ids. */
function bodies(conferences: BenchConference[], encode: (transId: string, messages: W2AMessage[]) => string): Bodies {
  const templates: string[] = [];
  let k = 0;
  for (const { share, make } of MIX) {
    for (let s = 0; s < share; s++) {
      for (const c of conferences) templates.push(encode(TRANS_SLOT, [{ ...make(c, k++), MsgID: MSG_SLOT } as W2AMessage]));
    }
  }
  // Interleave the kinds so every stretch of the run carries the mix.
  const mixed = templates.map((t, i) => ({ t, key: (i * 7_919) % templates.length })).sort((a, b) => a.key - b.key).map((x) => x.t);
  return { templates: mixed, tag: randomBytes(3).toString('hex') };
}

/** A load step with the target's and the emulator's CPU time per command confirmed in it (µs; 0 when not read). */
type MeasuredStep = StepResult & { cpuUsPerCommand: number; emulatorCpuUsPerCommand: number };

/** CPU time so far (us) of the process under load and of the bridge emulator (0 without one). */
interface CpuUs {
  target: number;
  emulator: number;
}

function busiest(steps: MeasuredStep[]): MeasuredStep | undefined {
  return [...steps].sort((a, b) => b.achievedPerSecond - a.achievedPerSecond)[0];
}

function passed(step: StepResult): boolean {
  return step.p99Ms < CONFIRM_P99_LIMIT_MS && step.failed === 0 && step.skipped === 0 && step.achievedPerSecond >= step.offeredPerSecond * ACHIEVED_SHARE;
}

function best(steps: StepResult[]): StepResult | undefined {
  return steps.filter(passed).sort((a, b) => b.achievedPerSecond - a.achievedPerSecond)[0];
}

/** What a climb drives: the client and its bodies, the wait between steps, the target's figures. */
interface Climber {
  client: LoadClient;
  body: Bodies;
  stepS: number;
  between: () => Promise<unknown>;
  cpu: () => Promise<CpuUs | undefined>;
  /** False to measure every rate given, failing or not. */
  stopAtFailure: boolean;
}

/** Rising steps until one fails twice, which is kept: it shows the knee. */
async function climb(climber: Climber, rates: number[]): Promise<MeasuredStep[]> {
  // Not recorded: warms the target up, whose first requests run unoptimised code.
  await climber.client.step(WARM_UP_RATE_PER_S, WARM_UP_S, climber.body);
  await climber.between();
  const steps: MeasuredStep[] = [];
  for (const rate of rates) {
    let step = await measureStep(climber, rate);
    for (let attempt = 2; attempt <= ATTEMPTS_PER_STEP && !passed(step); attempt++) step = await measureStep(climber, rate);
    steps.push(step);
    if (climber.stopAtFailure && !passed(step)) break;
  }
  return steps;
}

async function measureStep({ client, body, stepS, between, cpu }: Climber, rate: number): Promise<MeasuredStep> {
  const before = await cpu();
  const measured = await client.step(rate, stepS, body);
  // Read after `between`: the daemon's A2W posts for the step's commands are part of their cost.
  await between();
  const after = await cpu();
  const perCommand = (us: number): number => (measured.confirmed > 0 ? Math.round(us / measured.confirmed) : 0);
  const step = {
    ...measured,
    cpuUsPerCommand: before && after ? perCommand(after.target - before.target) : 0,
    emulatorCpuUsPerCommand: before && after ? perCommand(after.emulator - before.emulator) : 0,
  };
  process.stderr.write(
    `  ${rate}/s offered: ${step.achievedPerSecond}/s confirmed, p99 ${step.p99Ms} ms, failed ${step.failed}, skipped ${step.skipped}, ` +
      `${step.cpuUsPerCommand} us CPU each (emulator ${step.emulatorCpuUsPerCommand} us)\n`,
  );
  return step;
}
