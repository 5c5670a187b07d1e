/**
 * What a cluster member adds to the admin listener (admin/admin-surface.ts serves `/healthz`,
 * a lease-aware `/readyz`, `/metrics`, the console and the live feed as on a single instance,
 * behind the same auth): `/cluster` (this instance's role, each bridge's lease and counters,
 * every peer's heartbeat) and the same as Prometheus series, per bridge where they are per
 * bridge, appended to `/metrics`.
 */
import type { Router } from 'express';
import { Gauge, Registry } from 'prom-client';
import { readCounter } from '../metrics/read-counter.js';
import type { BridgeStatus } from './bridge-ownership.js';
import type { ClusterMember } from './cluster-member.js';

const ROLES = ['owner', 'standby', 'draining', 'closed'] as const;
const BRIDGE_ROLES = ['owner', 'standby', 'taking-over', 'handing-over', 'closed'] as const;

/** The member's series, on a registry of their own (appended to the daemon's on `/metrics`). */
export function clusterMetrics(member: ClusterMember): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  new Gauge({
    name: 'tsp_cluster_role', help: 'This instance\'s role in the cluster (1 for the current role).', labelNames: ['role'], registers: [registry],
    collect() { for (const role of ROLES) this.set({ role }, member.status().role === role ? 1 : 0); },
  });
  new Gauge({
    name: 'tsp_cluster_bridge_role', help: 'This instance\'s role for each bridge (1 for the current role).', labelNames: ['bridge', 'role'], registers: [registry],
    collect() { for (const b of member.status().bridges) for (const role of BRIDGE_ROLES) this.set({ bridge: b.bridge, role }, b.role === role ? 1 : 0); },
  });
  const perBridge = (name: string, help: string, read: (b: BridgeStatus) => number): void => {
    new Gauge({ name, help, labelNames: ['bridge'], registers: [registry], collect() { for (const b of member.status().bridges) this.set({ bridge: b.bridge }, read(b)); } });
  };
  // Counts that only grow for the life of the process: counters, as Prometheus' naming rules want for `_total`.
  const perBridgeCount = (name: string, help: string, read: (b: BridgeStatus) => number): void => {
    readCounter({ name, help, labelNames: ['bridge'], registry, read: () => member.status().bridges.map((b) => [{ bridge: b.bridge }, read(b)] as const) });
  };
  perBridgeCount('tsp_cluster_take_overs_total', 'Times this instance took the bridge\'s lease.', (b) => b.takeOvers);
  perBridgeCount('tsp_cluster_lease_losses_total', 'Times this instance lost the bridge\'s lease without releasing it.', (b) => b.leaseLosses);
  perBridgeCount('tsp_cluster_fencing_refusals_total', 'Owner writes refused by Redis plus bridge commands and posts refused locally for want of the bridge\'s lease.', (b) => b.fencingRefusals);
  perBridge('tsp_cluster_last_take_over_seconds', 'How long the last take-over of the bridge took, lease to engine running, in seconds (Prometheus base unit).', (b) => (b.lastTakeOverMs ?? 0) / 1_000);
  gauge('tsp_cluster_peers', 'Instances heard from recently, this one included.', () => member.status().peers.filter((p) => !p.silent).length);
  readCounter({
    name: 'tsp_cluster_intake_refused_total', help: 'Transactions answered Confirmation 7 because Redis did not answer.',
    labelNames: [], registry, read: () => [[{}, member.status().intake.refused] as const],
  });
  return registry;
}

export function mountClusterRoutes(router: Router, member: ClusterMember): void {
  router.get('/cluster', (_req, res) => { res.json(member.status()); });
}
