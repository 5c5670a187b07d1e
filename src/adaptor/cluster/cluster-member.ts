/**
 * One instance of a cluster of adaptors sharing a Redis store (docs/high-availability.md).
 *
 * Every instance takes WebEx traffic: `accept` records the transaction in Redis (TransIDs are
 * de-duplicated there, for all instances) and files each command in the partition of its
 * conference's bridge (a new conference's bridge is chosen by bridge-choice.ts); Confirmation 0
 * goes out only once that is stored. The bridge's hand-off stream wakes its owner, wherever it
 * runs.
 *
 * Each bridge has its own lease and owner (bridge-ownership.ts): an instance may own bridge A
 * while another owns bridge B. One tick every `renewMs` renews the leases held, lets standby
 * leases take a free lease as lease-policy.ts says, and hands one back when this instance owns
 * two more bridges than the least-loaded live peer.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ConfirmationResult, W2AMessage } from '../../protocol/index.js';
import type { AcceptedTransaction, Engine } from '../engine.js';
import type { RedisStore } from '../store/redis-store.js';
import type { TransactionLog } from '../store/redis/transaction-log.js';
import type { LeaseTimings } from './bridge-lease.js';
import { chooseBridge, type PortOffers } from './bridge-choice.js';
import { BridgeOwnership, type BridgeStatus, type StartEngine } from './bridge-ownership.js';
import { InstanceHeartbeat, type BridgeBeat, type PeerView } from './instance-heartbeat.js';
import { shouldHandBack, wantsLease } from './lease-policy.js';

export interface ClusterMemberDeps {
  /** Commands, scripts and heartbeats. */
  redis: Redis;
  /** A connection of its own for the blocking read of the hand-off streams. */
  blocking: Redis;
  /** The shared TransID journal and router. */
  log: TransactionLog;
  /** One store per configured bridge, in configuration order. */
  stores: RedisStore[];
  instanceId: string;
  timings: LeaseTimings;
  /** How long a rebalancing hand-over lets the engine finish its running work. */
  handOverMs: number;
  /** Builds one bridge's driver and an engine on its store and starts it; called at each take-over. */
  startEngine: StartEngine;
  logger: Logger;
}

type MemberState = { kind: 'active' } | { kind: 'draining' } | { kind: 'closed' };

/** Ticks after any change of ownership before this instance considers handing a bridge back. */
const REBALANCE_QUIET_TICKS = 10;

export interface ClusterStatus {
  instance: string;
  /** `owner` while this instance owns at least one bridge. */
  role: 'owner' | 'standby' | 'draining' | 'closed';
  /** The first lease held, if any (every lease is under `bridges`). */
  lease: string | undefined;
  redis: string;
  takeOvers: number;
  leaseLosses: number;
  /** Owner writes refused by Redis plus bridge commands and posts refused locally. */
  fencingRefusals: number;
  /** The most recent take-over of any bridge, how long it took. */
  lastTakeOverMs: number | undefined;
  intake: { accepted: number; repeats: number; refused: number };
  bridges: BridgeStatus[];
  peers: PeerView[];
}

export class ClusterMember {
  #deps: ClusterMemberDeps;
  #log: Logger;
  #state: MemberState = { kind: 'active' };
  #ownerships: BridgeOwnership[];
  #heartbeat: InstanceHeartbeat;
  #intake = { accepted: 0, repeats: 0, refused: 0 };
  /** Refusing since the last transaction Redis took: an outage is one error line, its refusals warnings. */
  #refusing = false;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #quietTicks = 0;
  #handOffLoop: Promise<void> | undefined;

  constructor(deps: ClusterMemberDeps) {
    this.#deps = deps;
    this.#log = deps.logger;
    this.#ownerships = deps.stores.map((store) => new BridgeOwnership({
      redis: deps.redis, store, bridgeId: store.bridgeId, instanceId: deps.instanceId, timings: deps.timings,
      startEngine: deps.startEngine, logger: deps.logger, changed: () => this.#changed(),
    }));
    this.#heartbeat = new InstanceHeartbeat({
      redis: deps.redis, key: deps.log.keys.instances, intervalMs: deps.timings.renewMs, logger: deps.logger,
      beat: () => ({ id: deps.instanceId, role: this.#state.kind === 'active' ? 'active' : 'draining', at: Date.now(), bridges: this.#bridgeBeats() }),
    });
  }

  /** Every engine running here: one per bridge owned. */
  engines(): Engine[] {
    return this.#ownerships.flatMap((o) => o.engine ?? []);
  }

  start(): void {
    this.#heartbeat.start();
    this.#ticking = this.#tick();
    this.#handOffLoop = this.#readHandOffs();
  }

  /**
   * Confirmation 0 once the transaction is in Redis, whoever owns the bridges; a repeated
   * TransID gets its first answer; 7 while Redis cannot be reached or this instance stops.
   */
  async accept(tx: AcceptedTransaction): Promise<ConfirmationResult> {
    if (this.#state.kind !== 'active') return 7;
    let outcome;
    try {
      const offers = this.#offers();
      const bridges = this.#ownerships.map((o) => o.bridgeId);
      outcome = await this.#deps.log.record({ transId: tx.transId, messages: tx.messages, receivedAt: tx.receivedAt, result: 0 },
        (message) => chooseBridge(routingKey(message), bridges, offers));
    } catch (err) {
      this.#intake.refused++;
      const level = this.#refusing ? 'warn' : 'error';
      this.#refusing = true;
      this.#log[level]({ err, TransID: tx.transId }, 'could not record a transaction in Redis; answering Confirmation 7 so WebEx tries again or elsewhere');
      return 7;
    }
    if (this.#refusing) {
      this.#refusing = false;
      this.#log.info({ TransID: tx.transId, refused: this.#intake.refused }, 'Redis records transactions again; Confirmation 0 resumes');
    }
    if (outcome.kind === 'repeat') {
      this.#intake.repeats++;
      this.#log.info({ TransID: tx.transId, source: tx.source }, 'repeated TransID (maybe first sent to another instance): confirmed again, not acted on');
      return outcome.result as ConfirmationResult;
    }
    this.#intake.accepted++;
    for (const bridgeId of new Set(outcome.commands.map((c) => c.bridgeId))) {
      const ownership = this.#ownership(bridgeId);
      if (ownership) ownership.poll();
      else this.#log.warn({ TransID: tx.transId, bridge: bridgeId }, `a conference is routed to bridge ${bridgeId}, which this instance's configuration does not name: give every instance the same bridges`);
    }
    return 0;
  }

  status(): ClusterStatus {
    const bridges = this.#ownerships.map((o) => o.status());
    const sum = (pick: (b: BridgeStatus) => number): number => bridges.reduce((n, b) => n + pick(b), 0);
    const owned = bridges.filter((b) => b.role === 'owner');
    return {
      instance: this.#deps.instanceId,
      role: this.#state.kind === 'active' ? (owned.length > 0 ? 'owner' : 'standby') : this.#state.kind,
      lease: owned[0]?.lease,
      redis: this.#deps.redis.status,
      takeOvers: sum((b) => b.takeOvers),
      leaseLosses: sum((b) => b.leaseLosses),
      fencingRefusals: sum((b) => b.fencingRefusals),
      lastTakeOverMs: bridges.reduce<BridgeStatus | undefined>((latest, b) => (b.lastTakeOverAt ?? 0) > (latest?.lastTakeOverAt ?? 0) ? b : latest, undefined)?.lastTakeOverMs,
      intake: { ...this.#intake },
      bridges,
      peers: this.#heartbeat.peers(),
    };
  }

  /** Planned hand-over of every bridge: finish what runs (bounded), give the leases up at once. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#state.kind !== 'active') return;
    this.#state = { kind: 'draining' };
    void this.#heartbeat.beatNow().catch(() => {});
    await Promise.all(this.#ownerships.map((o) => o.handOver(timeoutMs, false)));
  }

  /** Stops without handing over (leases expire by themselves), as a crash would. */
  async close(): Promise<void> {
    if (this.#state.kind === 'closed') return;
    this.#state = { kind: 'closed' };
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.all(this.#ownerships.map((o) => o.close()));
    await this.#ticking;
    await this.#heartbeat.stop();
    this.#deps.blocking.disconnect();
    await this.#handOffLoop;
  }

  #ownership(bridgeId: string): BridgeOwnership | undefined {
    return this.#ownerships.find((o) => o.bridgeId === bridgeId);
  }

  #changed(): void {
    this.#quietTicks = 0;
    void this.#heartbeat.beatNow().catch(() => {});
  }

  #bridgeBeats(): Record<string, BridgeBeat> {
    const beats: Record<string, BridgeBeat> = {};
    for (const o of this.#ownerships) {
      if (!o.owned) continue;
      const { freePorts } = o.status();
      beats[o.bridgeId] = { role: o.role === 'owner' ? 'owner' : 'taking-over', lease: o.lease.fence(), ...(freePorts === undefined ? {} : { freePorts }) };
    }
    return beats;
  }

  /** Other instances that take part and were heard from lately. */
  #livePeers(): PeerView[] {
    return this.#heartbeat.peers().filter((p) => p.id !== this.#deps.instanceId && !p.silent && p.role === 'active');
  }

  #offers(): PortOffers {
    const offers = new Map<string, number>();
    for (const peer of this.#livePeers()) {
      for (const [bridge, beat] of Object.entries(peer.bridges ?? {})) if (beat.role === 'owner' && beat.freePorts !== undefined) offers.set(bridge, beat.freePorts);
    }
    for (const o of this.#ownerships) {
      const free = o.role === 'owner' ? o.status().freePorts : undefined;
      if (free !== undefined) offers.set(o.bridgeId, free);
    }
    return offers;
  }

  async #tick(): Promise<void> {
    if (this.#state.kind === 'closed') return;
    this.#quietTicks++;
    const held = this.#ownerships.filter((o) => o.lease.role === 'owner');
    await Promise.all(held.map((o) => o.lease.tick(() => false)));
    if (this.#state.kind === 'active') {
      const liveInstances = this.#livePeers().length + 1;
      for (const o of this.#ownerships) {
        if (o.role !== 'standby' || this.#state.kind !== 'active') continue;
        await o.lease.tick((freeTicks) => wantsLease({ owned: this.#ownedCount(), bridges: this.#ownerships.length, liveInstances, freeTicks }));
      }
      this.#rebalance();
    }
    if ((this.#state as MemberState).kind !== 'closed') this.#timer = setTimeout(() => { this.#ticking = this.#tick(); }, this.#deps.timings.renewMs);
  }

  #ownedCount(): number {
    return this.#ownerships.filter((o) => o.owned).length;
  }

  /** Hands one bridge back when another live instance owns two fewer (e.g. it restarted after a crash). */
  #rebalance(): void {
    if (this.#quietTicks < REBALANCE_QUIET_TICKS || this.#ownerships.some((o) => o.role === 'taking-over' || o.role === 'handing-over')) return;
    const peersOwned = this.#livePeers().map((p) => Object.keys(p.bridges ?? {}).length);
    const owners = this.#ownerships.filter((o) => o.role === 'owner');
    if (!shouldHandBack(owners.length, peersOwned)) return;
    const given = owners.at(-1)!;
    this.#log.info({ bridge: given.bridgeId, owned: owners.length, peersOwned }, `handing bridge ${given.bridgeId} over to spread the bridges over the live instances`);
    this.#quietTicks = 0;
    void given.handOver(this.#deps.handOverMs, true);
  }

  /** Wakes a bridge's owner when any instance records a command for it; the read times out every tick as a safety net. */
  async #readHandOffs(): Promise<void> {
    const streams = this.#deps.stores.map((s) => s.keys.handOff);
    const lastIds = streams.map(() => '$');
    while (this.#state.kind !== 'closed') {
      try {
        const reply = await this.#deps.blocking.xread('BLOCK', this.#deps.timings.renewMs, 'STREAMS', ...streams, ...lastIds);
        for (const [stream, entries] of reply ?? []) {
          const i = streams.indexOf(stream);
          if (i >= 0 && entries.length > 0) lastIds[i] = entries[entries.length - 1]![0];
          if (i >= 0) this.#ownerships[i]!.poll();
        }
        if (!reply) for (const o of this.#ownerships) if (o.role === 'owner') o.poll();
      } catch (err) {
        if ((this.#state as MemberState).kind === 'closed') return;
        this.#log.debug({ err }, 'hand-off read failed; Redis reconnecting');
        await new Promise((resolve) => setTimeout(resolve, this.#deps.timings.renewMs));
      }
    }
  }
}

/** A new conference is placed by its ConfKey (stable over re-creations); other commands by ExtConfID. */
function routingKey(message: W2AMessage): string {
  return message.type === 'W2A_CreateConference' ? message.ConfKey : message.ExtConfID;
}
