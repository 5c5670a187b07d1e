/**
 * Real Redis servers for the HA tests: `redis-server` child processes on 127.0.0.1, each on a
 * free port found at run time, in a temporary directory, without persistence unless asked.
 * Never the system's Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

const START_TIMEOUT_MS = 10_000;

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RedisServer {
  port: number;
  dir: string;
  process: ChildProcess;
  client(): Redis;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` and waits until it answers PING. With `sentinelOf`, starts
 * `redis-sentinel` instead, watching the master on that port under the name `tsp`.
 */
export async function startRedis(extra: string[] = [], opts: { port?: number; dir?: string; sentinelOf?: number } = {}): Promise<RedisServer> {
  const port = opts.port ?? await freePort();
  const dir = opts.dir ?? await mkdtemp(path.join(os.tmpdir(), 'tsp-redis-'));
  await mkdir(dir, { recursive: true });
  let child: ChildProcess;
  if (opts.sentinelOf !== undefined) {
    // Sentinel rewrites its configuration file, so each gets its own.
    const file = path.join(dir, 'sentinel.conf');
    await writeFile(file, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor tsp 127.0.0.1 ${opts.sentinelOf} 2`,
      'sentinel down-after-milliseconds tsp 500', 'sentinel failover-timeout tsp 2000', 'sentinel parallel-syncs tsp 1', '',
    ].join('\n'));
    child = spawn('redis-sentinel', [file], { stdio: 'ignore' });
  } else {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--save', '', '--appendonly', 'no', ...extra], { stdio: 'ignore' });
  }
  const clients: Redis[] = [];
  const server: RedisServer = {
    port, dir, process: child,
    client() {
      const c = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
  await waitForPing(port);
  return server;
}

export async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error(`redis on port ${port} did not answer within ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
