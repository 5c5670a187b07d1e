/**
 * Scenario 3, steady state: 350 simultaneous calls in 90 conferences for 10 minutes with the
 * churn of a working day: the emulator's generator brings callers in and out, presses *6 and
 * talks; WebEx mutes callers, dials out (and later expels those callers) and keeps every
 * conference alive. Measured: Confirmation and W2A -> A2W response latency per message type,
 * the daemon's CPU (and apart, the bridge emulator's), RSS at start and end, event loop delay,
 * and anything lost.
 */
import path from 'node:path';
import type { W2AMessage } from '../../../protocol/index.js';
import { Harness, type BenchConference } from '../harness.js';
import { LatencyBook } from '../latency.js';
import { entry, measured, toMb, type ScenarioResult, type ScenarioSettings } from '../scenario.js';
import type { TargetStats } from '../target-process.js';

const CONFERENCES = 90;
const CALLERS = 350;
const HOST_MUTES_PER_S = 2;
const DIAL_OUTS_PER_S = 0.2;
const DIAL_OUT_STAY_MS = 20_000;
const KEEP_ALIVE_INTERVAL_MS = 30_000;
const SAMPLE_INTERVAL_MS = 10_000;
const BUCKET_MS = 2;
const BUCKETS = 100;

type Rsp = 'A2W_RspMuteUser' | 'A2W_RspCallout' | 'A2W_RspExpelUser';
const RESPONSE_OF: Partial<Record<W2AMessage['type'], Rsp>> = {
  W2A_MuteUser: 'A2W_RspMuteUser',
  W2A_Callout: 'A2W_RspCallout',
  W2A_ExpelUser: 'A2W_RspExpelUser',
};

const cpuBetween = (from: TargetStats | undefined, to: TargetStats | undefined): number =>
  from && to ? to.cpuUserUs + to.cpuSystemUs - from.cpuUserUs - from.cpuSystemUs : 0;

export function steady(settings: ScenarioSettings): Promise<ScenarioResult> {
  return measured('steady', 'Steady state: 350 calls in 90 conferences with churn', async () => {
    const durationS = settings.durationS ?? (settings.smoke ? 3 : 600);
    const conferenceCount = settings.smoke ? 6 : CONFERENCES;
    const callerCount = settings.smoke ? 24 : CALLERS;
    const harness = await Harness.start({ ...entry(settings), config: { conference: { keepAliveTimeoutMs: 3_600_000 } } });
    const book = new LatencyBook();
    const notes: string[] = [];
    const pending = new Map<string, { type: string; at: number }>();
    let simErrors = 0;
    harness.sim.on('error', () => (simErrors += 1));
    try {
      const conferences = await harness.createConferences(conferenceCount, 'steady');
      await harness.fill(conferences, callerCount, 50, 120_000);
      const byConf = new Map(conferences.map((c) => [c.extConfId, c]));
      // WebEx's view of who is in: named callers join, leavers go.
      harness.onA2W((r, at) => {
        const m = r.message;
        if (m.type === 'A2W_NotifyUserEnter' && r.answered && r.answeredExtCallID) {
          const id = r.answeredExtCallID;
          void r.answered.then((o) => o.result === 0 && byConf.get(m.ExtConfID)?.extCallIds.push(id));
        } else if (m.type === 'A2W_NotifyUserChange' && m.Status === 1) {
          const c = byConf.get(m.ExtConfID);
          if (c) c.extCallIds = c.extCallIds.filter((id) => id !== m.ExtCallID);
        } else if ('Result' in m) {
          const sent = pending.get(m.MsgID);
          if (!sent) return;
          pending.delete(m.MsgID);
          book.add(`${sent.type} -> response`, at - sent.at);
        }
      });
      await harness.drained();
      await harness.emulator.dialOutPlan({ rules: [], ringMs: 1_000 });
      await harness.emulator.startTraffic({
        confKeys: conferences.map((c) => c.confKey),
        targetCallers: callerCount,
        arrivalsPerSecond: 5,
        departuresPerSecond: 0.5,
        keypadMutesPerSecond: 1,
        talkBurstsPerSecond: 5,
        talkMs: { min: 500, max: 3_000 },
        seed: 11,
      });
      const send = async (message: W2AMessage): Promise<void> => {
        const t0 = performance.now();
        if (RESPONSE_OF[message.type]) pending.set(message.MsgID, { type: message.type, at: t0 });
        const sent = await harness.sim.send([message], { retries: 3 });
        book.add(`${message.type} Confirmation`, performance.now() - t0);
        if (sent.result !== 0) {
          simErrors += 1;
          pending.delete(message.MsgID);
        }
      };
      const snapshot = async (when: string): Promise<void> => {
        if (!settings.heapSnapshotDir) return;
        const file = await harness.heapSnapshot(path.join(settings.heapSnapshotDir, `steady-${when}-${Date.now()}.heapsnapshot`));
        notes.push(`heap snapshot of the daemon at the ${when}: ${file} (writing one raises the daemon's RSS by tens of MB: this run's RSS figures are not comparable with others')`);
      };
      // Before the start's reading: writing a snapshot takes seconds and allocates in the daemon.
      await snapshot('start');
      const start = await harness.stats({ gc: true, resetLoop: true });
      const emulatorStart = await harness.emulatorStats();
      const started = performance.now();
      const endAt = started + durationS * 1_000;
      const rssSeries: [number, number][] = [[0, toMb(start?.rssBytes ?? 0)]];
      // Live objects apart from RSS: a cache filling toward its bound flattens here.
      const heapSeries: [number, number][] = [[0, toMb(start?.heapUsedBytes ?? 0)]];
      const cpuSeries: [number, number][] = [];
      let lastCpu = start ? start.cpuUserUs + start.cpuSystemUs : 0;
      let lastSampleAt = started;
      const timers: NodeJS.Timeout[] = [];
      const every = (ms: number, fn: () => void): void => {
        timers.push(setInterval(fn, ms));
      };
      const pickCaller = (i: number): { c: BenchConference; id: string } | undefined => {
        for (let k = 0; k < conferences.length; k++) {
          const c = conferences[(i + k) % conferences.length]!;
          const id = c.extCallIds[i % Math.max(1, c.extCallIds.length)];
          if (id) return { c, id };
        }
        return undefined;
      };
      let n = 0;
      const inFlight = new Set<Promise<void>>();
      const fire = (p: Promise<void>): void => {
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      };
      every(1_000 / HOST_MUTES_PER_S, () => {
        const pick = pickCaller(n++);
        if (pick) fire(send({ type: 'W2A_MuteUser', MsgID: harness.sim.newId('msg'), ExtConfID: pick.c.extConfId, ExtCallID: pick.id, Mute: n % 2 === 0 }));
      });
      every(1_000 / DIAL_OUTS_PER_S, () => {
        const c = conferences[n++ % conferences.length]!;
        const extCallId = harness.sim.newId('call');
        fire(send({ type: 'W2A_Callout', MsgID: harness.sim.newId('msg'), ExtConfID: c.extConfId, ExtCallID: extCallId, PhoneNumber: `1,408,55${String(n % 100_000).padStart(5, '0')}` }));
        timers.push(setTimeout(() => fire(send({ type: 'W2A_ExpelUser', MsgID: harness.sim.newId('msg'), ExtConfID: c.extConfId, ExtCallID: extCallId })), DIAL_OUT_STAY_MS));
      });
      every(KEEP_ALIVE_INTERVAL_MS / conferences.length, () => {
        const c = conferences[n++ % conferences.length]!;
        fire(send({ type: 'W2A_KeepAliveConference', MsgID: harness.sim.newId('msg'), ExtConfID: c.extConfId }));
      });
      every(SAMPLE_INTERVAL_MS, () => {
        void harness.stats().then((s) => {
          if (!s) return;
          const now = performance.now();
          const cpu = s.cpuUserUs + s.cpuSystemUs;
          rssSeries.push([Math.round((now - started) / 1_000), toMb(s.rssBytes)]);
          heapSeries.push([Math.round((now - started) / 1_000), toMb(s.heapUsedBytes)]);
          cpuSeries.push([Math.round((now - started) / 1_000), Math.round(((cpu - lastCpu) / 1_000 / (now - lastSampleAt)) * 100)]);
          lastCpu = cpu;
          lastSampleAt = now;
        });
      });
      while (performance.now() < endAt) await new Promise((resolve) => setTimeout(resolve, 200));
      for (const t of timers) clearInterval(t);
      const traffic = await harness.emulator.stopTraffic(false);
      await Promise.allSettled([...inFlight]);
      const beforeDrain = await harness.stats();
      const emulatorEnd = await harness.emulatorStats();
      const end = await harness.drained();
      // Responses still owed once everything is delivered were lost.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const endGc = await harness.stats({ gc: true });
      await snapshot('end');
      const runS = (performance.now() - started) / 1_000;
      const rssStart = start?.rssBytes ?? 0;
      const rssEnd = endGc?.rssBytes ?? 0;
      const cpuUs = cpuBetween(start, beforeDrain);
      const emulatorCpuUs = cpuBetween(emulatorStart, emulatorEnd);
      const pct = (us: number): number => (runS > 0 ? Math.round((us / 1_000 / (runS * 1_000)) * 100) : 0);
      const lost = (end?.deadLetters ?? 0) + (end?.outboxDepth ?? 0) + pending.size + simErrors;
      return {
        processes: 'WebEx simulator in the bench process; the bridge emulator with its traffic generator and the daemon (its driver connected to that emulator over loopback TCP) each in a child process',
        figures: {
          durationS,
          conferences: conferenceCount,
          callersTarget: callerCount,
          callersAtEnd: traffic.callers,
          callersJoined: traffic.joined,
          callersLeft: traffic.left,
          keypadMutes: traffic.keypadMutes,
          talkBursts: traffic.talkBursts,
          a2wDelivered: (end?.outboxDelivered ?? 0) - (start?.outboxDelivered ?? 0),
          w2aTransactions: (end?.transactionsAccepted ?? 0) - (start?.transactionsAccepted ?? 0),
          cpuPct: pct(cpuUs),
          // The bridge's own work (model, protocol, generator), in its process: apart from the adaptor's.
          emulatorCpuPct: pct(emulatorCpuUs),
          rssStartMb: toMb(rssStart),
          rssEndMb: toMb(rssEnd),
          rssGrowthPct: rssStart ? Math.round(((rssEnd - rssStart) / rssStart) * 100) : 0,
          // Where RSS went: live JS objects, the V8 heap's pages, native memory V8 knows of.
          heapUsedStartMb: toMb(start?.heapUsedBytes ?? 0),
          heapUsedEndMb: toMb(endGc?.heapUsedBytes ?? 0),
          heapTotalStartMb: toMb(start?.heapTotalBytes ?? 0),
          heapTotalEndMb: toMb(endGc?.heapTotalBytes ?? 0),
          externalStartMb: toMb(start?.externalBytes ?? 0),
          externalEndMb: toMb(endGc?.externalBytes ?? 0),
          eventLoopP50Ms: Math.round(beforeDrain?.loopDelayP50Ms ?? 0),
          eventLoopP99Ms: Math.round(beforeDrain?.loopDelayP99Ms ?? 0),
          eventLoopMaxMs: Math.round(beforeDrain?.loopDelayMaxMs ?? 0),
          deadLetters: end?.deadLetters ?? 0,
          responsesMissing: pending.size,
          lostMessages: lost,
        },
        latencies: book.summaries(),
        histograms: book.histograms(BUCKET_MS, BUCKETS),
        curve: { xLabel: 's into the run', yLabel: 'RSS MB / CPU %', series: { 'daemon RSS MB': rssSeries, 'daemon heap used MB': heapSeries, 'daemon CPU %': cpuSeries } },
        notes: [
          `generator: top-up to ${callerCount} callers at 5/s, 0.5 hang-ups/s, 1 *6 press/s, 5 talking bursts/s of 0.5-3 s; WebEx: ${HOST_MUTES_PER_S} host mutes/s, a dial-out every ${1 / DIAL_OUTS_PER_S} s (answered after 1 s ringing, expelled ${DIAL_OUT_STAY_MS / 1_000} s later), a keep-alive per conference every ${KEEP_ALIVE_INTERVAL_MS / 1_000} s`,
          'RSS at start and end is read after a full garbage collection; the event loop delay is the daemon\'s own (perf_hooks monitorEventLoopDelay, 10 ms resolution) over the run',
          'lost = dead-lettered + still queued after the drain + responses never received + transactions not confirmed 0',
          ...notes,
        ],
      };
    } finally {
      await harness.close();
    }
  });
}
