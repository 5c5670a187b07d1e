/**
 * The composition root: the one file that knows every concrete class. It turns a validated
 * configuration into a running daemon (logger, codec, store, emulator, drivers, poster,
 * engine, WebEx listener) and takes it down again in order.
 *
 * Start-up does the expensive work once (the codec's compiled DTD, the allow-list matchers,
 * the certificate, child loggers); if any step fails, what was already opened is closed in
 * reverse order and the error is thrown.
 *
 * Shutdown (issue 4, style.md pattern 8): stop intake (Confirmation 7) -> engine drain, bounded
 * -> stop listening -> close the engine and its drivers -> close the store -> the emulator.
 * Why it stopped is logged first and last.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import type { BridgeDriver, DriverConfig } from '../bridges/driver.js';
import { Emulator, type EmulatorPorts } from '../bridges/emulator/emulator.js';
import { createDriver } from '../bridges/registry.js';
import { createCodec } from '../protocol/index.js';
import { openAdminSurface, type AdminSurface } from './admin/admin-surface.js';
import { BRIDGE_SCHEMA, type Config } from './config.js';
import { CallRecordWriter } from './cdr/call-record-writer.js';
import { Engine, type MaintenanceJob } from './engine.js';
import { bridgeReadinessInputs, scheduleDeepCheck } from './health/deep-check.js';
import { readiness, type Readiness } from './health/readiness.js';
import { JobRunner, type Schedule } from './jobs/job-runner.js';
import { createDaemonRegistry } from './metrics/daemon-registry.js';
import { registerEngineMetrics } from './metrics/engine-metrics.js';
import { registerWebexRefusals } from './metrics/webex-refusals.js';
import { listenerSettings, WebexListener } from './http/webex-listener.js';
import { createLogger, type Logger, type RootLogger } from './log.js';
import type { EngineOptions } from './options.js';
import { ThreadedPoster } from './threaded-poster.js';
import { ListenerCertificates, ReloadableHostMatcher, runtimeParts, type ReloadablePart } from './reload.js';
import { engineCounts, type ServiceCounts } from './systemd/service-status.js';
import { MemoryStore } from './store/memory-store.js';
import { openSqliteStore, SQLITE_FILE_NAME } from './store/sqlite-store.js';
import type { Store } from './store/store.js';
import { readSecretLine } from './secrets.js';
import { loadListenerTls, readConfigured } from './tls.js';

/** How long in-flight commands and the outbox get to finish on a graceful stop. */
export const SHUTDOWN_DRAIN_MS = 10_000;
/** The bridge id of the embedded emulator. */
export const EMULATOR_BRIDGE_ID = 'emulator';

export interface DaemonOptions {
  /** Log destination; stdout by default. */
  logDestination?: DestinationStream;
}

type Closer = { name: string; close: () => Promise<void> | void };

export class Daemon {
  readonly root: RootLogger;
  readonly config: Config;
  #logger: Logger;
  #closers: Closer[] = [];
  #listener: WebexListener | undefined;
  #admin: AdminSurface | undefined;
  #storeOpen = false;
  #engine: Engine | undefined;
  #emulatorPorts: EmulatorPorts | undefined;
  #certificates: ListenerCertificates | undefined;
  #stopped: Promise<void> | undefined;
  #allowedHosts: ReloadableHostMatcher;
  /** The object the engine reads its options from: a reload changes it in place. */
  #engineOptions: EngineOptions;
  #callRecords: CallRecordWriter | undefined;
  #jobs: JobRunner | undefined;

  private constructor(config: Config, root: RootLogger) {
    this.config = config;
    this.root = root;
    this.#logger = root.logger;
    this.#allowedHosts = new ReloadableHostMatcher(config.webex.allowedHosts);
    this.#engineOptions = engineOptions(config);
  }

  /** Builds and starts everything; on failure closes what was opened and throws. */
  static async start(config: Config, options: DaemonOptions = {}): Promise<Daemon> {
    const root = createLogger({
      level: config.log.level,
      base: { instance: config.instance.id },
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    });
    const daemon = new Daemon(config, root);
    try {
      await daemon.#start();
    } catch (err) {
      root.logger.fatal({ err }, 'start-up failed');
      await daemon.#closeAll();
      throw err;
    }
    return daemon;
  }

  /** The URL to configure at WebEx as the adaptor URL. */
  get webexUrl(): string {
    if (!this.#listener) throw new Error('Daemon.webexUrl: not started');
    return this.#listener.url;
  }

  /** The admin listener's base URL (metrics, health, feed, console), e.g. http://127.0.0.1:9464. */
  get adminUrl(): string {
    if (!this.#admin) throw new Error('Daemon.adminUrl: not started');
    return this.#admin.url;
  }

  /** Ports of the embedded emulator, when it runs. */
  get emulatorPorts(): EmulatorPorts | undefined {
    return this.#emulatorPorts;
  }

  get engine(): Engine {
    if (!this.#engine) throw new Error('Daemon.engine: not started');
    return this.#engine;
  }

  /** The scheduled jobs (names in docs/operations.md); `trigger(name)` runs one now. */
  get jobs(): JobRunner {
    if (!this.#jobs) throw new Error('Daemon.jobs: not started');
    return this.#jobs;
  }

  /** Graceful, ordered stop; `reason` is logged. Idempotent: later calls wait for the first. */
  stop(reason: string): Promise<void> {
    this.#stopped ??= this.#stop(reason);
    return this.#stopped;
  }

  async #start(): Promise<void> {
    const { config } = this;
    const isAllowedWbxHost = this.#allowedHosts.matches;
    const codec = await createCodec({
      maxBodyBytes: config.webex.maxBodyBytes,
      maxCommands: config.webex.maxCommands,
      isAllowedWbxHost,
      ...(config.webex.dialect ? { dialect: structuredClone(config.webex.dialect) } : {}),
    });
    this.#closers.push({ name: 'codec', close: () => codec.close() });

    const dataDir = path.resolve(config.store.dataDir);
    await mkdir(dataDir, { recursive: true, mode: 0o750 });
    const store = await this.#openStore(dataDir);
    this.#storeOpen = true;
    this.#closers.push({ name: 'store', close: () => { this.#storeOpen = false; return store.close(); } });
    const callRecords = await CallRecordWriter.fromConfig(config.callRecords, dataDir, this.#logger.child({ component: 'call-records' }));
    this.#callRecords = callRecords;
    if (callRecords) this.#closers.push({ name: 'call records', close: () => callRecords.close() });

    const bridges: DriverConfig[] = await Promise.all(config.bridges.map(withPassword));
    if (config.emulator.enabled) bridges.push(await this.#startEmulator());
    // Each driver binds its own bridge id to its log lines.
    const drivers: BridgeDriver[] = bridges.map((bridge) => createDriver(bridge, { logger: this.#logger }));
    // The engine closes its drivers; closing again here covers a failed engine start.
    this.#closers.push({ name: 'drivers', close: () => Promise.all(drivers.map((d) => d.close())).then(() => undefined) });

    const poster = await createPoster(config, isAllowedWbxHost, this.#logger);
    this.#closers.push({ name: 'poster', close: () => poster.close() });

    // One registry for the daemon's series; the global default registry stays untouched.
    const registry = createDaemonRegistry({ instance_id: config.instance.id });
    const jobs = new JobRunner({ registry, logger: this.#logger.child({ component: 'jobs' }) });
    this.#jobs = jobs;
    const engine = new Engine({
      store,
      drivers,
      codec,
      post: poster.post,
      logger: this.#logger.child({ component: 'engine' }),
      options: this.#engineOptions,
      ...(callRecords ? { callRecords } : {}),
      schedule: (job) => jobs.register({ ...job, schedule: this.#engineJobSchedule(job) }),
    });
    this.#engine = engine;
    this.#closers.push({ name: 'engine', close: () => engine.close() });
    // Closed before the engine (closers run in reverse): no job starts on a closing engine.
    this.#closers.push({ name: 'jobs', close: () => jobs.close() });
    if (callRecords) jobs.register(callRecords.rotationJob(config.callRecords.rotateSchedule));
    const deepCheck = scheduleDeepCheck({
      config: config.deepCheck, schedule: config.jobs.deepCheck, jobs, drivers: () => drivers, registry, logger: this.#logger.child({ component: 'deep-check' }),
    });
    const ready = (): Readiness => readiness({ storeOpen: this.#storeOpen, engine: engine.state, bridges: bridgeReadinessInputs(drivers, deepCheck) });
    const stopMetrics = registerEngineMetrics(registry, {
      counters: engine.counters,
      outboxDepth: () => engine.outboxDepth(),
      snapshot: () => engine.snapshot(),
      drivers,
      ready: () => ready().ready,
      now: Date.now,
      onStep: (listener) => {
        engine.on('step', listener);
        return () => engine.off('step', listener);
      },
    });
    this.#closers.push({ name: 'engine metrics', close: stopMetrics });
    await engine.start();
    const admin = await openAdminSurface({ admin: config.admin, registry, readiness: ready, feed: engine, logger: this.#logger });
    this.#admin = admin;
    this.#closers.push({ name: 'admin listener', close: () => admin.close() });
    const adminUrl = admin.url;
    jobs.start();

    const { source: certificate, tls } = await loadListenerTls(config.webex.tls, dataDir);
    const listener = new WebexListener({
      ...listenerSettings(config),
      tls,
      codec,
      accept: (tx) => engine.accept(tx),
      logger: this.#logger.child({ component: 'webex-listener' }),
    });
    this.#listener = listener;
    this.#certificates = new ListenerCertificates(listener, config.webex.tls, dataDir, this.#logger);
    registerWebexRefusals(registry, listener);
    this.#closers.push({ name: 'webex listener', close: () => listener.close() });
    const url = await listener.listen();

    this.#logger.info(
      {
        webex: url,
        admin: adminUrl,
        certificate: { origin: certificate.origin, file: certificate.certFile },
        bridges: bridges.map((b) => ({ id: b.id, driver: b.driver, at: `${b.host}:${b.port}` })),
        store: config.store.kind === 'sqlite' ? path.join(dataDir, SQLITE_FILE_NAME) : 'memory (lost at exit)',
        ...(this.#emulatorPorts ? { emulator: this.#emulatorPorts } : {}),
        allowedHosts: config.webex.allowedHosts,
      },
      `tsp-adaptor ready: WebEx endpoint ${url}, ${bridges.length} bridge(s), ${config.store.kind} store`,
    );
  }

  /** The configured schedule of an engine job, else the period the engine asks for. */
  #engineJobSchedule(job: MaintenanceJob): Schedule {
    const configured = { 'keepalive-sweep': this.config.jobs.keepAliveSweep, reconcile: this.config.jobs.reconcile, compaction: this.config.jobs.compaction }[job.name];
    return configured ?? { everyMs: job.everyMs };
  }

  /** Re-reads the WebEx certificate, key and client CA (SIGHUP); reload.ts ListenerCertificates. */
  async reloadTls(files?: Config['webex']['tls']): Promise<void> {
    if (!this.#certificates) throw new Error('Daemon.reloadTls: not started');
    await this.#certificates.reload(files);
  }

  /** The call record writer (for its rotation job); undefined when call records are off. */
  get callRecords(): CallRecordWriter | undefined {
    return this.#callRecords;
  }

  /** What a SIGHUP may change without a restart (reload.ts). */
  reloadableParts(): ReloadablePart[] {
    return runtimeParts({ root: this.root, allowedHosts: this.#allowedHosts, options: this.#engineOptions, certificates: () => this.#certificates });
  }

  /** The live counts systemd shows (`systemctl status`). */
  serviceCounts(): ServiceCounts {
    return engineCounts(this.#engine ? [this.#engine] : []);
  }

  async #openStore(dataDir: string): Promise<Store> {
    if (this.config.store.kind === 'redis') {
      throw new Error('store.kind redis: this instance is a cluster member and starts through ClusterDaemon (src/adaptor/cluster/cluster-daemon.ts), not the single-instance daemon');
    }
    if (this.config.store.kind === 'memory') return new MemoryStore();
    const log = this.#logger.child({ component: 'store' });
    return openSqliteStore(dataDir, {
      degraded: (reason) => log.warn({ reason }, 'SQLite checkpoints are back in the store\'s commits'),
      syncFailed: (message) => log.error({ message }, 'the SQLite store could not fsync its log; retrying, and no write is confirmed until it can: check the disk'),
    });
  }

  /** Starts the in-process emulator and returns the bridge entry that reaches it over TCP. */
  async #startEmulator(): Promise<DriverConfig> {
    const { emulator } = this.config;
    if (this.config.bridges.some((b) => b.id === EMULATOR_BRIDGE_ID)) {
      throw new Error(`bridges: the id "${EMULATOR_BRIDGE_ID}" is taken by the emulator; rename that bridge or disable the emulator`);
    }
    const instance = new Emulator({
      host: emulator.host,
      ports: emulator.ports,
      username: emulator.login.username,
      password: emulator.login.password,
    });
    this.#closers.push({ name: 'emulator', close: () => instance.close() });
    const ports = await instance.start();
    this.#emulatorPorts = ports;
    return {
      ...BRIDGE_SCHEMA.parse({
        id: EMULATOR_BRIDGE_ID,
        driver: 'voyant2313',
        host: emulator.host,
        port: ports.voyant2313Request,
        notifyPort: ports.voyant2313Notify,
        username: emulator.login.username,
      }),
      password: emulator.login.password,
    };
  }

  async #stop(reason: string): Promise<void> {
    const started = Date.now();
    this.#logger.info({ reason, drainMs: SHUTDOWN_DRAIN_MS }, `shutting down (${reason}): intake stopped, draining`);
    this.#listener?.stopIntake();
    try {
      await this.#engine?.drain(SHUTDOWN_DRAIN_MS);
    } catch (err) {
      this.#logger.error({ err }, 'engine drain failed; closing anyway');
    }
    await this.#closeAll();
    this.#logger.info({ reason, tookMs: Date.now() - started }, `stopped (${reason})`);
    await new Promise<void>((resolve) => this.#logger.flush(() => resolve()));
  }

  /** Closes in reverse order of opening; one failure does not keep the rest open. */
  async #closeAll(): Promise<void> {
    for (const closer of this.#closers.reverse()) {
      try {
        await closer.close();
      } catch (err) {
        this.#logger.error({ err, component: closer.name }, `closing the ${closer.name} failed`);
      }
    }
    this.#closers = [];
  }
}

/** A bridge's driver configuration with its password read from `passwordFile` when given. */
async function withPassword(bridge: Config['bridges'][number]): Promise<DriverConfig> {
  const { passwordFile, password, ...rest } = bridge;
  const index = `bridges[${bridge.id}].passwordFile`;
  return { ...rest, password: passwordFile ? await readSecretLine(passwordFile, index) : (password ?? '') };
}

/** The HTTPS client that posts A2W messages, on its own thread, as the configuration's webex section says. */
export async function createPoster(config: Config, isAllowed: (url: string) => boolean, logger: Logger): Promise<ThreadedPoster> {
  return new ThreadedPoster({
    isAllowed,
    ...(config.webex.tls.caFile ? { ca: await readConfigured(config.webex.tls.caFile, 'webex.tls.caFile') } : {}),
    trustLoopbackPeers: config.webex.tls.trustLoopbackPeers,
    maxSockets: config.webex.client.maxSockets,
    keepAliveMs: config.webex.client.keepAliveMs,
  }, {
    failed: (reason) => logger.error({ reason }, 'A2W posting stopped: the outbox keeps every message and retries; restart the daemon to post again'),
  });
}

/** The engine's options, copied out of the frozen configuration. */
export function engineOptions(config: Config): EngineOptions {
  return {
    conference: { ...config.conference },
    dialOut: {
      ...config.dialOut,
      allowedPrefixes: [...config.dialOut.allowedPrefixes],
      blockedPrefixes: [...config.dialOut.blockedPrefixes],
    },
    outbox: { ...config.outbox },
    admission: { ...config.admission },
    webex: { allowedHosts: [...config.webex.allowedHosts] },
    hybrid: { ...config.hybrid },
    numbers: { ...config.numbers },
    transIdRetentionMs: config.transIdRetentionMs,
  };
}
