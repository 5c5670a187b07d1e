/**
 * Reconnect pacing for the link loop: capped exponential back-off with full jitter, and a wait
 * that `close()` can cut short. Full jitter (a uniform pick between 0 and the capped delay)
 * spreads many adaptors that lost the same bridge at the same moment, so a bridge restart is
 * not greeted by a synchronised storm of logins.
 */

/** Delay before reconnect attempt `attempt` (1-based): uniform in [0, min(max, initial * 2^(attempt-1))). */
export function reconnectDelayMs(
  attempt: number,
  initialDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  // 2^30 already exceeds any sane cap; bounding the exponent keeps the product finite.
  const ceilingMs = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(exponent, 30));
  return Math.floor(random() * ceilingMs);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export function cancellableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
