/**
 * The admin routes of a cluster member: `/readyz` (200 while Redis answers: the instance can
 * take WebEx traffic whether it owns the bridges or not; 503 with the reason otherwise),
 * `/cluster` (this instance's role, lease, counters and every peer's heartbeat) and `/metrics`
 * (the same as Prometheus series).
 */
import type { Router } from 'express';
import { Gauge, Registry } from 'prom-client';
import type { ClusterMember } from './cluster-member.js';

const ROLES = ['owner', 'standby', 'taking-over', 'draining', 'closed'] as const;

export function mountClusterRoutes(router: Router, member: ClusterMember): void {
  const registry = new Registry();
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  new Gauge({
    name: 'tsp_cluster_role', help: 'This instance\'s role in the cluster (1 for the current role).', labelNames: ['role'], registers: [registry],
    collect() { for (const role of ROLES) this.set({ role }, member.status().role === role ? 1 : 0); },
  });
  gauge('tsp_cluster_take_overs_total', 'Times this instance took the bridge lease.', () => member.status().takeOvers);
  gauge('tsp_cluster_lease_losses_total', 'Times this instance lost the bridge lease without releasing it.', () => member.status().leaseLosses);
  gauge('tsp_cluster_fencing_refusals_total', 'Owner writes refused by Redis plus bridge commands and posts refused locally for want of the lease.', () => member.status().fencingRefusals);
  gauge('tsp_cluster_last_take_over_ms', 'How long the last take-over took, lease to engine running.', () => member.status().lastTakeOverMs ?? 0);
  gauge('tsp_cluster_peers', 'Instances heard from recently, this one included.', () => member.status().peers.filter((p) => !p.silent).length);
  gauge('tsp_cluster_intake_refused_total', 'Transactions answered Confirmation 7 because Redis did not answer.', () => member.status().intake.refused);

  router.get('/readyz', (_req, res) => {
    const status = member.status();
    const ready = status.redis === 'ready' && status.role !== 'draining' && status.role !== 'closed';
    res.status(ready ? 200 : 503).json({
      ready, ...(ready ? {} : { reason: status.redis === 'ready' ? `instance is ${status.role}` : `Redis is ${status.redis}: WebEx gets Confirmation 7` }),
      role: status.role, lease: status.lease,
    });
  });
  router.get('/cluster', (_req, res) => { res.json(member.status()); });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
}
