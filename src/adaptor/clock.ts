/**
 * Time as the engine sees it: injected so tests drive keep-alive, back-off and speaking
 * debounce with a fake clock instead of sleeping.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** ms since epoch. */
  now(): number;
  /** Runs `fn` once after `delayMs`; the handle cancels it. Timers never keep the process alive. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
