/**
 * One instance of a cluster of adaptors sharing a Redis store (docs/high-availability.md).
 *
 * Every instance takes WebEx traffic: `accept` records the transaction in Redis (TransIDs are
 * de-duplicated there, for all instances) and answers Confirmation 0 only once it is stored;
 * the record also lands on the hand-off stream, which wakes the owner.
 *
 * Exactly one instance, the holder of the bridge lease, owns the bridges: it alone runs an
 * engine (driver connections, bridge commands and events, the outbox). When it takes the
 * lease it builds a fresh engine on the shared store, whose start connects the drivers, takes
 * the bridges' snapshots, finishes the commands left unfinished (checking those in doubt
 * against the snapshot) and resumes the outbox: that is the take-over. When it loses the lease
 * it closes that engine at once; anything it still tries is refused by the fencing checks.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ConfirmationResult } from '../../protocol/index.js';
import type { AcceptedTransaction, Engine } from '../engine.js';
import type { RedisStore } from '../store/redis-store.js';
import { BridgeLease, type LeaseTimings } from './bridge-lease.js';
import { InstanceHeartbeat, type PeerView } from './instance-heartbeat.js';

export interface ClusterMemberDeps {
  /** Commands, scripts and heartbeats. */
  redis: Redis;
  /** A connection of its own for the blocking read of the hand-off stream. */
  blocking: Redis;
  store: RedisStore;
  instanceId: string;
  timings: LeaseTimings;
  /** Builds the drivers and an engine on the shared store and starts it; called at each take-over. */
  startEngine: (mayAct: () => boolean) => Promise<Engine>;
  logger: Logger;
}

type MemberState =
  | { kind: 'standby' }
  | { kind: 'taking-over'; since: number }
  | { kind: 'owner'; engine: Engine }
  | { kind: 'draining' }
  | { kind: 'closed' };

export interface ClusterStatus {
  instance: string;
  role: MemberState['kind'];
  lease: string | undefined;
  redis: string;
  takeOvers: number;
  leaseLosses: number;
  /** Owner writes refused by Redis plus bridge commands and posts refused locally. */
  fencingRefusals: number;
  lastTakeOverMs: number | undefined;
  intake: { accepted: number; repeats: number; refused: number };
  peers: PeerView[];
}

export class ClusterMember {
  #deps: ClusterMemberDeps;
  #log: Logger;
  #state: MemberState = { kind: 'standby' };
  #lease: BridgeLease;
  #heartbeat: InstanceHeartbeat;
  #localRefusals = 0;
  #lastTakeOverMs: number | undefined;
  #intake = { accepted: 0, repeats: 0, refused: 0 };
  #pollWanted = false;
  #polling = false;
  #handOffLoop: Promise<void> | undefined;

  constructor(deps: ClusterMemberDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
    this.#lease = new BridgeLease({
      redis: deps.redis, keys: deps.store.keys, instanceId: deps.instanceId, timings: deps.timings, logger: deps.logger,
      events: { acquired: () => void this.#takeOver(), lost: () => void this.#stepDown() },
    });
    this.#heartbeat = new InstanceHeartbeat({
      redis: deps.redis, key: deps.store.keys.instances, intervalMs: deps.timings.renewMs, logger: deps.logger,
      beat: () => ({ id: deps.instanceId, role: this.#state.kind === 'draining' ? 'closed' : this.#state.kind, at: Date.now(),
        ...(this.#state.kind === 'owner' ? { lease: this.#lease.fence() } : {}) }),
    });
  }

  /** The engine while this instance owns the bridges. */
  get engine(): Engine | undefined {
    return this.#state.kind === 'owner' ? this.#state.engine : undefined;
  }

  start(): void {
    this.#lease.start();
    this.#heartbeat.start();
    this.#handOffLoop = this.#readHandOffs();
  }

  /** Whether bridge commands and A2W posts may go out now; a refusal is counted. */
  mayAct(): boolean {
    if (this.#lease.held()) return true;
    this.#localRefusals++;
    return false;
  }

  /** The lease value owner writes carry. */
  fence(): string {
    return this.#lease.fence();
  }

  /**
   * Confirmation 0 once the transaction is in Redis, whoever owns the bridges; a repeated
   * TransID gets its first answer; 7 while Redis cannot be reached or this instance stops.
   */
  async accept(tx: AcceptedTransaction): Promise<ConfirmationResult> {
    if (this.#state.kind === 'draining' || this.#state.kind === 'closed') return 7;
    let outcome;
    try {
      outcome = await this.#deps.store.recordTransaction({ transId: tx.transId, messages: tx.messages, receivedAt: tx.receivedAt, result: 0 });
    } catch (err) {
      this.#intake.refused++;
      this.#log.error({ err, TransID: tx.transId }, 'could not record a transaction in Redis; answering Confirmation 7 so WebEx tries again or elsewhere');
      return 7;
    }
    if (outcome.kind === 'repeat') {
      this.#intake.repeats++;
      this.#log.info({ TransID: tx.transId, source: tx.source }, 'repeated TransID (maybe first sent to another instance): confirmed again, not acted on');
      return outcome.result as ConfirmationResult;
    }
    this.#intake.accepted++;
    this.#poll();
    return 0;
  }

  status(): ClusterStatus {
    return {
      instance: this.#deps.instanceId,
      role: this.#state.kind,
      lease: this.#state.kind === 'owner' ? this.#lease.fence() : undefined,
      redis: this.#deps.redis.status,
      takeOvers: this.#lease.acquisitions,
      leaseLosses: this.#lease.losses,
      fencingRefusals: this.#deps.store.fencingRefusals + this.#localRefusals,
      lastTakeOverMs: this.#lastTakeOverMs,
      intake: { ...this.#intake },
      peers: this.#heartbeat.peers(),
    };
  }

  /** Planned hand-over: finish what runs (bounded), give the lease up at once, stop. */
  async drain(timeoutMs: number): Promise<void> {
    const state = this.#state;
    if (state.kind === 'closed' || state.kind === 'draining') return;
    this.#state = { kind: 'draining' };
    if (state.kind === 'owner') {
      await state.engine.drain(timeoutMs).catch((err: unknown) => this.#log.error({ err }, 'engine drain failed; handing over anyway'));
      await this.#lease.release();
      await state.engine.close();
    } else {
      await this.#lease.release();
    }
  }

  async close(): Promise<void> {
    if (this.#state.kind === 'closed') return;
    const state = this.#state;
    this.#state = { kind: 'closed' };
    this.#lease.close();
    if (state.kind === 'owner') await state.engine.close();
    await this.#heartbeat.stop();
    this.#deps.blocking.disconnect();
    await this.#handOffLoop;
  }

  async #takeOver(): Promise<void> {
    if (this.#state.kind !== 'standby') return;
    const since = performance.now();
    this.#state = { kind: 'taking-over', since };
    void this.#heartbeat.beatNow().catch(() => {});
    let engine: Engine;
    try {
      engine = await this.#deps.startEngine(() => this.mayAct());
    } catch (err) {
      this.#log.error({ err }, 'take-over failed to start the engine; giving the lease up for another instance');
      if (this.#state.kind === 'taking-over') this.#state = { kind: 'standby' };
      await this.#lease.release();
      return;
    }
    if (this.#state.kind !== 'taking-over' || !this.#lease.held()) {
      await engine.close();
      if (this.#state.kind === 'taking-over') this.#state = { kind: 'standby' };
      return;
    }
    this.#state = { kind: 'owner', engine };
    this.#lastTakeOverMs = Math.round(performance.now() - since);
    this.#log.info({ tookMs: this.#lastTakeOverMs, lease: this.#lease.fence() }, 'take-over done: bridges connected, recovered and reconciled; outbox resumed');
    void this.#heartbeat.beatNow().catch(() => {});
    this.#poll();
  }

  async #stepDown(): Promise<void> {
    const state = this.#state;
    if (state.kind === 'owner' || state.kind === 'taking-over') this.#state = { kind: 'standby' };
    if (state.kind === 'owner') await state.engine.close();
  }

  /** Hands the owner's engine every unfinished command it has not queued yet; calls coalesce. */
  #poll(): void {
    this.#pollWanted = true;
    if (this.#polling || this.#state.kind !== 'owner') return;
    this.#polling = true;
    void this.#runPolls();
  }

  async #runPolls(): Promise<void> {
    try {
      while (this.#pollWanted && this.#state.kind === 'owner') {
        this.#pollWanted = false;
        const unfinished = await this.#deps.store.unfinishedCommands();
        if (this.#state.kind === 'owner') this.#state.engine.runUnfinished(unfinished);
      }
    } catch (err) {
      this.#log.warn({ err }, 'could not read handed-over commands from Redis; trying again at the next tick');
    } finally {
      this.#polling = false;
    }
  }

  /** Wakes the owner when any instance records a command; the blocking read times out every tick as a safety net. */
  async #readHandOffs(): Promise<void> {
    let lastId = '$';
    while (this.#state.kind !== 'closed') {
      try {
        const reply = await this.#deps.blocking.xread('BLOCK', this.#deps.timings.renewMs, 'STREAMS', this.#deps.store.keys.handOff, lastId);
        const entries = reply?.[0]?.[1];
        if (entries && entries.length > 0) lastId = entries[entries.length - 1]![0];
        if (this.#state.kind === 'owner') this.#poll();
      } catch (err) {
        if ((this.#state as MemberState).kind === 'closed') return;
        this.#log.debug({ err }, 'hand-off read failed; Redis reconnecting');
        await new Promise((resolve) => setTimeout(resolve, this.#deps.timings.renewMs));
      }
    }
  }
}
