/**
 * What makes a cluster member as operable as a single instance, built from the same parts
 * main.ts uses: the admin surface (same `admin.*` keys and auth rules, console and live feed,
 * `/healthz`, `/readyz`, `/metrics`), the scheduled jobs (deep check, call-record rotation),
 * and the call records. What differs is only what a member knows:
 *
 * - the engine series (`tsp_w2a_commands_total`, `tsp_conferences`, ...) cover the engines of
 *   the bridges this instance owns now; counters keep what closed engines counted
 *   (member-counters.ts), so they only grow;
 * - the live feed follows the engines of the bridges this instance owns now (none on a standby)
 *   and carries the member's status: role, each bridge's lease, peers and their heartbeats,
 *   take-overs, lease losses, fencing refusals (`/cluster` and `tsp_cluster_*` say the same);
 * - `/readyz` is lease-aware (health/readiness.ts `memberReadiness`): a standby is ready while
 *   Redis answers; an owner is also held to the bridges it owns, whose deep check it runs;
 * - call records go through the Redis buffer (cdr/redis-call-records.ts) and are written to
 *   the files of the instances that own bridges, each once.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BridgeDriver } from '../../bridges/driver.js';
import { openAdminSurface, type AdminSurface } from '../admin/admin-surface.js';
import { CallRecordWriter } from '../cdr/call-record-writer.js';
import type { CallRecordSink } from '../cdr/call-record.js';
import { RedisCallRecords } from '../cdr/redis-call-records.js';
import type { Config } from '../config.js';
import type { Engine } from '../engine.js';
import { bridgeReadinessInputs, scheduleDeepCheck, type DeepCheck } from '../health/deep-check.js';
import { memberReadiness, type MemberReadiness } from '../health/readiness.js';
import { JobRunner } from '../jobs/job-runner.js';
import { EngineRelay } from '../live/engine-relay.js';
import { createDaemonRegistry } from '../metrics/daemon-registry.js';
import { registerEngineMetrics } from '../metrics/engine-metrics.js';
import { engineCounts, type ServiceCounts } from '../systemd/service-status.js';
import type { ClusterMember } from './cluster-member.js';
import { clusterMetrics, mountClusterRoutes } from './cluster-routes.js';
import { MemberCounters } from './member-counters.js';

type CallRecords = { buffer: RedisCallRecords; writer: CallRecordWriter };

export interface MemberOperationsDeps {
  config: Config;
  member: ClusterMember;
  redis: Redis;
  /** Where call-record files go by default. */
  dataDir: string;
  logger: Logger;
}

export class MemberOperations {
  readonly adminUrl: string;
  readonly jobs: JobRunner;
  /** The instance's series (served on `/metrics`), for parts built after it (the WebEx listener). */
  readonly registry: Registry;
  #member: ClusterMember;
  /** What `open` opened, in order. */
  #closers: (() => Promise<void> | void)[];
  #callRecords: CallRecords | undefined;
  /** The drivers of each engine a take-over built (the engine keeps them to itself). */
  #drivers: WeakMap<Engine, readonly BridgeDriver[]>;
  #counters: MemberCounters;

  private constructor(parts: {
    member: ClusterMember; admin: AdminSurface; registry: Registry; jobs: JobRunner; closers: (() => Promise<void> | void)[];
    callRecords: CallRecords | undefined; drivers: WeakMap<Engine, readonly BridgeDriver[]>; counters: MemberCounters;
  }) {
    this.#member = parts.member;
    this.#closers = parts.closers;
    this.adminUrl = parts.admin.url;
    this.registry = parts.registry;
    this.jobs = parts.jobs;
    this.#callRecords = parts.callRecords;
    this.#drivers = parts.drivers;
    this.#counters = parts.counters;
  }

  /** Opens everything; on failure closes what it opened and throws. */
  static async open(deps: MemberOperationsDeps): Promise<MemberOperations> {
    const { config, member, logger } = deps;
    const closers: (() => Promise<void> | void)[] = [];
    try {
      const registry = createDaemonRegistry({ instance_id: config.instance.id });
      const jobs = new JobRunner({ registry, logger: logger.child({ component: 'jobs' }) });
      closers.push(() => jobs.close());
      const drivers = new WeakMap<Engine, readonly BridgeDriver[]>();
      const owned = (): BridgeDriver[] => member.engines().flatMap((e) => drivers.get(e) ?? []);
      const deepCheck = scheduleDeepCheck({
        config: config.deepCheck, schedule: config.jobs.deepCheck, jobs, drivers: owned, registry, logger: logger.child({ component: 'deep-check' }),
      });
      const callRecords = await openCallRecords(deps);
      if (callRecords) {
        closers.push(() => callRecords.writer.close());
        jobs.register(callRecords.writer.rotationJob(config.callRecords.rotateSchedule));
        callRecords.buffer.start(() => member.engines().length > 0);
        closers.push(() => callRecords.buffer.close());
      }
      const relay = new EngineRelay(() => member.engines());
      closers.push(() => relay.close());
      const ready = (): MemberReadiness => readinessOf(member, owned(), deepCheck);
      const counters = new MemberCounters();
      closers.push(registerOwnedEngineMetrics(registry, { member, relay, counters, owned, ready }));
      const admin = await openAdminSurface({
        admin: config.admin, registry, moreMetrics: [clusterMetrics(member)], logger,
        readiness: ready,
        feed: relay,
        feedOptions: { cluster: { status: () => member.status() } },
        mount: (router) => mountClusterRoutes(router, member),
      });
      closers.push(() => admin.close());
      jobs.start();
      return new MemberOperations({ member, admin, registry, jobs, callRecords, drivers, counters, closers });
    } catch (err) {
      for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {});
      throw err;
    }
  }

  /** What each engine a take-over builds gets from here: where its call records go. */
  engineDeps(mayAct: () => boolean): { callRecords?: CallRecordSink } {
    return this.#callRecords ? { callRecords: this.#callRecords.buffer.sinkFor(mayAct) } : {};
  }

  /** Called with each engine a take-over started and its drivers, for the deep check. */
  adopt(engine: Engine, drivers: readonly BridgeDriver[]): void {
    this.#drivers.set(engine, drivers);
    this.#counters.add(engine);
  }

  /** The live counts systemd shows, with this instance's role. */
  serviceCounts(): ServiceCounts {
    return { ...engineCounts(this.#member.engines()), role: this.#member.status().role };
  }

  /** After the member handed its bridges over: no more jobs, the last call records drained, then the rest closed. Once. */
  async close(): Promise<void> {
    const closers = this.#closers.splice(0).reverse();
    if (closers.length === 0) return;
    await this.jobs.close();
    this.#callRecords?.buffer.drain();
    for (const close of closers) await close();
  }
}

/** The single instance's engine series over the engines owned now; returns the unsubscribe. */
function registerOwnedEngineMetrics(registry: Registry, deps: {
  member: ClusterMember; relay: EngineRelay; counters: MemberCounters; owned: () => BridgeDriver[]; ready: () => MemberReadiness;
}): () => void {
  const { member, relay } = deps;
  // Read by the collect callbacks at each scrape; kept to the drivers owned now.
  const drivers: BridgeDriver[] = [];
  const unReplaced = relay.onReplaced(() => drivers.splice(0, drivers.length, ...deps.owned()));
  const stop = registerEngineMetrics(registry, {
    counters: deps.counters.view(),
    outboxDepth: () => member.engines().map((e) => e.outboxDepth())
      .reduce((sum, d) => ({ messages: sum.messages + d.messages, oldestAgeMs: Math.max(sum.oldestAgeMs, d.oldestAgeMs) }), { messages: 0, oldestAgeMs: 0 }),
    snapshot: () => relay.snapshot(),
    drivers,
    ready: () => deps.ready().ready,
    now: Date.now,
    onStep: (listener) => {
      relay.on('step', listener);
      return () => relay.off('step', listener);
    },
  });
  return () => {
    unReplaced();
    stop();
  };
}

function readinessOf(member: ClusterMember, owned: readonly BridgeDriver[], deepCheck: DeepCheck | undefined): MemberReadiness {
  const status = member.status();
  const engines = member.engines();
  return memberReadiness({
    redis: status.redis,
    role: status.role,
    leases: Object.fromEntries(status.bridges.map((b) => [b.bridge, { role: b.role, lease: b.lease }])),
    ...(engines.length > 0 ? { owner: { engines: engines.map((e) => e.state), bridges: bridgeReadinessInputs(owned, deepCheck) } } : {}),
  });
}

async function openCallRecords(deps: MemberOperationsDeps): Promise<CallRecords | undefined> {
  const { config } = deps;
  const writer = await CallRecordWriter.fromConfig(config.callRecords, deps.dataDir, deps.logger.child({ component: 'call-records' }));
  if (!writer) return undefined;
  const { waitReplicas, waitTimeoutMs } = config.store.redis;
  const buffer = new RedisCallRecords({
    redis: deps.redis, group: config.cluster.group, instanceId: config.instance.id, writer, logger: deps.logger.child({ component: 'call-records' }),
    ...(waitReplicas > 0 ? { waitReplicas: { replicas: waitReplicas, timeoutMs: waitTimeoutMs } } : {}),
  });
  return { buffer, writer };
}
