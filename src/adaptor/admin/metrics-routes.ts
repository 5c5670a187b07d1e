/**
 * `GET /metrics` on the admin listener: the daemon's own Registry in the Prometheus text
 * format. The registry is built once at start-up (metrics/daemon-registry.ts); a scrape only
 * runs its collect callbacks.
 */
import type { Router } from 'express';
import type { Registry } from 'prom-client';

export function mountMetrics(router: Router, deps: { registry: Registry }): void {
  router.get('/metrics', async (_req, res) => {
    const text = await deps.registry.metrics();
    res.status(200).setHeader('Content-Type', deps.registry.contentType).send(text);
  });
}
