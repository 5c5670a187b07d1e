/**
 * Scenario 4, memory per call: the daemon's RSS (after a full collection) with 56 conferences
 * and 0, 350 and 1344 callers named by WebEx. The bridge emulator runs in its own process, so
 * the figure is the adaptor's alone; the emulator's RSS is recorded beside it.
 */
import { Harness } from '../harness.js';
import { entry, measured, toMb, type ScenarioResult, type ScenarioSettings } from '../scenario.js';

const CONFERENCES = 56;
const STEPS = [350, 1_344];
const ARRIVALS_PER_S = 150;

export function memory(settings: ScenarioSettings): Promise<ScenarioResult> {
  return measured('memory', 'Memory per call: daemon RSS with 0, 350 and 1344 calls', async () => {
    const steps = settings.smoke ? [12, 48] : STEPS;
    const harness = await Harness.start(entry(settings));
    try {
      const conferences = await harness.createConferences(settings.smoke ? 4 : CONFERENCES, 'mem');
      await harness.drained();
      const samples: [number, number][] = [];
      const emulatorSamples: [number, number][] = [];
      const sample = async (calls: number): Promise<number> => {
        const [stats, emulatorStats] = await Promise.all([harness.stats({ gc: true }), harness.emulatorStats({ gc: true })]);
        const rss = stats?.rssBytes ?? 0;
        samples.push([calls, toMb(rss)]);
        emulatorSamples.push([calls, toMb(emulatorStats?.rssBytes ?? 0)]);
        return rss;
      };
      const rss0 = await sample(0);
      let calls = 0;
      let rssLast = rss0;
      for (const target of steps) {
        await harness.fill(conferences, target - calls, ARRIVALS_PER_S, 120_000);
        calls = target;
        await harness.drained();
        rssLast = await sample(calls);
      }
      const figures: Record<string, number> = { rss0CallsMb: toMb(rss0) };
      for (const [n, mb] of samples.slice(1)) figures[`rss${n}CallsMb`] = mb;
      figures.rssPerCallKb = Math.round((rssLast - rss0) / calls / 1_024);
      for (const [n, mb] of emulatorSamples) figures[`emulatorRss${n}CallsMb`] = mb;
      return {
        processes: 'WebEx simulator in the bench process; the bridge emulator and the daemon (its driver connected to that emulator over loopback TCP) each in a child process',
        figures,
        latencies: {},
        histograms: { bucketMs: 1, byName: {} },
        curve: { xLabel: 'calls', yLabel: 'RSS MB', series: { 'daemon RSS': samples, 'emulator RSS': emulatorSamples } },
        notes: [`${conferences.length} conferences; RSS read after a full garbage collection; callers from the emulator's traffic generator at ${ARRIVALS_PER_S}/s, each named by WebEx before the reading`],
      };
    } finally {
      await harness.close();
    }
  });
}
