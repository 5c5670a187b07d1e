import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../src/adaptor/config.js';
import { Daemon } from '../../src/adaptor/main.js';

/** A start-up that fails half-way closes what it opened, so the next start finds nothing held. */
describe('start-up failure', () => {
  let dir: string;
  let blocker: net.Server;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-startup-'));
    blocker = net.createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
  });
  after(async () => {
    blocker.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a taken WebEx port fails the start with the cause logged, and a retry starts cleanly', async () => {
    const lines: Record<string, unknown>[] = [];
    const logDestination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const takenPort = (blocker.address() as net.AddressInfo).port;
    const store = { kind: 'sqlite', dataDir: dir };
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
    const socketsBefore = sockets();
    await assert.rejects(
      Daemon.start(parseConfig({ webex: { port: takenPort }, admin: { port: 0 }, store }), { logDestination }),
      { code: 'EADDRINUSE' },
    );
    assert.ok(lines.some((l) => l.msg === 'start-up failed'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sockets(), socketsBefore, 'the emulator, drivers and listener opened no socket that outlives the failure');

    // The store, the emulator and the drivers were closed: the same data directory starts again.
    const daemon = await Daemon.start(parseConfig({ webex: { port: 0 }, admin: { port: 0 }, store, log: { level: 'silent' } }));
    try {
      assert.match(daemon.webexUrl, /^https:\/\/127\.0\.0\.1:\d+\/tsp$/);
    } finally {
      await daemon.stop('test finished');
    }
  });
});
