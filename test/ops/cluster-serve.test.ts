/**
 * `serve` with store.kind redis runs a cluster member under the same supervision as a single
 * instance: READY=1 with its role in STATUS=, watchdog pings, SIGHUP reloading the file (the
 * same parts: log level, WebEx allow-list, dial-out policy, certificates), STOPPING=1 and exit
 * 0 on SIGTERM after handing its bridge over. A real process, a real redis-server, a real
 * notify socket.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ServeProcess } from '../e2e/serve-process.js';
import { EmulatedBridges, memberDir } from '../ha/support.js';
import { startRedis, type RedisServer } from '../ha/redis-server.js';
import { testKeyPair } from '../shell/support.js';
import { raw } from './cluster-support.js';
import { NotifySocket, signal, stopsUnderSystemd } from './lifecycle-process.js';

describe('serve runs a cluster member like a single instance', () => {
  let dir: string;
  let redis: RedisServer;
  let bridges: EmulatedBridges;
  const dirs: string[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-cluster-serve-'));
    redis = await startRedis();
    bridges = new EmulatedBridges();
    await bridges.start();
  });
  after(async () => {
    await bridges?.close();
    await redis?.stop();
    for (const d of [dir, ...dirs]) await rm(d, { recursive: true, force: true });
  });

  test('READY=1 with its role, watchdog pings, SIGHUP reloads, STOPPING=1 and exit 0 on SIGTERM', { timeout: 60_000 }, async () => {
    const dataDir = await memberDir(await testKeyPair(), 'tsp-cluster-serve-member-');
    dirs.push(dataDir);
    const file = path.join(dir, 'member.yaml');
    // JSON is YAML.
    const write = (extra: Record<string, unknown>) => writeFile(file, JSON.stringify(raw(0, {
      dir: dataDir, redisPort: redis.port, bridges: bridges.config().slice(0, 1), group: 'serve', extra: { deepCheck: { enabled: false }, ...extra },
    })));
    await write({ log: { level: 'info' } });
    const serve = new ServeProcess();
    const socket = await NotifySocket.bind(dir);
    // `start` waits for the single instance's ready line; READY=1 is the member's.
    const started = serve.start(file, { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', WATCHDOG_PID: '' }).catch(() => undefined);
    try {
      const ready = await socket.waitFor(/^READY=1$/);
      assert.match(ready, /^STATUS=(owner|standby): \d+ conference\(s\), \d+ caller\(s\), bridges up \d+\/\d+, outbox \d+$/m);
      await socket.waitFor(/^WATCHDOG=1$/, 2);
      await serve.waitForLine('tsp-adaptor cluster member ready');

      await write({ log: { level: 'debug' }, dialOut: { blockedPrefixes: ['1,976'] }, transIdRetentionMs: 3_600_000 });
      void signal(serve, 'SIGHUP');
      const reloaded = await serve.waitForLine('configuration reloaded');
      assert.deepEqual(reloaded.applied, ['dialOut.blockedPrefixes', 'log.level']);
      assert.deepEqual(reloaded.restartNeeded, ['transIdRetentionMs']);
      assert.deepEqual((reloaded.parts as string[]).sort(), ['WebEx certificates', 'dial-out policy', 'log level']);
      await serve.waitForLine('WebEx TLS certificates reloaded');

      await stopsUnderSystemd(serve, socket);
    } finally {
      await serve.stop('SIGKILL').catch(() => undefined);
      await started;
      socket.close();
    }
  });
});
