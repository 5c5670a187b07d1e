/**
 * The lease of ONE bridge: at most one instance of a cluster owns that bridge at a time. The
 * lease is one Redis key set with NX and an expiry; its value is `<token>:<instance>`, where the
 * token comes from the bridge's own INCR and so only ever grows. That value is the fencing
 * token: every write of the bridge's owner carries it and the store's scripts refuse any other
 * (redis-store.ts).
 *
 * The lease has no timer of its own: the member ticks all its leases (lease-ticker.ts) so the
 * choice of which free lease to take (ownership-policy.ts) sees what the others just did.
 *
 * Locally the owner also keeps a monotonic deadline (the time it SENT the last successful
 * renewal plus the lease length, less a margin): past it, `held()` is false at once, before any
 * timer of ours can run, so an owner that was paused (SIGSTOP, a long GC) and resumes sends
 * nothing to a bridge or to WebEx although it has not heard yet that it lost the lease.
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BridgeKeys } from '../store/redis/keys.js';

export interface LeaseTimings {
  /** How long a lease lives without renewal: the longest time bridges may go unowned. */
  leaseMs: number;
  /** How often the owner renews, and a standby tries to take the lease; well below leaseMs. */
  renewMs: number;
}

export interface LeaseEvents {
  acquired(value: string): void;
  lost(reason: string): void;
}

type LeaseState =
  | { kind: 'standby'; freeTicks: number }
  | { kind: 'owner'; value: string; validUntil: number }
  | { kind: 'closed' };

const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
`;
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
/** Swaps our value for one with a fresh token, with no moment in between where the lease is free. */
const ROTATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[2]
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
return value
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Part of the lease given up locally to cover the renewal's own round trip and timer lateness. */
const SAFETY_MARGIN_FRACTION = 0.1;
/** A value no lease ever has (tokens start at 1): the fence of an instance that never owned. */
const NO_LEASE = '0:none';

type Fn = (...args: (string | number)[]) => Promise<unknown>;
type Scripts = Record<'acquire' | 'renew' | 'rotate' | 'release', Fn>;

export class BridgeLease {
  readonly bridgeId: string;
  /** Times this instance took the lease, and lost it without releasing it. */
  acquisitions = 0;
  losses = 0;
  /** The lease's value when last read by a standby tick (another instance's), or undefined if free. */
  holder: string | undefined;
  #redis: Redis;
  #keys: Pick<BridgeKeys, 'lease' | 'leaseToken'>;
  #instanceId: string;
  #timings: LeaseTimings;
  #events: LeaseEvents;
  #log: Logger;
  #state: LeaseState = { kind: 'standby', freeTicks: 0 };
  #lastValue = NO_LEASE;
  #fn: Scripts;

  constructor(deps: { redis: Redis; keys: Pick<BridgeKeys, 'lease' | 'leaseToken'>; bridgeId: string; instanceId: string; timings: LeaseTimings; events: LeaseEvents; logger: Logger }) {
    this.bridgeId = deps.bridgeId;
    this.#redis = deps.redis;
    this.#keys = deps.keys;
    this.#instanceId = deps.instanceId;
    this.#timings = deps.timings;
    this.#events = deps.events;
    this.#log = deps.logger;
    if (deps.timings.renewMs * 2 > deps.timings.leaseMs) {
      throw new Error(`cluster.renewMs (${deps.timings.renewMs}) must be at most half of cluster.leaseMs (${deps.timings.leaseMs}) so one late renewal does not lose the lease`);
    }
    const defs: Record<keyof Scripts, string> = { acquire: ACQUIRE, renew: RENEW, rotate: ROTATE, release: RELEASE };
    const r = deps.redis as unknown as Record<string, Fn>;
    this.#fn = Object.fromEntries(Object.entries(defs).map(([op, lua]) => {
      const name = `tspLease_${op}`;
      if (!(name in deps.redis)) deps.redis.defineCommand(name, { numberOfKeys: 2, lua });
      return [op, r[name]!.bind(deps.redis)];
    })) as Scripts;
  }

  /** True only while the lease is ours by the local deadline: checked before every bridge command and A2W post. */
  held(): boolean {
    return this.#state.kind === 'owner' && performance.now() < this.#state.validUntil;
  }

  /** The fencing value to write under: the lease we hold or last held, never another's. */
  fence(): string {
    return this.#lastValue;
  }

  get role(): 'owner' | 'standby' | 'closed' {
    return this.#state.kind;
  }

  /**
   * Keeps the lease but under a fresh fencing token, so that anything still carrying the old
   * value (an engine this instance just closed, with writes in flight) is refused from now on.
   * False when the lease is not ours any more, or Redis did not answer: then it is not held.
   */
  async rotate(): Promise<boolean> {
    const state = this.#state;
    if (state.kind !== 'owner' || !this.held()) return false;
    const sentAt = performance.now();
    let value: unknown;
    try {
      value = await this.#fn.rotate(this.#keys.lease, this.#keys.leaseToken, state.value, this.#instanceId, this.#timings.leaseMs);
    } catch (err) {
      this.#log.warn({ err, bridge: this.bridgeId }, 'bridge lease: Redis did not answer the token rotation; giving the lease up');
      value = undefined;
    }
    if (this.#state !== state) return false;
    const validUntil = this.#deadline(sentAt);
    if (typeof value === 'string' && performance.now() < validUntil) {
      this.#state = { kind: 'owner', value, validUntil };
      this.#lastValue = value;
      this.#log.info({ bridge: this.bridgeId, lease: value, was: state.value }, `bridge ${this.bridgeId}: lease kept under a fresh fencing token`);
      return true;
    }
    // Unknown or late: the value in Redis may be a new one we do not use, so stop acting now
    // and let the lease expire (or be taken) as after a crash.
    this.#lose(typeof value === 'string' ? 'the token rotation came back too late' : 'the token rotation failed');
    return false;
  }

  /** Gives the lease up at once (planned hand-over) so a standby need not wait for expiry. */
  async release(): Promise<void> {
    const state = this.#state;
    this.#state = { kind: 'closed' };
    await this.#releaseValue(state);
  }

  /** Gives the lease up for another instance but stays in the race (a rebalance or a failed take-over). */
  async handBack(): Promise<void> {
    const state = this.#state;
    if (state.kind !== 'owner') return;
    this.#state = { kind: 'standby', freeTicks: 0 };
    await this.#releaseValue(state);
  }

  async #releaseValue(state: LeaseState): Promise<void> {
    if (state.kind !== 'owner') return;
    try {
      await this.#fn.release(this.#keys.lease, this.#keys.leaseToken, state.value);
      this.#log.info({ bridge: this.bridgeId, lease: state.value }, 'bridge lease released for a planned hand-over');
    } catch (err) {
      this.#log.warn({ err }, 'could not release the bridge lease; it expires by itself');
    }
  }

  close(): void {
    this.#state = { kind: 'closed' };
  }

  /**
   * One renewal (owner) or one look at the lease (standby): a standby takes a free lease when
   * `wants(freeTicks)` says so, freeTicks counting the ticks in a row it found the lease free,
   * this one included. Never rejects.
   */
  async tick(wants: (freeTicks: number) => boolean): Promise<void> {
    const state = this.#state;
    if (state.kind === 'closed') return;
    const sentAt = performance.now();
    try {
      if (state.kind === 'owner') {
        if (!this.held()) this.#lose('the lease ran out before it could be renewed (paused process or Redis unreachable)');
        else if (Number(await this.#fn.renew(this.#keys.lease, this.#keys.leaseToken, state.value, this.#timings.leaseMs)) === 1) {
          if (this.#state === state) state.validUntil = this.#deadline(sentAt);
        } else if (this.#state === state) {
          // (A rotation meanwhile replaced the state: this renewal carried the value it retired.)
          this.#lose('another instance holds the lease now');
        }
      } else {
        this.holder = (await this.#redis.get(this.#keys.lease)) ?? undefined;
        state.freeTicks = this.holder === undefined ? state.freeTicks + 1 : 0;
        if (this.holder !== undefined || !wants(state.freeTicks)) return;
        const value = await this.#fn.acquire(this.#keys.lease, this.#keys.leaseToken, this.#instanceId, this.#timings.leaseMs);
        const validUntil = this.#deadline(sentAt);
        // A reply that took longer than the lease (a pause in between) proves nothing: the key
        // is left to expire.
        if (typeof value === 'string' && this.#state === state && performance.now() < validUntil) {
          this.#state = { kind: 'owner', value, validUntil };
          this.#lastValue = value;
          this.acquisitions++;
          this.holder = undefined;
          this.#log.info({ bridge: this.bridgeId, lease: value }, `took the lease of bridge ${this.bridgeId}: this instance now owns it`);
          this.#events.acquired(value);
        }
      }
    } catch (err) {
      this.#log.warn({ err, bridge: this.bridgeId, role: state.kind }, 'bridge lease: Redis did not answer; trying again');
      if (this.#state.kind === 'owner' && !this.held()) this.#lose('Redis unreachable for longer than the lease');
    }
  }

  #lose(reason: string): void {
    if (this.#state.kind !== 'owner') return;
    this.#state = { kind: 'standby', freeTicks: 0 };
    this.losses++;
    this.#log.warn({ reason, bridge: this.bridgeId, lease: this.#lastValue }, `lost the lease of bridge ${this.bridgeId}: ${reason}; stopping all its work`);
    this.#events.lost(reason);
  }

  #deadline(sentAt: number): number {
    return sentAt + this.#timings.leaseMs * (1 - SAFETY_MARGIN_FRACTION);
  }
}
