/**
 * The composition root of an instance in a cluster (store.kind redis): the codec, the Redis
 * connections and one store partition per bridge, the cluster member (a lease per bridge,
 * heartbeats, hand-off), the WebEx listener taking traffic on every instance, and, for each
 * bridge this instance owns, that bridge's driver and an engine built anew at each take-over,
 * and what operators use (member-operations.ts: the admin listener with its auth, console,
 * live feed, health and metrics, the deep check, call records; SIGHUP's parts and systemd's
 * counts), built from the same parts as the single-instance daemon (main.ts). The embedded
 * emulator is not part of this mode.
 *
 * Stop: intake answers 7 -> each bridge owned drains, its lease is released at once (another
 * instance takes over within one renewal) and its engine closes -> the listener -> Redis.
 */
import path from 'node:path';
import type { DestinationStream } from 'pino';
import type { DriverConfig } from '../../bridges/driver.js';
import { createDriver } from '../../bridges/registry.js';
import { createCodec } from '../../protocol/index.js';
import type { Config } from '../config.js';
import { Engine } from '../engine.js';
import { listenerSettings, WebexListener } from '../http/webex-listener.js';
import { createLogger, type Logger, type RootLogger } from '../log.js';
import { createPoster, engineOptions, SHUTDOWN_DRAIN_MS } from '../main.js';
import { registerWebexRefusals } from '../metrics/webex-refusals.js';
import { ListenerCertificates, ReloadableHostMatcher, runtimeParts, type ReloadablePart } from '../reload.js';
import type { ServiceCounts } from '../systemd/service-status.js';
import { readSecretLine } from '../secrets.js';
import { RedisStore } from '../store/redis-store.js';
import { TransactionLog } from '../store/redis/transaction-log.js';
import { loadListenerTls } from '../tls.js';
import { ClusterMember } from './cluster-member.js';
import { MemberOperations } from './member-operations.js';
import { connectRedis } from './redis-connection.js';

interface RunningParts {
  config: Config;
  root: RootLogger;
  member: ClusterMember;
  ops: MemberOperations;
  url: string;
  listener: WebexListener;
  reloadable: ReloadablePart[];
  closers: (() => Promise<void> | void)[];
}

export class ClusterDaemon {
  readonly config: Config;
  readonly root: RootLogger;
  readonly member: ClusterMember;
  readonly webexUrl: string;
  /** The admin listener's base URL (metrics, health, feed, console, /cluster). */
  readonly adminUrl: string;
  #ops: MemberOperations;
  #reloadable: ReloadablePart[];
  #closers: (() => Promise<void> | void)[];
  #listener: WebexListener;
  #logger: Logger;
  #stopped: Promise<void> | undefined;

  private constructor(parts: RunningParts) {
    this.config = parts.config;
    this.root = parts.root;
    this.member = parts.member;
    this.#ops = parts.ops;
    this.webexUrl = parts.url;
    this.adminUrl = parts.ops.adminUrl;
    this.#reloadable = parts.reloadable;
    this.#listener = parts.listener;
    this.#logger = parts.root.logger;
    this.#closers = parts.closers;
  }

  /** The scheduled jobs (deep check, call-record rotation); `trigger(name)` runs one now. */
  get jobs(): MemberOperations['jobs'] {
    return this.#ops.jobs;
  }

  /** What a SIGHUP may change without a restart: the same parts as a single instance (reload.ts). */
  reloadableParts(): ReloadablePart[] {
    return this.#reloadable;
  }

  /** The live counts systemd shows, over the bridges this instance owns now. */
  serviceCounts(): ServiceCounts {
    return this.#ops.serviceCounts();
  }

  static async start(config: Config, options: { logDestination?: DestinationStream } = {}): Promise<ClusterDaemon> {
    if (config.store.kind !== 'redis') throw new Error('ClusterDaemon: store.kind must be redis');
    const root = createLogger({
      level: config.log.level, base: { instance: config.instance.id },
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
    const { logger } = root;
    const closers: (() => Promise<void> | void)[] = [];
    try {
      const allowedHosts = new ReloadableHostMatcher(config.webex.allowedHosts);
      const isAllowedWbxHost = allowedHosts.matches;
      const codec = await createCodec({
        maxBodyBytes: config.webex.maxBodyBytes, maxCommands: config.webex.maxCommands, isAllowedWbxHost,
        ...(config.webex.dialect ? { dialect: structuredClone(config.webex.dialect) } : {}),
      });
      closers.push(() => codec.close());
      const redis = await connectRedis(config.store.redis, logger, `${config.instance.id}:main`);
      const blocking = await connectRedis({ ...config.store.redis, commandTimeoutMs: config.cluster.renewMs * 4 }, logger, `${config.instance.id}:hand-off`);
      closers.push(() => { redis.disconnect(); blocking.disconnect(); });
      const { redis: redisConfig } = config.store;
      const waitReplicas = redisConfig.waitReplicas > 0 ? { waitReplicas: { replicas: redisConfig.waitReplicas, timeoutMs: redisConfig.waitTimeoutMs } } : {};
      const poster = await createPoster(config, isAllowedWbxHost, logger);
      closers.push(() => poster.close());
      const bridges: DriverConfig[] = await Promise.all(config.bridges.map(async ({ passwordFile, password, ...rest }) =>
        ({ ...rest, password: passwordFile ? await readSecretLine(passwordFile, `bridges[${rest.id}].passwordFile`) : (password ?? '') })));
      // One partition and one lease per bridge; each engine writes under the lease it started with.
      let ops: MemberOperations | undefined;
      const stores = bridges.map((b) => new RedisStore(redis, { group: config.cluster.group, bridgeId: b.id, ...waitReplicas }));
      const options = engineOptions(config);
      const engineLog = logger.child({ component: 'engine' });
      const member = new ClusterMember({
        redis, blocking, stores, log: new TransactionLog(redis, { group: config.cluster.group, ...waitReplicas }),
        instanceId: config.instance.id, logger: logger.child({ component: 'cluster' }), handOverMs: SHUTDOWN_DRAIN_MS,
        timings: { leaseMs: config.cluster.leaseMs, renewMs: config.cluster.renewMs },
        startEngine: async (bridgeId, store, mayAct) => {
          const drivers = bridges.filter((b) => b.id === bridgeId).map((b) => createDriver(b, { logger }));
          const engine = new Engine({
            store, codec, logger: engineLog.child({ bridge: bridgeId }), options, mayAct, drivers, ...ops?.engineDeps(mayAct),
            // A paused owner that wakes up posts nothing: the bridge's lease decides before every post.
            post: (url, body, opts) => mayAct() ? poster.post(url, body, opts)
              : Promise.reject(new Error(`not posted: this instance no longer holds the lease of bridge ${bridgeId}`)),
          });
          try {
            await engine.start();
          } catch (err) {
            await engine.close();
            throw err;
          }
          ops?.adopt(engine, drivers);
          return engine;
        },
      });
      closers.push(() => member.close());
      const dataDir = path.resolve(config.store.dataDir);
      // Before the member starts, so the first take-over's engine already has its call records.
      const operations = await MemberOperations.open({ config, member, redis, dataDir, logger });
      ops = operations;
      closers.push(() => operations.close());
      member.start();

      const { tls } = await loadListenerTls(config.webex.tls, dataDir);
      const listener = new WebexListener({
        ...listenerSettings(config),
        tls,
        codec,
        accept: (tx) => member.accept(tx),
        logger: logger.child({ component: 'webex-listener' }),
      });
      closers.push(() => listener.close());
      registerWebexRefusals(operations.registry, listener);
      const certificates = new ListenerCertificates(listener, config.webex.tls, dataDir, logger);
      const reloadable = runtimeParts({ root, allowedHosts, options, certificates: () => certificates });
      const url = await listener.listen();
      logger.info({ webex: url, admin: operations.adminUrl, group: config.cluster.group, bridges: bridges.map((b) => b.id) },
        `tsp-adaptor cluster member ready: WebEx endpoint ${url}, group ${config.cluster.group}`);
      return new ClusterDaemon({ config, root, member, ops: operations, url, listener, reloadable, closers });
    } catch (err) {
      logger.fatal({ err }, 'start-up failed');
      for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {});
      throw err;
    }
  }

  /** Planned stop: hands the bridges over at once. Idempotent. */
  stop(reason: string): Promise<void> {
    this.#stopped ??= (async () => {
      this.#logger.info({ reason }, `shutting down (${reason}): intake stopped, handing the bridges over`);
      this.#listener.stopIntake();
      await this.member.drain(SHUTDOWN_DRAIN_MS);
      for (const close of this.#closers.reverse()) {
        try {
          await close();
        } catch (err) {
          this.#logger.error({ err }, 'closing a part failed');
        }
      }
      this.#logger.info({ reason }, `stopped (${reason})`);
    })();
    return this.#stopped;
  }
}
