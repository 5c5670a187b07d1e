/**
 * Readiness as a pure function of what the daemon knows: ready to take WebEx traffic when the
 * store is open, the engine is running (not starting, not draining), and at least one bridge
 * is up and, if the deep check has run on it, passed its last one. Every reason it is not ready
 * is listed, in words an operator can act on; `/readyz` returns them as JSON.
 */
import type { LinkStatus } from '../../bridges/driver.js';
import type { EngineState } from '../engine.js';

/** The outcome of the last deep check on one bridge (health/deep-check.ts). */
export type DeepCheckVerdict =
  | { outcome: 'passed'; at: number }
  | { outcome: 'failed'; at: number; step: string; error: string };

export interface BridgeReadinessInput {
  id: string;
  status: LinkStatus;
  deepCheck?: DeepCheckVerdict;
}

export interface ReadinessInput {
  storeOpen: boolean;
  engine: EngineState;
  bridges: readonly BridgeReadinessInput[];
}

export interface BridgeReadiness {
  id: string;
  link: LinkStatus['state'];
  usable: boolean;
  deepCheck?: DeepCheckVerdict;
}

export interface Readiness {
  ready: boolean;
  reasons: string[];
  engine: EngineState;
  store: 'open' | 'closed';
  bridges: BridgeReadiness[];
}

export function readiness(input: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if (!input.storeOpen) reasons.push('the store is closed');
  if (input.engine === 'draining') reasons.push('draining for shutdown: new transactions are answered Confirmation 7');
  else if (input.engine !== 'running') reasons.push(`the engine is ${input.engine}, not running`);
  const bridges = input.bridges.map((b): BridgeReadiness => ({
    id: b.id,
    link: b.status.state,
    usable: b.status.state === 'up' && b.deepCheck?.outcome !== 'failed',
    ...(b.deepCheck ? { deepCheck: b.deepCheck } : {}),
  }));
  if (bridges.length === 0) reasons.push('no bridge is configured: add one under `bridges` or enable the emulator');
  else if (!bridges.some((b) => b.usable)) {
    const why = input.bridges.map((b) =>
      b.status.state !== 'up' ? `${b.id} is ${b.status.state}` : `${b.id} failed its deep check at step ${b.deepCheck?.outcome === 'failed' ? b.deepCheck.step : '?'}`);
    reasons.push(`no bridge is usable (${why.join('; ')})`);
  }
  return { ready: reasons.length === 0, reasons, engine: input.engine, store: input.storeOpen ? 'open' : 'closed', bridges };
}

/** What a cluster member knows about itself (cluster/cluster-member.ts `status()`). */
export interface MemberReadinessInput {
  /** The Redis connection's state, `ready` when it answers. */
  redis: string;
  role: string;
  /** Each bridge's lease as this instance sees it (owner or standby, and the holder). */
  leases: Record<string, { role: string; lease: string | undefined }>;
  /** Present while this instance runs engines (it owns bridges): their states and their bridges, as for a single instance. */
  owner?: { engines: readonly EngineState[]; bridges: readonly BridgeReadinessInput[] };
}

export interface MemberReadiness {
  ready: boolean;
  reasons: string[];
  role: string;
  leases: MemberReadinessInput['leases'];
  /** Only while this instance owns bridges: the owner answers for them. */
  engine?: EngineState;
  bridges?: BridgeReadiness[];
}

/**
 * Readiness of a cluster member: every instance takes WebEx traffic while Redis answers, so a
 * standby is ready without any bridge; the owner is also held to its bridges (up, and not
 * failing the deep check), as a single instance is.
 */
export function memberReadiness(input: MemberReadinessInput): MemberReadiness {
  const reasons: string[] = [];
  if (input.redis !== 'ready') reasons.push(`Redis is ${input.redis}: WebEx gets Confirmation 7 until it answers again`);
  if (input.role === 'draining' || input.role === 'closed') reasons.push(`this instance is ${input.role}: new transactions are answered Confirmation 7`);
  const { role, leases } = input;
  if (!input.owner) return { ready: reasons.length === 0, reasons, role, leases };
  // Intake goes to Redis, so a take-over under way (an engine starting) does not stop it; a drain does.
  const engine = input.owner.engines.includes('draining') ? 'draining' : 'running';
  const own = readiness({ storeOpen: input.redis === 'ready', engine, bridges: input.owner.bridges });
  // The store is Redis: its absence is already said above.
  reasons.push(...own.reasons.filter((r) => r !== 'the store is closed'));
  return { ready: reasons.length === 0, reasons, role, leases, engine: own.engine, bridges: own.bridges };
}
