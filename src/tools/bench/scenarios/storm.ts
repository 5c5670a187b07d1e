/**
 * Scenario 2, the top-of-the-hour storm: conferences created as fast as the adaptor confirms
 * them (a fixed number of creates in flight) for 60 s, while callers dial in until all 1344
 * ports are taken. Measured from the WebEx side: create sent -> A2W_RspCreateConference
 * received, and dial-in -> A2W_NotifyUserEnter received.
 */
import { Harness, type ProcessesCpuUs } from '../harness.js';
import { LatencyBook } from '../latency.js';
import { entry, measured, type ScenarioResult, type ScenarioSettings } from '../scenario.js';

const CREATES_IN_FLIGHT = 16;
const PORTS = 1_344;
const CALLER_CONFERENCES = 56;
const DIALS_IN_FLIGHT = 32;
const ANSWER_TIMEOUT_MS = 60_000;
const BUCKET_MS = 2;
const BUCKETS = 100;
/** The ports are to be full by this share of the run, leaving the rest to the creates alone. */
const FILL_SHARE = 0.75;
/** Conferences, and callers in each, of the unrecorded warm-up. */
const WARM_UP_CONFERENCES = 16;
const WARM_UP_CALLERS_EACH = 4;

export function storm(settings: ScenarioSettings): Promise<ScenarioResult> {
  return measured('storm', 'Top-of-the-hour storm: conferences created for 60 s while callers fill 1344 ports', async () => {
    const durationS = settings.durationS ?? (settings.smoke ? 2 : 60);
    const ports = settings.smoke ? 24 : PORTS;
    const harness = await Harness.start(entry(settings));
    const book = new LatencyBook();
    const createSent = new Map<string, number>();
    const dialSent = new Map<string, number>();
    const createdAt: number[] = [];
    const notifiedAt: number[] = [];
    let refusedCreates = 0;
    let unanswered = 0;
    let failedDials = 0;
    try {
      await warmUp(harness, settings.smoke ? 2 : WARM_UP_CONFERENCES);
      const cpuStart = await harness.cpuUs();
      const started = performance.now();
      harness.onA2W((r, at) => {
        const m = r.message;
        if (m.type === 'A2W_RspCreateConference') {
          const t0 = createSent.get(m.MsgID);
          if (t0 === undefined) return;
          createSent.delete(m.MsgID);
          if (m.Result !== 0) refusedCreates += 1;
          book.add('create -> A2W_RspCreateConference', at - t0);
          createdAt.push((at - started) / 1_000);
        } else if (m.type === 'A2W_NotifyUserEnter' && m.CallerID) {
          const t0 = dialSent.get(m.CallerID);
          if (t0 === undefined) return;
          dialSent.delete(m.CallerID);
          book.add('dial-in -> A2W_NotifyUserEnter', at - t0);
          notifiedAt.push((at - started) / 1_000);
        }
      });
      const endAt = started + durationS * 1_000;
      let index = 0;
      const keys: string[] = [];
      const creator = async (): Promise<void> => {
        while (performance.now() < endAt) {
          const i = index++;
          const extConfId = `storm-${i}`;
          const confKey = `7${String(i).padStart(7, '0')}`;
          const create = harness.create(extConfId, confKey);
          const answered = harness.waitFor((m) => m.type === 'A2W_RspCreateConference' && m.MsgID === create.MsgID, ANSWER_TIMEOUT_MS, `RspCreateConference ${extConfId}`);
          createSent.set(create.MsgID, performance.now());
          try {
            await harness.sendOk([create]);
            await answered;
            keys.push(confKey);
          } catch {
            // Counted, not fatal: a storm that outruns the adaptor is a result too.
            unanswered += 1;
          }
        }
      };
      const creators = Promise.all(Array.from({ length: CREATES_IN_FLIGHT }, creator));
      // Callers go into the first conferences, 24 ports' worth each, paced to fill in time.
      const dialsPerSecond = ports / (durationS * FILL_SHARE);
      let dialled = 0;
      const dialler = async (): Promise<void> => {
        while (dialled < ports && performance.now() < endAt) {
          const n = dialled++;
          const dueAt = started + (n / dialsPerSecond) * 1_000;
          const wait = dueAt - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          const confKey = keys[n % Math.min(CALLER_CONFERENCES, keys.length)];
          if (!confKey) {
            failedDials += 1;
            continue;
          }
          const callerId = `1408${String(n).padStart(7, '0')}`;
          dialSent.set(callerId, performance.now());
          try {
            await harness.emulator.dialIn(confKey, callerId);
          } catch {
            failedDials += 1;
            dialSent.delete(callerId);
          }
        }
      };
      // Callers start once the first conferences exist, as they would at the hour.
      while (keys.length < Math.min(CALLER_CONFERENCES, 8) && performance.now() < endAt) await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all([creators, ...Array.from({ length: DIALS_IN_FLIGHT }, dialler)]);
      const cpuEnd = await harness.cpuUs();
      const ranMs = performance.now() - started;
      const cpuPct = (us: (c: ProcessesCpuUs) => number): number => (cpuStart && cpuEnd ? Math.round(((us(cpuEnd) - us(cpuStart)) / 1_000 / ranMs) * 100) : 0);
      const stats = await harness.drained();
      const created = createdAt.length - refusedCreates;
      const create = book.byName.get('create -> A2W_RspCreateConference');
      const join = book.byName.get('dial-in -> A2W_NotifyUserEnter');
      const portsFilled = join?.count ?? 0;
      const fillSeconds = portsFilled > 0 ? Math.round(notifiedAt[notifiedAt.length - 1]!) : 0;
      return {
        processes: 'WebEx simulator and dial-ins (emulator control interface) in the bench process; the bridge emulator and the daemon (its driver connected to that emulator over loopback TCP) each in a child process',
        figures: {
          durationS,
          conferencesCreated: created,
          conferencesPerMinute: Math.round(created / (durationS / 60)),
          createRefused: refusedCreates,
          createUnanswered: unanswered,
          createP50Ms: create?.summary().p50Ms ?? 0,
          createP99Ms: create?.summary().p99Ms ?? 0,
          portsTarget: ports,
          portsFilled,
          fillSeconds,
          failedDials,
          joinNotifyP50Ms: join?.summary().p50Ms ?? 0,
          joinNotifyP99Ms: join?.summary().p99Ms ?? 0,
          deadLetters: stats?.deadLetters ?? 0,
          // Over the storm itself (100% = one core): the adaptor's, and apart the bridge's.
          daemonCpuPct: cpuPct((c) => c.daemon),
          emulatorCpuPct: cpuPct((c) => c.emulator),
        },
        latencies: book.summaries(),
        histograms: book.histograms(BUCKET_MS, BUCKETS),
        curve: {
          xLabel: 's into the run',
          yLabel: 'cumulative count',
          series: { 'conferences created': perSecond(createdAt, durationS), 'callers announced': perSecond(notifiedAt, durationS) },
        },
        notes: [
          `an unrecorded warm-up first: ${WARM_UP_CONFERENCES} conferences created, ${WARM_UP_CONFERENCES * WARM_UP_CALLERS_EACH} callers dialled in and announced, then all ended`,
          `${CREATES_IN_FLIGHT} creates in flight: each worker sends the next create when the previous one's A2W_RspCreateConference arrived`,
          `dial-ins paced at ${Math.round(dialsPerSecond)}/s through the emulator's control interface, ${DIALS_IN_FLIGHT} at a time, into the first ${CALLER_CONFERENCES} conferences; the join latency runs from the dial-in request (so it includes that HTTP round trip: an upper bound) to the NotifyUserEnter received`,
        ],
      };
    } finally {
      await harness.close();
    }
  });
}

/**
 * Not recorded: the hour strikes a daemon that has been running, so the code paths of a create
 * and a join are run (and optimised) and the dial-in connections opened first; everything the
 * warm-up made is ended again, its ports freed. Without it the first half second of the storm
 * (cold code, 32 connections opening) made the join p99 (16 of 1344 joins at 108-272 ms).
 */
async function warmUp(harness: Harness, conferences: number): Promise<void> {
  const warm = await harness.createConferences(conferences, 'storm-warm', CREATES_IN_FLIGHT);
  const callers = warm.flatMap((c, i) => Array.from({ length: WARM_UP_CALLERS_EACH }, (_, k) => ({ confKey: c.confKey, callerId: `1409${String(i * WARM_UP_CALLERS_EACH + k).padStart(7, '0')}` })));
  const pending = new Set(callers.map((c) => c.callerId));
  // WebEx's answers too: a conference ended before them would see answers about unknown callers.
  const answers: Promise<unknown>[] = [];
  const announced = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`bench: storm warm-up: ${pending.size} callers never announced`));
    }, ANSWER_TIMEOUT_MS);
    const off = harness.onA2W(({ message, answered }) => {
      if (message.type !== 'A2W_NotifyUserEnter' || !message.CallerID || !pending.delete(message.CallerID)) return;
      if (answered) answers.push(answered);
      if (pending.size > 0) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
  for (let i = 0; i < callers.length; i += DIALS_IN_FLIGHT) {
    await Promise.all(callers.slice(i, i + DIALS_IN_FLIGHT).map((c) => harness.emulator.dialIn(c.confKey, c.callerId)));
  }
  await announced;
  await Promise.all(answers);
  await harness.endConferences(warm);
  await harness.drained();
}

/** Cumulative counts at each whole second. */
export function perSecond(times: number[], durationS: number): [number, number][] {
  const sorted = [...times].sort((a, b) => a - b);
  const points: [number, number][] = [];
  let i = 0;
  for (let s = 0; s <= Math.ceil(Math.max(durationS, sorted[sorted.length - 1] ?? 0)); s++) {
    while (i < sorted.length && sorted[i]! <= s) i++;
    points.push([s, i]);
  }
  return points;
}
