/**
 * What every benchmark scenario stands on: the bridge emulator and the daemon in processes of
 * their own, the daemon's driver connected to the emulator over loopback TCP as to a bridge
 * (or an adaptor at a given URL with its bridge's control interface), the WebEx simulator
 * receiving the A2W posts, and the few conference-level moves the scenarios share, timed from
 * the WebEx side.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateSelfSigned, type KeyPair } from '../../adaptor/tls.js';
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import { WebexSim, type ReceivedA2W } from '../../webex-sim/webex-sim.js';
import { EmulatorClient } from '../emulator-client.js';
import { Target, type TargetEntry } from './target.js';
import type { TargetStats } from './target-process.js';

export interface HarnessOptions {
  /** A running adaptor; without it the daemon is started in a child process. */
  url?: string;
  /** The emulator control interface of that adaptor's bridge. */
  emulatorControl?: string;
  /** PEM for a given URL's certificate; a loopback adaptor is trusted without it. */
  ca?: string;
  /** Config overrides for a started daemon (its bridge is always the started emulator). */
  config?: Record<string, unknown>;
  /** The target process's entry (a compiled copy for figures); tsx sources by default. */
  targetEntry?: TargetEntry;
  /** A data directory and certificate made by the caller, who also removes it. */
  prepared?: { dataDir: string; keyPair: KeyPair };
}

/** One conference the scenario created, with the callers WebEx has named in it. */
export interface BenchConference {
  extConfId: string;
  confKey: string;
  extCallIds: string[];
}

const CREATE_TIMEOUT_MS = 30_000;
/** The login the started emulator accepts and the daemon's bridge entry uses. */
const BRIDGE_LOGIN = { username: 'tsp', password: 'tsp-bench' };

/**
 * The daemon as a benchmark runs it: embedded defaults, ephemeral ports (WebEx and admin: the
 * machine may run other daemons), and the per-source intake limits opened up, since all the
 * load comes from one loopback source by design.
 */
const BENCH_CONFIG = {
  webex: { port: 0, limits: { ratePerSecond: 1_000_000, burst: 1_000_000, maxConnections: 4_096 } },
  admin: { port: 0 },
  log: { level: 'warn' },
};

export class Harness {
  readonly sim: WebexSim;
  readonly emulator: EmulatorClient;
  readonly url: string;
  readonly keyPair: KeyPair;
  readonly dataDir: string;
  readonly #ownsDataDir: boolean;
  readonly #targets: BenchTargets | undefined;
  /** Called for every A2W message the simulator takes, with its arrival time. */
  readonly #listeners = new Set<(r: ReceivedA2W, at: number) => void>();

  private constructor(parts: { sim: WebexSim; emulator: EmulatorClient; url: string; keyPair: KeyPair; dataDir: string; ownsDataDir: boolean; targets?: BenchTargets }) {
    this.#ownsDataDir = parts.ownsDataDir;
    this.sim = parts.sim;
    this.emulator = parts.emulator;
    this.url = parts.url;
    this.keyPair = parts.keyPair;
    this.dataDir = parts.dataDir;
    this.#targets = parts.targets;
    this.sim.on('message', (r) => {
      const at = performance.now();
      for (const listener of this.#listeners) listener(r, at);
    });
  }

  static async start(options: HarnessOptions = {}): Promise<Harness> {
    const { dataDir, keyPair } = options.prepared ?? (await prepareDataDir());
    let targets: BenchTargets | undefined;
    let url = options.url;
    let control = options.emulatorControl;
    if (!url) {
      targets = await startTargets(dataDir, { ...BENCH_CONFIG, ...options.config }, options.targetEntry);
      // Which CPU profile (--cpu-prof names them by pid) or heap snapshot is whose.
      process.stderr.write(`bench: daemon pid ${targets.daemon.pid}, emulator pid ${targets.emulator.pid}\n`);
      url = targets.daemon.ready.url;
      control = targets.emulator.ready.url;
    }
    if (!control) throw new Error('bench: give --emulator CONTROL_URL with --url (the bridge side is played through it)');
    // Receipts of A2W posts are for statistics, not waits: the simulator keeps no waiters busy.
    const sim = new WebexSim({ adaptorUrl: url, keyPair, ...(options.ca ? { adaptorCa: options.ca } : targets ? { adaptorCa: keyPair.cert } : {}) });
    await sim.start();
    return new Harness({ sim, emulator: new EmulatorClient(control), url, keyPair, dataDir, ownsDataDir: !options.prepared, ...(targets ? { targets } : {}) });
  }

  /** The daemon's own figures, when the harness started it. */
  stats(options: { gc?: boolean; resetLoop?: boolean } = {}): Promise<TargetStats | undefined> {
    return this.#targets ? this.#targets.daemon.stats(options) : Promise.resolve(undefined);
  }

  /** The emulator process's own figures (its CPU is the bridge's, not the adaptor's), when the harness started it. */
  emulatorStats(options: { gc?: boolean } = {}): Promise<TargetStats | undefined> {
    return this.#targets ? this.#targets.emulator.stats(options) : Promise.resolve(undefined);
  }

  /** A heap snapshot of the started daemon written to `file`; undefined when the harness did not start it. */
  heapSnapshot(file: string): Promise<string | undefined> {
    return this.#targets ? this.#targets.daemon.heapSnapshot(file) : Promise.resolve(undefined);
  }

  /** CPU time so far (user + system, us) of the daemon and of the emulator, when the harness started them. */
  async cpuUs(): Promise<ProcessesCpuUs | undefined> {
    if (!this.#targets) return undefined;
    const [daemon, emulator] = await Promise.all([this.#targets.daemon.stats(), this.#targets.emulator.stats()]);
    return { daemon: daemon.cpuUserUs + daemon.cpuSystemUs, emulator: emulator.cpuUserUs + emulator.cpuSystemUs };
  }

  /** Every A2W message from now on, with its arrival time; returns the unsubscribe. */
  onA2W(listener: (r: ReceivedA2W, at: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first A2W message from now on that `accepts`, or rejects after `timeoutMs`. */
  waitFor(accepts: (m: A2WMessage) => boolean, timeoutMs: number, what: string): Promise<ReceivedA2W> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`bench: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onA2W((r) => {
        if (!accepts(r.message)) return;
        clearTimeout(timer);
        off();
        resolve(r);
      });
    });
  }

  /** Sends one transaction; throws unless it is confirmed with Result 0. */
  async sendOk(messages: W2AMessage[]): Promise<void> {
    const sent = await this.sim.send(messages, { retries: 3 });
    if (sent.result !== 0) throw new Error(`bench: ${messages[0]?.type} not confirmed: ${sent.result ?? sent.reason}`);
  }

  create(extConfId: string, confKey: string): W2AMessage {
    return { type: 'W2A_CreateConference', MsgID: this.sim.newId('msg'), ExtConfID: extConfId, ConfKey: confKey, WbxHostName: this.sim.url };
  }

  /** Creates `count` conferences, `parallel` at a time, each answered Result 0. */
  async createConferences(count: number, tag: string, parallel = 8): Promise<BenchConference[]> {
    const conferences: BenchConference[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        const conference = { extConfId: `${tag}-conf-${index}`, confKey: confKeyFor(tag, index), extCallIds: [] };
        const create = this.create(conference.extConfId, conference.confKey);
        const answered = this.waitFor((m) => m.type === 'A2W_RspCreateConference' && m.MsgID === create.MsgID, CREATE_TIMEOUT_MS, `RspCreateConference ${conference.extConfId}`);
        await this.sendOk([create]);
        const rsp = (await answered).message as Extract<A2WMessage, { type: 'A2W_RspCreateConference' }>;
        if (rsp.Result !== 0) throw new Error(`bench: create ${conference.extConfId} answered Result ${rsp.Result}`);
        conferences.push(conference);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    return conferences;
  }

  /**
   * Fills the conferences with `callers` generated callers and resolves once WebEx has named
   * them all (NotifyUserEnter answered), recording each ExtCallID on its conference.
   */
  async fill(conferences: BenchConference[], callers: number, arrivalsPerSecond: number, timeoutMs: number): Promise<void> {
    const byExtConfId = new Map(conferences.map((c) => [c.extConfId, c]));
    let named = conferences.reduce((n, c) => n + c.extCallIds.length, 0);
    const target = named + callers;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`bench: only ${named} of ${target} callers named within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onA2W((r) => {
        if (r.message.type !== 'A2W_NotifyUserEnter' || !r.answered) return;
        const conference = byExtConfId.get(r.message.ExtConfID);
        const extCallId = r.answeredExtCallID;
        if (!conference || !extCallId) return;
        void r.answered.then((outcome) => {
          if (outcome.result !== 0) return;
          conference.extCallIds.push(extCallId);
          named += 1;
          if (named >= target) {
            clearTimeout(timer);
            off();
            resolve();
          }
        });
      });
    });
    await this.emulator.startTraffic({ confKeys: conferences.map((c) => c.confKey), targetCallers: target, arrivalsPerSecond, seed: 7 });
    try {
      await done;
    } finally {
      await this.emulator.stopTraffic(false);
    }
  }

  /** Ends the conferences (their callers are disconnected) and waits for every answer. */
  async endConferences(conferences: BenchConference[], timeoutMs = CREATE_TIMEOUT_MS): Promise<void> {
    for (let i = 0; i < conferences.length; i += 16) {
      await Promise.all(
        conferences.slice(i, i + 16).map(async (c) => {
          const end: W2AMessage = { type: 'W2A_EndConference', MsgID: this.sim.newId('msg'), ExtConfID: c.extConfId };
          const answered = this.waitFor((m) => m.type === 'A2W_RspEndConference' && m.MsgID === end.MsgID, timeoutMs, `RspEndConference ${c.extConfId}`);
          await this.sendOk([end]);
          await answered;
        }),
      );
    }
  }

  /** Waits (bounded) until the daemon has nothing left to deliver. */
  async drained(timeoutMs = 60_000): Promise<TargetStats | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stats = await this.stats();
      if (!stats || stats.outboxDepth === 0 || Date.now() > deadline) return stats;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(): Promise<void> {
    await this.#targets?.stop();
    await this.sim.close();
    if (this.#ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

export interface ProcessesCpuUs {
  daemon: number;
  emulator: number;
}

/** The started bridge emulator and the daemon whose one bridge it is, each in its own process. */
export interface BenchTargets {
  emulator: Target;
  daemon: Target;
  /** The daemon first (it hangs up its bridge link), then the emulator. */
  stop(): Promise<void>;
}

/**
 * Starts the emulator as `tsp-adaptor emulator` would, on ephemeral loopback ports, then the
 * daemon with that emulator as its one bridge (voyant2313 over TCP) and its own emulator off.
 */
export async function startTargets(dataDir: string, config: Record<string, unknown>, targetEntry?: TargetEntry): Promise<BenchTargets> {
  const { username, password } = BRIDGE_LOGIN;
  const ports = ['--control-port', '--port-2035', '--port-2313', '--notify-port-2313'].flatMap((flag) => [flag, '0']);
  const emulator = await Target.start({ kind: 'emulator', args: ['--host', '127.0.0.1', ...ports, '--user', username, '--password', password] }, targetEntry);
  const bound = emulator.ready.emulatorPorts!;
  const bridge = { id: 'bench-bridge', driver: 'voyant2313', host: '127.0.0.1', port: bound.voyant2313Request, notifyPort: bound.voyant2313Notify, username, password };
  let daemon: Target;
  try {
    daemon = await Target.start({ kind: 'daemon', dataDir, config: { ...config, bridges: [bridge], emulator: { enabled: false } } }, targetEntry);
  } catch (err) {
    await emulator.stop();
    throw err;
  }
  return {
    emulator,
    daemon,
    stop: async () => {
      await daemon.stop();
      await emulator.stop();
    },
  };
}

/**
 * A temporary data directory holding a fresh certificate where the daemon looks for its own
 * (and the bare server reads it), so both serve the same TLS.
 */
export async function prepareDataDir(): Promise<{ dataDir: string; keyPair: KeyPair }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tsp-bench-'));
  const keyPair = await generateSelfSigned('tsp-bench');
  await mkdir(path.join(dataDir, 'tls'), { recursive: true });
  await writeFile(path.join(dataDir, 'tls', 'webex-cert.pem'), keyPair.cert);
  await writeFile(path.join(dataDir, 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
  return { dataDir, keyPair };
}

/** A conference key unique to the tag and index: 8 digits, so 4..16 holds. */
export function confKeyFor(tag: string, index: number): string {
  let hash = 0;
  for (const ch of tag) hash = (hash * 31 + ch.charCodeAt(0)) % 900;
  return `${100 + hash}${String(index).padStart(5, '0')}`;
}
