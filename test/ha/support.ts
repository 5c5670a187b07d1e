/**
 * A cluster on loopback for the HA tests: a real redis-server, the emulator as the bridge,
 * N cluster members in-process (ClusterDaemon, store.kind redis) and a WebEx simulator per
 * member, all posting notifications to the first simulator (as WebEx has one server per
 * meeting while posting commands to the primary or the secondary adaptor URL).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Emulator, type EmulatorPorts } from '../../src/bridges/emulator/emulator.js';
import { ClusterDaemon } from '../../src/adaptor/cluster/cluster-daemon.js';
import { parseConfig, type Config } from '../../src/adaptor/config.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { EmulatorClient } from '../e2e/support.js';
import { testKeyPair } from '../shell/support.js';
import { startRedis, type RedisServer } from './redis-server.js';

export const FAST_CLUSTER = { leaseMs: 1_500, renewMs: 300 };

export interface ClusterStack {
  redis: RedisServer;
  emulator: EmulatorClient;
  emulatorPorts: EmulatorPorts;
  members: (ClusterDaemon | undefined)[];
  /** sims[i] posts to members[i]; every notification reaches sims[0]. */
  sims: WebexSim[];
  config(i: number): Config;
  startMember(i: number): Promise<ClusterDaemon>;
  close(): Promise<void>;
}

export async function startCluster(count: number): Promise<ClusterStack> {
  const redis = await startRedis();
  const emu = new Emulator({ username: 'tsp', password: 'tsp-emulator' });
  const emulatorPorts = await emu.start();
  const keyPair = await testKeyPair();
  const dirs: string[] = [];
  const members: (ClusterDaemon | undefined)[] = [];
  const sims: WebexSim[] = [];
  const config = (i: number): Config => parseConfig({
    instance: { id: `adaptor-${i}` },
    webex: { port: 0 },
    admin: { port: 0 },
    store: { kind: 'redis', dataDir: dirs[i], redis: { url: `redis://127.0.0.1:${redis.port}`, commandTimeoutMs: 500 } },
    cluster: { group: 'test', ...FAST_CLUSTER },
    log: { level: process.env.TSP_HA_LOG ?? 'silent' },
    outbox: { initialDelayMs: 20, maxDelayMs: 200 },
    conference: { speakingHoldOffMs: 0 },
    bridges: [{
      id: 'bridge-1', driver: 'voyant2313', host: '127.0.0.1', port: emulatorPorts.voyant2313Request,
      notifyPort: emulatorPorts.voyant2313Notify, username: 'tsp', password: 'tsp-emulator',
      reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200,
    }],
  }, { source: 'ha test', env: {} });
  const startMember = async (i: number): Promise<ClusterDaemon> => {
    const member = await ClusterDaemon.start(config(i));
    members[i] = member;
    return member;
  };
  const stack: ClusterStack = {
    redis, emulator: new EmulatorClient(`http://127.0.0.1:${emulatorPorts.control}`), emulatorPorts, members, sims, config, startMember,
    async close() {
      for (const s of sims) await s.close();
      for (const m of members) await m?.stop('test finished');
      await emu.close();
      await stack.redis.stop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-ha-'));
      dirs.push(dir);
      await mkdir(path.join(dir, 'tls'), { recursive: true });
      await writeFile(path.join(dir, 'tls', 'webex-cert.pem'), keyPair.cert);
      await writeFile(path.join(dir, 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
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

/** Resolves with the member that owns the bridges once one does (bounded). */
export async function waitForOwner(stack: ClusterStack, exclude?: ClusterDaemon, timeoutMs = 10_000): Promise<ClusterDaemon> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const owner = stack.members.find((m) => m && m !== exclude && m.member.status().role === 'owner');
    if (owner) return owner;
    if (Date.now() > deadline) throw new Error(`no instance took the bridge lease within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
