/**
 * A cluster for the operations tests: a real redis-server and the HA tests' emulated bridges
 * (test/ha/support.ts), members started in-process with the HA tests' configuration plus what
 * an operations test adds (admin auth, call records, deep check). Everything on loopback.
 */
import { rm } from 'node:fs/promises';
import { ClusterDaemon } from '../../src/adaptor/cluster/cluster-daemon.js';
import { parseConfig, type Config } from '../../src/adaptor/config.js';
import { EmulatedBridges, memberConfig, memberDir } from '../ha/support.js';
import { startRedis, type RedisServer } from '../ha/redis-server.js';
import { testKeyPair } from '../shell/support.js';

export interface OpsCluster {
  redis: RedisServer;
  bridges: EmulatedBridges;
  members: (ClusterDaemon | undefined)[];
  dirs: string[];
  config(i: number): Config;
  close(): Promise<void>;
}

export interface OpsClusterOptions {
  members: number;
  /** How many of the two emulated bridges the members drive. */
  bridges?: 1 | 2;
  group?: string;
  /** Sections merged over the HA tests' configuration of member `i`. */
  extra?: (i: number) => Record<string, unknown>;
}

export function raw(i: number, opts: { dir: string; redisPort: number; bridges: Record<string, unknown>[]; group: string; extra?: Record<string, unknown> }): Record<string, unknown> {
  const base = memberConfig(i, { dir: opts.dir, redis: { url: `redis://127.0.0.1:${opts.redisPort}` }, bridges: opts.bridges, group: opts.group });
  for (const [key, value] of Object.entries(opts.extra ?? {})) {
    base[key] = typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(base[key] as object | undefined), ...value } : value;
  }
  return base;
}

export async function startOpsCluster(opts: OpsClusterOptions): Promise<OpsCluster> {
  const redis = await startRedis();
  const bridges = new EmulatedBridges();
  const keyPair = await testKeyPair();
  const dirs: string[] = [];
  const members: (ClusterDaemon | undefined)[] = [];
  const group = opts.group ?? 'ops';
  const config = (i: number): Config => parseConfig(raw(i, {
    dir: dirs[i]!, redisPort: redis.port, bridges: bridges.config().slice(0, opts.bridges ?? 2), group, extra: opts.extra?.(i) ?? {},
  }), { source: 'ops cluster test', env: {} });
  const stack: OpsCluster = {
    redis, bridges, members, dirs, config,
    async close() {
      for (const m of members) await m?.stop('test finished');
      await bridges.close();
      await redis.stop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    },
  };
  try {
    await bridges.start();
    for (let i = 0; i < opts.members; i++) {
      dirs.push(await memberDir(keyPair, 'tsp-ops-cluster-'));
      members.push(await ClusterDaemon.start(config(i)));
    }
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

/** The member that owns `bridge` now, if any. */
export function ownerOf(stack: OpsCluster, bridge: string): ClusterDaemon | undefined {
  return stack.members.find((m) => m?.member.status().bridges.some((b) => b.bridge === bridge && b.role === 'owner'));
}
