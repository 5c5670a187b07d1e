/**
 * The daemon's one Prometheus Registry. prom-client's global default registry is left alone,
 * so two daemons in one process (tests) or a library using prom-client never mix series.
 * Process metrics (CPU, memory, event-loop lag, handles) come from prom-client's default
 * collectors, registered here under the `tsp_` prefix.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRIC_PREFIX = 'tsp_';
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createDaemonRegistry(labels: { instance_id: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  // Gauges named like counters break Prometheus' naming rules (`promtool check metrics`); the
  // same counts stay available by type in tsp_nodejs_active_{handles,requests,resources}.
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
  return registry;
}
