/**
 * Whose lease: the decisions that spread the bridges over the instances of a cluster, as pure
 * functions of what an instance sees (its own leases, the peers' heartbeats).
 *
 * - A standby takes a free lease while it owns fewer than its fair share (the bridges divided
 *   by the live instances, rounded up), so two instances and two bridges end with one each.
 * - Any instance takes a lease that stayed free for GRACE_TICKS ticks in a row, whatever its
 *   share: a bridge is never left unowned because the instances disagree about who is live.
 * - An owner with at least two bridges more than the least-loaded live peer hands one back
 *   (a planned hand-over), e.g. to an instance restarted after a crash.
 */

/** Ticks in a row a lease must be seen free before any instance takes it regardless of shares. */
export const GRACE_TICKS = 2;

export function fairShare(bridges: number, liveInstances: number): number {
  return Math.ceil(bridges / Math.max(1, liveInstances));
}

export interface LeaseView {
  /** Leases this instance holds now. */
  owned: number;
  /** Bridges of the cluster. */
  bridges: number;
  /** Instances whose heartbeat is recent and that take part (this one included). */
  liveInstances: number;
  /** Ticks in a row this lease was seen free, the current one included. */
  freeTicks: number;
}

export function wantsLease(v: LeaseView): boolean {
  if (v.freeTicks <= 0) return false;
  return v.freeTicks >= GRACE_TICKS || v.owned < fairShare(v.bridges, v.liveInstances);
}

/** Whether to hand one lease back: `peersOwned` lists what each other live instance owns. */
export function shouldHandBack(owned: number, peersOwned: number[]): boolean {
  if (peersOwned.length === 0) return false;
  return owned - Math.min(...peersOwned) >= 2;
}
