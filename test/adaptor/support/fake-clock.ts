/**
 * A clock the test moves by hand: `advance(ms)` fires every timer that falls due, in time order,
 * including timers those timers set.
 */
import type { Clock, TimerHandle } from '../../../src/adaptor/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

const MAX_TIMERS_PER_ADVANCE = 100_000;

export class FakeClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #seq = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return { cancel: () => void (this.#timers = this.#timers.filter((t) => t !== timer)) };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.length;
  }

  advance(ms: number): void {
    const end = this.#now + ms;
    for (let fired = 0; fired < MAX_TIMERS_PER_ADVANCE; fired++) {
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}
