/**
 * Per-source rate limiting of W2A transactions (`webex.limits.ratePerSecond`, `burst`): one
 * token bucket per peer address. A transaction beyond the rate is answered Confirmation 7
 * ("busy: retry") without being read, so one noisy or hostile source cannot crowd out WebEx.
 *
 * The map of buckets is bounded: past `MAX_TRACKED_SOURCES` the least recently seen source
 * is forgotten (it starts again with a full bucket, which only ever errs towards admitting).
 */

/** Enough for every WebEx data centre many times over; a flood of spoofed sources stays bounded. */
export const MAX_TRACKED_SOURCES = 10_000;

export interface RateLimit {
  /** Sustained transactions per second per source. */
  ratePerSecond: number;
  /** Transactions a source may send at once after being quiet. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  #limit: RateLimit;
  #buckets = new Map<string, Bucket>();
  #now: () => number;

  constructor(limit: RateLimit, clock: () => number = Date.now) {
    this.#limit = limit;
    this.#now = clock;
  }

  /** Takes one token for the source; false when it has none left. */
  take(source: string): boolean {
    const now = this.#now();
    const { ratePerSecond, burst } = this.#limit;
    const bucket = this.#buckets.get(source) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1_000) * ratePerSecond);
    bucket.updatedAt = now;
    // Re-inserted so that map order is least recently seen first.
    this.#buckets.delete(source);
    this.#buckets.set(source, bucket);
    if (this.#buckets.size > MAX_TRACKED_SOURCES) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get trackedSources(): number {
    return this.#buckets.size;
  }
}
