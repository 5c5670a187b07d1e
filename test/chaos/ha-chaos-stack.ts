/**
 * The soak's HA setup: two adaptor instances (`serve` child processes with store.kind redis)
 * on one real redis-server with an fsync-always append-only file, so every write Redis
 * acknowledged survives its restart; the emulator as the one bridge; WebEx posting each
 * transaction to one instance's URL and retrying it, same TransID, on the other, as WebEx does
 * with its primary and secondary adaptor URLs. Instances are driven only through their
 * configuration, their WebEx URL and their admin `/cluster` (to find the bridge owner to kill).
 *
 * Its own faults: Redis SIGKILLed, or shut down cleanly (SHUTDOWN), and started again on the
 * same port and data after REDIS_DOWN_MS.
 */
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BridgeCommand } from '../../src/bridges/driver.js';
import type { Emulator } from '../../src/bridges/emulator/emulator.js';
import { RedisStore } from '../../src/adaptor/store/redis-store.js';
import type { Store } from '../../src/adaptor/store/store.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import type { EmulatorClient } from '../e2e/support.js';
import { freePort, startRedis, type RedisServer } from '../ha/redis-server.js';
import { writeWebexTls } from '../e2e/support.js';
import { RestartableServe, SEND_RETRIES, soakBridge, startEnds, type ExitRecord, type SoakEnds } from './chaos-stack.js';

const INSTANCES = 2;
const GROUP = 'soak';
/** Every write fsynced before Redis answers it: an acknowledged write outlives a SIGKILL. */
const PERSISTENT = ['--appendonly', 'yes', '--appendfsync', 'always'];
/** How long Redis stays down: about one lease, so an owner may or may not keep it. */
const REDIS_DOWN_MS = 1_500;
const READY_LINE = 'tsp-adaptor cluster member ready';
const CLUSTER_PROBE_MS = 2_000;
/**
 * After Redis is back, how long the instances may still report what its absence did (reconnect,
 * a write that was in flight): error lines up to then belong to the deliberate outage.
 */
const OUTAGE_GRACE_MS = 3_000;
/** Wait before retry n of a transaction is n times this, capped (as the simulator's own retries). */
const RETRY_DELAY_MS = 50;
const RETRY_DELAY_MAX_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Instance {
  id: string;
  webexUrl: string;
  adminUrl: string;
  serve: RestartableServe;
  /** Posts W2A transactions to this instance's URL. */
  sender: WebexSim;
}

export class HaChaosStack {
  readonly emulator: Emulator;
  readonly control: EmulatorClient;
  readonly sim: WebexSim;
  readonly executed: BridgeCommand[];
  readonly exits: ExitRecord[] = [];
  readonly ownFaults: readonly string[] = ['redis-kill', 'redis-shutdown'];
  readonly #ends: SoakEnds;
  readonly #instances: Instance[];
  #redis: RedisServer;
  #transactions = 0;
  #kills = 0;
  /** Deliberate Redis outages, [from, to] in ms since the epoch. */
  readonly #outages: [number, number][] = [];

  private constructor(ends: SoakEnds, sim: WebexSim, redis: RedisServer, instances: Instance[]) {
    this.#ends = ends;
    this.emulator = ends.emulator;
    this.control = ends.control;
    this.executed = ends.executed;
    this.sim = sim;
    this.#redis = redis;
    this.#instances = instances;
  }

  static async start(): Promise<HaChaosStack> {
    const ends = await startEnds('tsp-soak-ha-');
    const redis = await startRedis(PERSISTENT, { dir: path.join(ends.dir, 'redis') });
    const instances: Instance[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const dataDir = path.join(ends.dir, `adaptor-${i}`);
      await writeWebexTls(dataDir, ends.keyPair);
      const [webexPort, adminPort] = [await freePort(), await freePort()];
      const configFile = path.join(ends.dir, `adaptor-${i}.yaml`);
      await writeFile(configFile, JSON.stringify({
        instance: { id: `adaptor-${i}` },
        webex: { port: webexPort },
        store: { kind: 'redis', dataDir, redis: { url: `redis://127.0.0.1:${redis.port}`, commandTimeoutMs: 500 } },
        cluster: { group: GROUP, leaseMs: 1_500, renewMs: 300 },
        emulator: { enabled: false },
        bridges: [soakBridge(ends.ports)],
        outbox: { initialDelayMs: 50, maxDelayMs: 500 },
        // The soak's conferences get no keep-alives; they end when the soak ends them.
        conference: { speakingHoldOffMs: 0, keepAliveTimeoutMs: 24 * 60 * 60_000 },
        deepCheck: { enabled: false },
        log: { level: 'info' },
      }));
      const webexUrl = `https://127.0.0.1:${webexPort}/tsp`;
      const sender = new WebexSim({ adaptorUrl: webexUrl, adaptorCa: ends.keyPair.cert, keyPair: ends.keyPair });
      await sender.start();
      // The admin port is named in the environment: the test helper gives a free one otherwise.
      const serve = new RestartableServe(configFile, { TSP_ADMIN__PORT: String(adminPort) }, READY_LINE);
      instances.push({ id: `adaptor-${i}`, webexUrl, adminUrl: `http://127.0.0.1:${adminPort}`, serve, sender });
    }
    // Notifications go to the conference's WbxHostName: this simulator. Its answers to
    // A2W_NotifyUserEnter go to the first instance, retried while that one is restarting.
    const sim = new WebexSim({ adaptorUrl: instances[0]!.webexUrl, adaptorCa: ends.keyPair.cert, keyPair: ends.keyPair, answerRetries: SEND_RETRIES });
    await sim.start();
    const stack = new HaChaosStack(ends, sim, redis, instances);
    for (const instance of instances) await instance.serve.start();
    return stack;
  }

  get slowStarts(): number {
    return this.#instances.reduce((n, i) => n + i.serve.slowStarts, 0);
  }

  /**
   * WebEx's way: the transaction goes to one URL (the primary, alternating per transaction so
   * both instances take intake) and, while it gets no Confirmation or Confirmation 7, to the
   * other and back, under the same TransID.
   */
  async send(message: W2AMessage): Promise<number | undefined> {
    const transId = this.sim.newId('trans');
    const first = this.#transactions++;
    for (let attempt = 0; attempt <= SEND_RETRIES; attempt++) {
      const { sender } = this.#instances[(first + attempt) % INSTANCES]!;
      const outcome = await sender.send([message], { transId });
      if (outcome.result !== undefined && outcome.result !== 7) return outcome.result;
      await sleep(Math.min(RETRY_DELAY_MS * (attempt + 1), RETRY_DELAY_MAX_MS));
    }
    return undefined;
  }

  /** SIGKILLs the instance that owns the bridge (either, when none says so) and starts it again. */
  async killAndRestart(): Promise<string> {
    const owners = await this.#owners();
    const victim = owners[0] ?? this.#instances[this.#kills % INSTANCES]!;
    this.#kills++;
    this.exits.push(await victim.serve.stop('SIGKILL'));
    await victim.serve.start();
    return `${victim.id} (${owners.includes(victim) ? 'the bridge owner' : 'no owner seen'})`;
  }

  /** `redis-kill`: SIGKILL; `redis-shutdown`: SHUTDOWN (AOF flushed). Then down a while, and back. */
  async inject(fault: string): Promise<void> {
    const { port, dir, process: child } = this.#redis;
    const outage: [number, number] = [Date.now(), Infinity];
    this.#outages.push(outage);
    if (fault === 'redis-shutdown') {
      const exited = child.exitCode === null ? once(child, 'exit') : Promise.resolve();
      await this.#redis.client().call('SHUTDOWN').catch(() => {});
      await exited;
    } else if (fault !== 'redis-kill') {
      throw new Error(`the HA soak has no fault ${fault}`);
    }
    await this.#redis.stop();
    await sleep(REDIS_DOWN_MS);
    this.#redis = await startRedis(PERSISTENT, { port, dir });
    outage[1] = Date.now() + OUTAGE_GRACE_MS;
  }

  /** SIGTERM to the instances that do not own the bridge, then to the owner: it drains last. */
  async stop(): Promise<ExitRecord[]> {
    const owners = await this.#owners();
    const order = [...this.#instances.filter((i) => !owners.includes(i)), ...owners];
    const exits: ExitRecord[] = [];
    for (const instance of order) if (instance.serve.running) exits.push(await instance.serve.stop('SIGTERM'));
    this.exits.push(...exits);
    return exits;
  }

  /**
   * Error lines outside the deliberate Redis outages. Inside them the instances rightly log at
   * error level (Redis unreachable: Confirmation 7, a state change not stored); those are
   * counted in `toleratedErrorLines`, not taken as violations.
   */
  get errorLines(): Record<string, unknown>[] {
    return this.#instances.flatMap((i) => i.serve.errorLines).filter((l) => !this.#duringOutage(l));
  }

  get toleratedErrorLines(): number {
    return this.#instances.flatMap((i) => i.serve.errorLines).filter((l) => this.#duringOutage(l)).length;
  }

  #duringOutage(line: Record<string, unknown>): boolean {
    const at = Date.parse(String(line.time));
    return this.#outages.some(([from, to]) => at >= from && at <= to);
  }

  async openStore(): Promise<Store> {
    // Reads only: no fencing. Named separately from the call so either store API version takes it.
    const options = { group: GROUP, bridgeId: 'bridge-a' };
    return new RedisStore(this.#redis.client(), options);
  }

  async close(): Promise<void> {
    for (const instance of this.#instances) {
      if (instance.serve.running) await instance.serve.stop('SIGKILL');
      await instance.sender.close();
    }
    this.emulator.traffic.stop();
    await this.sim.close();
    await this.emulator.close();
    await this.#redis.stop();
    await rm(this.#ends.dir, { recursive: true, force: true });
  }

  /** The instances whose admin `/cluster` says they own the bridge (an instance down says nothing). */
  async #owners(): Promise<Instance[]> {
    const owns = await Promise.all(this.#instances.map(async (i) => {
      if (!i.serve.running) return false;
      try {
        const res = await fetch(`${i.adminUrl}/cluster`, { signal: AbortSignal.timeout(CLUSTER_PROBE_MS) });
        return JSON.stringify(await res.json()).includes('"owner"');
      } catch {
        return false;
      }
    }));
    return this.#instances.filter((_, k) => owns[k]);
  }
}
