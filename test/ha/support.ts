/**
 * A cluster on loopback for the HA tests: a real redis-server (or Sentinels), TWO emulated
 * bridges (two emulator models served from this process, each with its own ports, so each
 * bridge can have its own owner), N cluster members in-process (ClusterDaemon, store.kind
 * redis) and a WebEx simulator per member, all posting notifications to the first simulator
 * (as WebEx has one server per meeting while posting commands to the primary or the secondary
 * adaptor URL). Every command reaching a bridge is counted (bridge-tally.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Emulator, type EmulatorPorts } from '../../src/bridges/emulator/emulator.js';
import { ClusterDaemon } from '../../src/adaptor/cluster/cluster-daemon.js';
import { parseConfig, type Config } from '../../src/adaptor/config.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { EmulatorClient } from '../e2e/support.js';
import { testKeyPair } from '../shell/support.js';
import { BridgeTally } from './bridge-tally.js';
import { startRedis, type RedisServer } from './redis-server.js';

export const FAST_CLUSTER = { leaseMs: 1_500, renewMs: 300 };
export const BRIDGE_IDS = ['bridge-1', 'bridge-2'] as const;
const DIAL_OUT_RING_MS = 150;

/** Two emulated bridges in this process, with every command that reaches them counted. */
export class EmulatedBridges {
  readonly tally = new BridgeTally();
  readonly ports: EmulatorPorts[] = [];
  readonly clients: EmulatorClient[] = [];
  #emulators: Emulator[] = [];

  async start(): Promise<void> {
    for (const id of BRIDGE_IDS) {
      // Dial-outs ring briefly so a meeting's script runs in well under a second.
      const emu = new Emulator({ username: 'tsp', password: 'tsp-emulator', bridge: { ringMs: DIAL_OUT_RING_MS } });
      const ports = await emu.start();
      this.tally.watch(id, emu);
      this.#emulators.push(emu);
      this.ports.push(ports);
      this.clients.push(new EmulatorClient(`http://127.0.0.1:${ports.control}`));
    }
  }

  /** The `bridges` section of a member's configuration. */
  config(): Record<string, unknown>[] {
    return BRIDGE_IDS.map((id, i) => ({
      id, driver: 'voyant2313', host: '127.0.0.1', port: this.ports[i]!.voyant2313Request, notifyPort: this.ports[i]!.voyant2313Notify,
      username: 'tsp', password: 'tsp-emulator', reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200,
    }));
  }

  /** Open conferences on either bridge, by ConfKey. */
  async conferences(): Promise<{ bridge: string; confKey: string }[]> {
    const states = await Promise.all(this.clients.map((c) => c.state()));
    return states.flatMap((s, i) => s.conferences.map((c) => ({ bridge: BRIDGE_IDS[i]!, confKey: c.options.confKey })));
  }

  async close(): Promise<void> {
    for (const emu of this.#emulators) await emu.close();
  }
}

/** A member's data directory with the WebEx listener's certificate and key. */
export async function memberDir(keyPair: { cert: string; key: string }, prefix = 'tsp-ha-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await mkdir(path.join(dir, 'tls'), { recursive: true });
  await writeFile(path.join(dir, 'tls', 'webex-cert.pem'), keyPair.cert);
  await writeFile(path.join(dir, 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
  return dir;
}

/** The raw configuration of member `i` (parsed by parseConfig, or passed as JSON to a child). */
export function memberConfig(i: number, opts: { dir: string; redis: Record<string, unknown>; bridges: Record<string, unknown>[]; group: string }): Record<string, unknown> {
  return {
    instance: { id: `adaptor-${i}` },
    webex: { port: 0 },
    admin: { port: 0 },
    store: { kind: 'redis', dataDir: opts.dir, redis: { commandTimeoutMs: 500, ...opts.redis } },
    cluster: { group: opts.group, ...FAST_CLUSTER },
    log: { level: process.env.TSP_HA_LOG ?? 'silent' },
    outbox: { initialDelayMs: 20, maxDelayMs: 200 },
    // The tests' conferences get no keep-alives: they must not be ended as idle while they run.
    conference: { speakingHoldOffMs: 0, keepAliveTimeoutMs: 24 * 60 * 60_000 },
    // Every command at the bridges must be one WebEx asked for: no probe conferences.
    deepCheck: { enabled: false },
    bridges: opts.bridges,
  };
}

export interface ClusterStack {
  redis: RedisServer;
  bridges: EmulatedBridges;
  members: (ClusterDaemon | undefined)[];
  /** sims[i] posts to members[i]; every notification reaches sims[0]. */
  sims: WebexSim[];
  config(i: number): Config;
  startMember(i: number): Promise<ClusterDaemon>;
  close(): Promise<void>;
}

/**
 * `redis` is started here unless given (the master of a Sentinel set-up, say); `redisConfig` is
 * the members' `store.redis` section (by default that server's URL).
 */
export async function startCluster(count: number, name = 'test', opts: { redis?: RedisServer; redisConfig?: Record<string, unknown> } = {}): Promise<ClusterStack> {
  // A group of its own, so even a Redis shared by mistake (a port taken twice) mixes nothing.
  const group = `${name}-${randomUUID().slice(0, 8)}`;
  const redis = opts.redis ?? await startRedis();
  const bridges = new EmulatedBridges();
  await bridges.start();
  const keyPair = await testKeyPair();
  const dirs: string[] = [];
  const members: (ClusterDaemon | undefined)[] = [];
  const sims: WebexSim[] = [];
  const config = (i: number): Config => parseConfig(memberConfig(i, {
    dir: dirs[i]!, redis: opts.redisConfig ?? { url: `redis://127.0.0.1:${stack.redis.port}` }, bridges: bridges.config(), group,
  }), { source: 'ha test', env: {} });
  const startMember = async (i: number): Promise<ClusterDaemon> => {
    const member = await ClusterDaemon.start(config(i));
    members[i] = member;
    return member;
  };
  const stack: ClusterStack = {
    redis, bridges, members, sims, config, startMember,
    async close() {
      // Members first: a drain may still deliver to the simulators.
      for (const m of members) await m?.stop('test finished');
      for (const s of sims) await s.close();
      await bridges.close();
      await stack.redis.stop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      dirs.push(await memberDir(keyPair));
      const member = await startMember(i);
      const sim = new WebexSim({ adaptorUrl: member.webexUrl, adaptorCa: keyPair.cert, keyPair });
      await sim.start();
      sims.push(sim);
    }
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

/** Polls `check` until true (bounded). */
export async function waitFor(check: () => boolean | Promise<boolean>, limitMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Who owns each bridge now, among live members (undefined for a bridge nobody owns). */
export function owners(stack: ClusterStack): Map<string, ClusterDaemon | undefined> {
  return new Map(BRIDGE_IDS.map((id) => [id, stack.members.find((m) => m?.member.status().bridges.find((b) => b.bridge === id)?.role === 'owner')]));
}

/** Resolves once every bridge has an owner (bounded), with the owners. */
export async function waitForOwners(stack: ClusterStack, timeoutMs = 10_000): Promise<Map<string, ClusterDaemon>> {
  await waitFor(() => [...owners(stack).values()].every((o) => o !== undefined), timeoutMs, 'every bridge owned');
  return owners(stack) as Map<string, ClusterDaemon>;
}
