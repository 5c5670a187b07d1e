/**
 * One bridge as one cluster member sees it: its lease, and, only while this instance holds that
 * lease, an engine with that bridge's driver on that bridge's partition of the shared store.
 *
 * Taking the lease is the take-over: a fresh engine connects the driver, takes the bridge's
 * snapshot, finishes the commands left unfinished (checking those in doubt against the
 * snapshot), reconciles every conference of the bridge and resumes its outbox with the same A2W
 * TransIDs. Losing the lease closes the engine at once; whatever it still tries is refused by
 * the local deadline (`mayAct`) or by the store's fencing check, and counted. A planned
 * hand-over drains the engine (bounded) and releases the lease so another instance takes it at
 * its next tick.
 *
 * A write to Redis that fails while the lease is still held (a Sentinel fail-over, a restart,
 * replicas late for WAIT) leaves the command that made it unfinished in Redis, where the running
 * engine would not look again, or a bridge event in the engine's memory but not in Redis (with
 * the notifications it made): the owner then recovers as a take-over would, with a fresh engine
 * that reloads Redis and reconciles it with the bridge (after one renewal period, so a burst of
 * failures makes one recovery; again if Redis failed during that one).
 *
 * Every engine is fenced by the lease value it started under, not by whatever this instance
 * holds later: its store view writes under that value and its `mayAct` checks it. A recovery
 * keeps the lease but rotates its token first, so the closed engine's leftovers (a command that
 * finishes late, a write already on its way) are refused instead of overwriting what the fresh
 * engine reloaded and reconciled.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Engine } from '../engine.js';
import type { CommandRecord } from '../store/store.js';
import type { RedisStore } from '../store/redis-store.js';
import { BridgeLease, type LeaseTimings } from './bridge-lease.js';

/**
 * Builds and starts an engine on one bridge's store (a view fenced by the lease value it starts
 * under); `mayAct` guards every bridge command and A2W post.
 */
export type StartEngine = (bridgeId: string, store: RedisStore, mayAct: () => boolean) => Promise<Engine>;

type OwnershipState =
  | { kind: 'standby' }
  /** `writeFailed`: a write of the starting engine failed (its recovery or reconciliation), so it must recover again. */
  | { kind: 'taking-over'; since: number; lease: string; writeFailed: boolean }
  | { kind: 'owner'; lease: string; engine: Engine }
  | { kind: 'handing-over' }
  | { kind: 'closed' };

export type BridgeRole = OwnershipState['kind'];

export interface BridgeStatus {
  bridge: string;
  role: BridgeRole;
  /** The lease value held (owner), or the holder last seen (standby), if any. */
  lease: string | undefined;
  takeOvers: number;
  leaseLosses: number;
  /** Writes refused by Redis plus bridge commands and posts refused locally, for want of this lease. */
  fencingRefusals: number;
  lastTakeOverMs: number | undefined;
  /** When the last take-over finished (ms since epoch). */
  lastTakeOverAt: number | undefined;
  /** Ports neither in use, reserved nor promised, while owner and once the bridge reported them. */
  freePorts: number | undefined;
}

export class BridgeOwnership {
  readonly bridgeId: string;
  readonly lease: BridgeLease;
  #store: RedisStore;
  #startEngine: StartEngine;
  #log: Logger;
  #state: OwnershipState = { kind: 'standby' };
  #localRefusals = 0;
  #lastTakeOverMs: number | undefined;
  #lastTakeOverAt: number | undefined;
  #pollWanted = false;
  #polling = false;
  #changed: () => void;
  #renewMs: number;
  #recovery: NodeJS.Timeout | undefined;

  constructor(deps: {
    redis: Redis; store: RedisStore; bridgeId: string; instanceId: string; timings: LeaseTimings;
    startEngine: StartEngine; logger: Logger;
    /** Told after every change of role (to beat the heartbeat at once). */
    changed: () => void;
  }) {
    this.bridgeId = deps.bridgeId;
    this.#store = deps.store;
    this.#startEngine = deps.startEngine;
    this.#changed = deps.changed;
    this.#renewMs = deps.timings.renewMs;
    this.#log = deps.logger.child({ bridge: deps.bridgeId });
    this.lease = new BridgeLease({
      redis: deps.redis, keys: deps.store.keys, bridgeId: deps.bridgeId, instanceId: deps.instanceId, timings: deps.timings, logger: deps.logger,
      events: { acquired: () => void this.#takeOver(), lost: () => void this.#stepDown() },
    });
  }

  get role(): BridgeRole {
    return this.#state.kind;
  }

  get engine(): Engine | undefined {
    return this.#state.kind === 'owner' ? this.#state.engine : undefined;
  }

  /** Counts as owned for the lease policy: owner, or busy becoming one. */
  get owned(): boolean {
    return this.#state.kind === 'owner' || this.#state.kind === 'taking-over';
  }

  /** Whether the engine started under `lease` may send a command or a post now; a refusal is counted. */
  #mayActUnder(lease: string): boolean {
    if (this.#holds(lease)) return true;
    this.#localRefusals++;
    return false;
  }

  #holds(lease: string): boolean {
    return this.lease.held() && this.lease.fence() === lease;
  }

  status(): BridgeStatus {
    const view = this.engine?.snapshot().bridges[0];
    const freePorts = view?.ports ? Math.max(0, view.ports.total - view.ports.inUse - view.ports.reserved - view.promisedPorts) : undefined;
    return {
      bridge: this.bridgeId,
      role: this.#state.kind,
      lease: this.#state.kind === 'owner' ? this.lease.fence() : this.lease.holder,
      takeOvers: this.lease.acquisitions,
      leaseLosses: this.lease.losses,
      fencingRefusals: this.#store.fencingRefusals + this.#localRefusals,
      lastTakeOverMs: this.#lastTakeOverMs,
      lastTakeOverAt: this.#lastTakeOverAt,
      freePorts,
    };
  }

  /** Hands the engine every unfinished command of this bridge it has not queued yet; calls coalesce. */
  poll(): void {
    this.#pollWanted = true;
    if (this.#polling || this.#state.kind !== 'owner') return;
    this.#polling = true;
    void this.#runPolls();
  }

  /**
   * Planned hand-over: finish what runs (bounded), give the lease up at once, close the engine.
   * `stay` keeps this instance in the race for the lease (a rebalance); otherwise it is out.
   */
  async handOver(timeoutMs: number, stay: boolean): Promise<void> {
    const state = this.#state;
    if (state.kind === 'closed' || state.kind === 'handing-over') return;
    this.#state = { kind: 'handing-over' };
    if (state.kind === 'owner') {
      await state.engine.drain(timeoutMs).catch((err: unknown) => this.#log.error({ err }, 'engine drain failed; handing over anyway'));
    }
    if (stay) await this.lease.handBack();
    else await this.lease.release();
    if (state.kind === 'owner') await state.engine.close();
    this.#state = stay ? { kind: 'standby' } : { kind: 'closed' };
    this.#changed();
  }

  /** Stops without handing over: the lease is left to expire (as in a crash). */
  async close(): Promise<void> {
    clearTimeout(this.#recovery);
    const state = this.#state;
    this.#state = { kind: 'closed' };
    this.lease.close();
    if (state.kind === 'owner') await state.engine.close();
  }

  async #takeOver(): Promise<void> {
    if (this.#state.kind !== 'standby') return;
    const since = performance.now();
    const lease = this.lease.fence();
    const starting: OwnershipState & { kind: 'taking-over' } = { kind: 'taking-over', since, lease, writeFailed: false };
    this.#state = starting;
    this.#changed();
    const store = this.#store.under(lease, (err) => this.#writeFailed(err, lease));
    let engine: Engine;
    try {
      engine = await this.#startEngine(this.bridgeId, store, () => this.#mayActUnder(lease));
    } catch (err) {
      this.#log.error({ err }, 'take-over failed to start the engine; giving the lease back for another instance');
      if (this.#state.kind === 'taking-over') this.#state = { kind: 'standby' };
      await this.lease.handBack();
      this.#changed();
      return;
    }
    if (this.#state !== starting || !this.#holds(lease)) {
      await engine.close();
      if (this.#state.kind === 'taking-over') this.#state = { kind: 'standby' };
      this.#changed();
      return;
    }
    this.#state = { kind: 'owner', lease, engine };
    this.#lastTakeOverMs = Math.round(performance.now() - since);
    this.#lastTakeOverAt = Date.now();
    this.#log.info({ tookMs: this.#lastTakeOverMs, lease },
      `take-over of bridge ${this.bridgeId} done: connected, recovered and reconciled; outbox resumed`);
    this.#changed();
    // Redis still away while it recovered: part of what it saw is in its memory only.
    if (starting.writeFailed) this.#writeFailed(new Error('a write failed during the take-over'), lease);
    this.poll();
  }

  /** A write of the engine started under `lease` failed; a closed engine's failures change nothing. */
  #writeFailed(err: unknown, lease: string): void {
    const state = this.#state;
    if ((state.kind !== 'taking-over' && state.kind !== 'owner') || state.lease !== lease) return;
    if (state.kind === 'taking-over') state.writeFailed = true;
    if (state.kind !== 'owner' || this.#recovery) return;
    this.#log.warn({ err }, `a write to Redis failed while owning bridge ${this.bridgeId}: recovering its unfinished commands with a fresh engine`);
    this.#recovery = setTimeout(() => void this.#recover(), this.#renewMs);
  }

  async #recover(): Promise<void> {
    this.#recovery = undefined;
    const state = this.#state;
    if (state.kind !== 'owner') return;
    this.#state = { kind: 'standby' };
    await state.engine.close();
    // A fresh token first: whatever the closed engine still sends is refused from here on.
    if (this.#state.kind === 'standby' && await this.lease.rotate() && this.#state.kind === 'standby') await this.#takeOver();
    else this.#changed();
  }

  async #stepDown(): Promise<void> {
    const state = this.#state;
    if (state.kind === 'owner' || state.kind === 'taking-over') this.#state = { kind: 'standby' };
    if (state.kind === 'owner') await state.engine.close();
    this.#changed();
  }

  async #runPolls(): Promise<void> {
    try {
      while (this.#pollWanted && this.#state.kind === 'owner') {
        this.#pollWanted = false;
        const unfinished: CommandRecord[] = await this.#store.unfinishedCommands();
        if (this.#state.kind === 'owner') this.#state.engine.runUnfinished(unfinished);
      }
    } catch (err) {
      this.#log.warn({ err }, 'could not read handed-over commands from Redis; trying again at the next tick');
    } finally {
      this.#polling = false;
    }
  }
}
