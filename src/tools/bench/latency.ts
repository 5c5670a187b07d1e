/**
 * Latency samples of one kind (one message type, one load step): kept whole, since a run
 * holds at most a few hundred thousand, so percentiles are exact rather than bucketed.
 */

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class Latencies {
  readonly #samples: number[] = [];
  #sorted = true;

  add(ms: number): void {
    this.#samples.push(ms);
    this.#sorted = false;
  }

  get count(): number {
    return this.#samples.length;
  }

  /** The q-th percentile (0..100), nearest rank; 0 when empty. */
  percentile(q: number): number {
    if (this.#samples.length === 0) return 0;
    if (!this.#sorted) {
      this.#samples.sort((a, b) => a - b);
      this.#sorted = true;
    }
    const rank = Math.min(this.#samples.length - 1, Math.max(0, Math.ceil((q / 100) * this.#samples.length) - 1));
    return this.#samples[rank]!;
  }

  /** Whole milliseconds, as the results record them; sub-millisecond figures round up to 1. */
  summary(): LatencySummary {
    const whole = (ms: number): number => (ms > 0 && ms < 1 ? 1 : Math.round(ms));
    return {
      count: this.count,
      p50Ms: whole(this.percentile(50)),
      p90Ms: whole(this.percentile(90)),
      p99Ms: whole(this.percentile(99)),
      maxMs: whole(this.percentile(100)),
    };
  }

  /** Counts per bucket of `bucketMs`, for the distribution plot. */
  histogram(bucketMs: number, buckets: number): number[] {
    const counts = new Array<number>(buckets).fill(0);
    for (const ms of this.#samples) counts[Math.min(buckets - 1, Math.floor(ms / bucketMs))]! += 1;
    return counts;
  }
}

/** Latencies keyed by a name (message type), created on first use. */
export class LatencyBook {
  readonly byName = new Map<string, Latencies>();

  add(name: string, ms: number): void {
    let latencies = this.byName.get(name);
    if (!latencies) {
      latencies = new Latencies();
      this.byName.set(name, latencies);
    }
    latencies.add(ms);
  }

  /** Per name, counts in buckets of `bucketMs`: the distribution plot's data. */
  histograms(bucketMs: number, buckets: number): { bucketMs: number; byName: Record<string, number[]> } {
    return { bucketMs, byName: Object.fromEntries([...this.byName].map(([name, l]) => [name, l.histogram(bucketMs, buckets)])) };
  }

  summaries(): Record<string, LatencySummary> {
    return Object.fromEntries([...this.byName].map(([name, l]) => [name, l.summary()]));
  }
}
