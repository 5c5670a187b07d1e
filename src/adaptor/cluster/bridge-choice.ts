/**
 * Which bridge a new conference goes to, decided by the instance that takes the
 * CreateConference (any instance): the bridge with the most free ports as its owner last
 * published them in its heartbeat (ports neither in use, reserved nor promised to open
 * conferences). Without any published figure (no owner yet, heartbeats stale) the choice is a
 * stable one: rendezvous hashing of the ConfKey over the configured bridges, so every instance
 * picks the same bridge and a bridge's removal moves only its own share. Ties on free ports are
 * broken the same way.
 *
 * Commands of a conference that exists follow its route (transaction-log.ts); this is asked only
 * for the first command of an unknown conference.
 */
import { createHash } from 'node:crypto';

/** Free ports of each bridge whose live owner published a figure. */
export type PortOffers = ReadonlyMap<string, number>;

export function chooseBridge(routingKey: string, bridges: readonly string[], offers: PortOffers): string {
  if (bridges.length === 0) throw new Error('no bridge configured: the cluster needs at least one bridge in bridges[]');
  const ranked = [...bridges].sort((a, b) => rank(routingKey, b) - rank(routingKey, a) || a.localeCompare(b));
  let best = ranked[0]!;
  let bestFree = offers.get(best) ?? -1;
  for (const bridge of ranked.slice(1)) {
    const free = offers.get(bridge) ?? -1;
    if (free > bestFree) { best = bridge; bestFree = free; }
  }
  return best;
}

function rank(routingKey: string, bridge: string): number {
  return createHash('sha256').update(`${bridge}\0${routingKey}`).digest().readUInt32BE(0);
}
