/**
 * `GET /metrics` on the admin listener: the daemon's own Registry in the Prometheus text
 * format, followed by any further registries of that kind of instance (a cluster member's
 * series), whose names never repeat the daemon's. Registries are built once at start-up
 * (metrics/daemon-registry.ts); a scrape only runs their collect callbacks.
 */
import type { Router } from 'express';
import type { Registry } from 'prom-client';

export function mountMetrics(router: Router, deps: { registry: Registry; more?: readonly Registry[] }): void {
  const registries = [deps.registry, ...(deps.more ?? [])];
  router.get('/metrics', async (_req, res) => {
    const texts = await Promise.all(registries.map((r) => r.metrics()));
    res.status(200).setHeader('Content-Type', deps.registry.contentType).send(texts.join(''));
  });
}
