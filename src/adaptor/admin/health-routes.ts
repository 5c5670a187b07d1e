/**
 * `/healthz` and `/readyz` on the admin listener.
 *
 * `/healthz` answers whether the process is alive and its event loop responsive: the loop delay
 * measured by `monitorEventLoopDelay` over the last window must stay under a bound (a loop
 * blocked for longer cannot serve WebEx in time). `/readyz` answers whether this instance should
 * get WebEx traffic (health/readiness.ts), 503 with the reasons when not. Both are cheap: they
 * read state, they never touch a bridge (the deep check does that on its own schedule).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Router } from 'express';
import type { Readiness } from '../health/readiness.js';

/** A loop delayed longer than this (p99 over the last window) is reported unhealthy. */
export const LOOP_DELAY_LIMIT_MS = 1_000;
const NS_PER_MS = 1e6;
/** Resolution of the loop-delay sampler. */
const LOOP_SAMPLE_MS = 20;

export interface HealthDeps {
  readiness(): Readiness;
  loop: LoopMonitor;
}

/** Samples the event loop's delay; `reset()` after each read starts a fresh window. */
export class LoopMonitor {
  #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });

  constructor() {
    this.#histogram.enable();
  }

  /** p99 and max loop delay since the last read, in ms; the window restarts. */
  read(): { p99Ms: number; maxMs: number } {
    const h = this.#histogram;
    // Before the first sample the histogram reports NaN-ish extremes; treat it as no delay.
    const value = h.count === 0 ? { p99Ms: 0, maxMs: 0 } : { p99Ms: h.percentile(99) / NS_PER_MS, maxMs: h.max / NS_PER_MS };
    h.reset();
    return value;
  }

  close(): void {
    this.#histogram.disable();
  }
}

export function mountHealth(router: Router, deps: HealthDeps): void {
  router.get('/healthz', (_req, res) => {
    const loop = deps.loop.read();
    const healthy = loop.p99Ms < LOOP_DELAY_LIMIT_MS;
    res.status(healthy ? 200 : 503).json({
      healthy,
      loopDelayMs: { p99: round(loop.p99Ms), max: round(loop.maxMs), limit: LOOP_DELAY_LIMIT_MS },
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
