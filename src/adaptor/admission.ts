/**
 * Where a new conference goes (issue 4, capacity): the bridge with the most headroom, counting
 * as taken the ports in use, the operator-reserved ports, and the ports promised to ringing
 * dial-outs and to conferences by their AttendeeCount.
 */
import { RESULT } from '../protocol/index.js';
import type { PortUsage } from '../bridges/driver.js';

export interface BridgeLoad {
  bridgeId: string;
  up: boolean;
  ports: PortUsage | undefined;
  /** Ports promised to this bridge's conferences and ringing dial-outs beyond those in use. */
  promised: number;
}

export type Admission =
  | { kind: 'admitted'; bridgeId: string }
  | { kind: 'refused'; result: typeof RESULT.NO_PORTS | typeof RESULT.BRIDGE_UNAVAILABLE | typeof RESULT.REDIRECTED };

export function headroom(load: BridgeLoad): number {
  if (!load.ports) return 0;
  return load.ports.total - load.ports.reserved - load.ports.inUse - load.promised;
}

/**
 * Picks the bridge for a conference expecting `attendeeCount` callers (at least one port).
 * Refused: 31 when no bridge is up, else 50 when a peer adaptor is configured, else 30.
 */
export function admit(loads: readonly BridgeLoad[], attendeeCount: number, redirect: boolean): Admission {
  const up = loads.filter((l) => l.up);
  if (up.length === 0) return { kind: 'refused', result: RESULT.BRIDGE_UNAVAILABLE };
  const needed = Math.max(1, attendeeCount);
  let best: BridgeLoad | undefined;
  for (const load of up) {
    if (headroom(load) >= needed && (!best || headroom(load) > headroom(best))) best = load;
  }
  if (best) return { kind: 'admitted', bridgeId: best.bridgeId };
  return { kind: 'refused', result: redirect ? RESULT.REDIRECTED : RESULT.NO_PORTS };
}
