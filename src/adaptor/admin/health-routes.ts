/**
 * `/healthz` and `/readyz` on the admin listener.
 *
 * `/healthz` answers whether the process is alive and its event loop responsive: the longest
 * loop delay since the previous check must stay under a bound (a loop blocked for longer
 * cannot serve WebEx in time). `/readyz` answers whether this instance should
 * get WebEx traffic (health/readiness.ts), 503 with the reasons when not. Both are cheap: they
 * read state, they never touch a bridge (the deep check does that on its own schedule).
 */
import type { Router } from 'express';

/** What `/readyz` answers: a single instance's or a cluster member's readiness (health/readiness.ts). */
export type ReadinessReport = { ready: boolean };

/** A loop stuck longer than this at any moment since the last check is reported unhealthy. */
export const LOOP_DELAY_LIMIT_MS = 1_000;
/** Period of the loop-delay sampler. */
const LOOP_SAMPLE_MS = 100;

export interface HealthDeps {
  readiness(): ReadinessReport;
  loop: LoopMonitor;
}

/**
 * Measures how late a steady timer fires: a loop blocked for a second makes the next tick a
 * second late. (perf_hooks' monitorEventLoopDelay does not see one long block as one long
 * delay, so it cannot answer "was the loop stuck".) One unref'd timer; nothing on the hot path.
 */
export class LoopMonitor {
  #timer: NodeJS.Timeout;
  #last = performance.now();
  #maxMs = 0;
  #sumMs = 0;
  #ticks = 0;

  constructor() {
    this.#timer = setInterval(() => {
      const now = performance.now();
      const lateMs = Math.max(0, now - this.#last - LOOP_SAMPLE_MS);
      this.#last = now;
      this.#maxMs = Math.max(this.#maxMs, lateMs);
      this.#sumMs += lateMs;
      this.#ticks++;
    }, LOOP_SAMPLE_MS);
    this.#timer.unref();
  }

  /** Mean and max loop delay since the last read, in ms; the window restarts. */
  read(): { meanMs: number; maxMs: number } {
    const value = { meanMs: this.#ticks === 0 ? 0 : this.#sumMs / this.#ticks, maxMs: this.#maxMs };
    this.#maxMs = 0;
    this.#sumMs = 0;
    this.#ticks = 0;
    return value;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

export function mountHealth(router: Router, deps: HealthDeps): void {
  router.get('/healthz', (_req, res) => {
    const loop = deps.loop.read();
    const healthy = loop.maxMs < LOOP_DELAY_LIMIT_MS;
    res.status(healthy ? 200 : 503).json({
      healthy,
      loopDelayMs: { mean: round(loop.meanMs), max: round(loop.maxMs), limit: LOOP_DELAY_LIMIT_MS },
      uptimeSeconds: Math.round(process.uptime()),
    });
  });
  router.get('/readyz', (_req, res) => {
    const r = deps.readiness();
    res.status(r.ready ? 200 : 503).json(r);
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
