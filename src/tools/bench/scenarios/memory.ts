/**
 * Scenario 4, memory per call: the daemon's RSS (after a full collection) with 56 conferences
 * and 0, 350 and 1344 callers named by WebEx. The daemon's process also holds its embedded
 * emulator, so the figure includes the bridge model's share of each call.
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
      const sample = async (calls: number): Promise<number> => {
        const stats = await harness.stats({ gc: true });
        const rss = stats?.rssBytes ?? 0;
        samples.push([calls, toMb(rss)]);
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
      return {
        processes: 'WebEx simulator in the bench process; the daemon with its embedded emulator (whose model holds each call too) in a child process',
        figures,
        latencies: {},
        histograms: { bucketMs: 1, byName: {} },
        curve: { xLabel: 'calls', yLabel: 'RSS MB', series: { 'daemon RSS': samples } },
        notes: [`${conferences.length} conferences; RSS read after a full garbage collection; callers from the emulator's traffic generator at ${ARRIVALS_PER_S}/s, each named by WebEx before the reading`],
      };
    } finally {
      await harness.close();
    }
  });
}
