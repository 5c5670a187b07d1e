/**
 * Refusals are logged, but a flood of them (a scanner, a misconfigured peer retrying hard)
 * must not become a flood of log lines: per kind, at most one line per interval, and that line
 * says how many were left out since the previous one. The counters still see every refusal.
 */

/** One line per kind per second is enough to see what is happening and from where. */
export const REFUSAL_LOG_INTERVAL_MS = 1_000;

export class LogThrottle<K extends string> {
  #last = new Map<K, { at: number; suppressed: number }>();
  #now: () => number;

  constructor(clock: () => number = Date.now) {
    this.#now = clock;
  }

  /** Undefined when this one should not be logged; otherwise how many were left out before it. */
  take(kind: K): { suppressed: number } | undefined {
    const now = this.#now();
    const last = this.#last.get(kind);
    if (last && now - last.at < REFUSAL_LOG_INTERVAL_MS) {
      last.suppressed += 1;
      return undefined;
    }
    this.#last.set(kind, { at: now, suppressed: 0 });
    return { suppressed: last?.suppressed ?? 0 };
  }
}
