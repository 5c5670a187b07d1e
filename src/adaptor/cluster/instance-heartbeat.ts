/**
 * Instances see each other: each writes a heartbeat (whether it takes part, each bridge's role
 * and lease as it sees them, the free ports of the bridges it owns, when) into one Redis hash at
 * every lease tick, and reads everyone's for /readyz, metrics, the console, the lease policy and
 * the choice of a bridge for a new conference. An entry older than a few ticks is shown as
 * silent; a stopped instance removes its own.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** What an instance says of one bridge: only the bridges it owns or is taking over are listed. */
export interface BridgeBeat {
  role: 'owner' | 'taking-over';
  lease: string;
  /** Free ports, once the bridge reported its port usage. */
  freePorts?: number;
}

export interface InstanceBeat {
  id: string;
  /** `active` takes WebEx traffic and races for leases; `draining` is stopping. */
  role: 'active' | 'draining';
  bridges: Record<string, BridgeBeat>;
  /** ms since epoch (the writer's clock: keep hosts in NTP sync). */
  at: number;
}

export interface PeerView extends InstanceBeat {
  /** No heartbeat for SILENT_AFTER_TICKS ticks. */
  silent: boolean;
}

const SILENT_AFTER_TICKS = 3;

export class InstanceHeartbeat {
  #redis: Redis;
  #key: string;
  #intervalMs: number;
  #beat: () => InstanceBeat;
  #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #peers: PeerView[] = [];
  #stopped = false;

  constructor(deps: { redis: Redis; key: string; intervalMs: number; beat: () => InstanceBeat; logger: Logger }) {
    this.#redis = deps.redis;
    this.#key = deps.key;
    this.#intervalMs = deps.intervalMs;
    this.#beat = deps.beat;
    this.#log = deps.logger;
  }

  start(): void {
    void this.#tick();
  }

  /** Every instance last seen, this one included, from the latest tick. */
  peers(): PeerView[] {
    return this.#peers;
  }

  /** Writes one beat now (after a role change) rather than at the next tick. */
  async beatNow(): Promise<void> {
    const beat = this.#beat();
    await this.#redis.hset(this.#key, beat.id, JSON.stringify(beat));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      await this.#redis.hdel(this.#key, this.#beat().id);
    } catch (err) {
      this.#log.debug({ err }, 'could not remove this instance heartbeat; it goes silent instead');
    }
  }

  async #tick(): Promise<void> {
    try {
      await this.beatNow();
      const now = Date.now();
      this.#peers = Object.values(await this.#redis.hgetall(this.#key))
        .map((s) => JSON.parse(s) as InstanceBeat)
        .map((b) => ({ ...b, silent: now - b.at > SILENT_AFTER_TICKS * this.#intervalMs }))
        .sort((a, b) => a.id.localeCompare(b.id));
    } catch (err) {
      this.#log.debug({ err }, 'instance heartbeat: Redis did not answer');
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
  }
}
