/**
 * Time as the emulator sees it. The bridge model, the endpoint's faults and the traffic
 * generator take a `Clock` instead of calling Date.now/setTimeout, so tests drive them with
 * `FakeClock` (deterministic, instant) and the CLI with `systemClock`.
 */

/** Cancels a scheduled callback; harmless after it ran or was cancelled. */
export type Cancel = () => void;

export interface Clock {
  /** ms since epoch. */
  now(): number;
  schedule(delayMs: number, callback: () => void): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, callback) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    return () => clearTimeout(timer);
  },
};

interface PendingTimer {
  dueAt: number;
  order: number;
  callback: () => void;
}

/** A clock that moves only when told to; due callbacks run in due-time, then scheduling, order. */
export class FakeClock implements Clock {
  #now: number;
  #order = 0;
  #timers = new Set<PendingTimer>();

  constructor(startAt = Date.UTC(2026, 0, 1)) {
    this.#now = startAt;
  }

  now(): number {
    return this.#now;
  }

  schedule(delayMs: number, callback: () => void): Cancel {
    const timer: PendingTimer = { dueAt: this.#now + Math.max(0, delayMs), order: this.#order++, callback };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every callback that falls due, including new ones. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#earliestDue(until);
      if (!next) break;
      this.#timers.delete(next);
      this.#now = next.dueAt;
      next.callback();
    }
    this.#now = until;
  }

  #earliestDue(until: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.#timers) {
      if (t.dueAt > until) continue;
      if (!best || t.dueAt < best.dueAt || (t.dueAt === best.dueAt && t.order < best.order)) best = t;
    }
    return best;
  }
}
