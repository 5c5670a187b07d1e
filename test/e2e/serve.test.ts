import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nextEvent } from '../../src/common/typed-emitter.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { testKeyPair } from '../shell/support.js';
import { ServeProcess } from './serve-process.js';
import { w2a } from './support.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../deploy/config.example.yaml', import.meta.url));
const run = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A configuration file whose data directory already holds a certificate (spares the key generation). */
async function serveConfig(parent: string) {
  const dir = await mkdtemp(path.join(parent, 'serve-'));
  const config = path.join(dir, 'serve.yaml');
  await writeFile(config, `store:\n  dataDir: ${JSON.stringify(path.join(dir, 'var'))}\nwebex:\n  port: 8443\n`);
  const keyPair = await testKeyPair();
  await mkdir(path.join(dir, 'var', 'tls'), { recursive: true });
  await writeFile(path.join(dir, 'var', 'tls', 'webex-cert.pem'), keyPair.cert);
  await writeFile(path.join(dir, 'var', 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
  return { config, keyPair };
}

describe('tsp-adaptor serve and check-config', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-serve-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('check-config prints OK for the example file, and every problem with its key path otherwise', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'webex:\n  port: https\nstore:\n  kind: postgres\n');
    const [ok, refused, usage] = await Promise.all([cli('check-config', EXAMPLE), cli('check-config', bad), cli('check-config')]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /^OK/);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /webex\.port: expected number/);
    assert.match(refused.stderr, /store\.kind: must be one of/);
    assert.equal(usage.code, 2);
  });

  test('serve runs on a file with env overrides, takes a meeting, and stops in order on SIGTERM', async () => {
    const { config, keyPair } = await serveConfig(dir);
    const serve = new ServeProcess();
    const url = await serve.start(config, { TSP_WEBEX__PORT: '0', TSP_LOG__LEVEL: 'info' });
    assert.doesNotMatch(url, /:8443\//, 'the environment overrides the file');
    const sim = new WebexSim({ adaptorUrl: url, adaptorCa: keyPair.cert, keyPair });
    await sim.start();
    try {
      const create = w2a(sim).create('conf-serve', '11223344');
      assert.equal((await sim.send([create])).result, 0);
      const rsp = await sim.next('A2W_RspCreateConference', (m) => m.MsgID === create.MsgID);
      assert.equal(rsp.message.Result, 0);
      const exit = await serve.stop('SIGTERM');
      assert.equal(exit.code, 0);
      const messages = serve.lines.map((l) => String(l.msg));
      const shutting = messages.findIndex((m) => m.startsWith('shutting down (SIGTERM)'));
      const stopped = messages.findIndex((m) => m.startsWith('stopped (SIGTERM)'));
      assert.ok(shutting >= 0 && stopped > shutting, 'why it stopped is logged first and last');
    } finally {
      await serve.stop('SIGKILL');
      await sim.close();
    }
  });

  test('a SIGTERM during start-up is not lost: the daemon stops in order as soon as it is up', async () => {
    const { config } = await serveConfig(dir);
    const serve = new ServeProcess();
    const ready = serve.start(config, { TSP_WEBEX__PORT: '0' });
    ready.catch(() => {}); // how it ended is asserted below
    try {
      // The bridge link comes up half-way through start-up, before the listeners.
      await serve.waitForLine('bridge link up');
      const exit = await serve.stop('SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null }, 'ended by its own ordered stop, not by the signal');
      const messages = serve.lines.map((l) => String(l.msg));
      assert.ok(messages.some((m) => m.startsWith('stopped (SIGTERM)')), 'why it stopped is logged');
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  test('a second SIGTERM during a drain that cannot finish exits at once with 1', async () => {
    const { config, keyPair } = await serveConfig(dir);
    const serve = new ServeProcess();
    const url = await serve.start(config, { TSP_WEBEX__PORT: '0', TSP_LOG__LEVEL: 'info' });
    const sim = new WebexSim({ adaptorUrl: url, adaptorCa: keyPair.cert, keyPair });
    await sim.start();
    try {
      // WebEx is away, so the drain waits for the outbox.
      sim.setPolicy({ kind: 'down' });
      assert.equal((await sim.send([w2a(sim).create('conf-forced', '11223355')])).result, 0);
      await nextEvent(sim, 'refused');
      const exited = serve.stop('SIGTERM');
      await serve.waitForLine('shutting down (SIGTERM)');
      await serve.stop('SIGTERM');
      assert.equal((await exited).code, 1);
      assert.ok(serve.lines.some((l) => String(l.msg).startsWith('second SIGTERM during shutdown')));
    } finally {
      await serve.stop('SIGKILL');
      await sim.close();
    }
  });

  test('serve with an invalid configuration exits 1 naming the key', async () => {
    const config = path.join(dir, 'invalid.yaml');
    await writeFile(config, 'log:\n  level: loud\n');
    const serve = new ServeProcess();
    await assert.rejects(serve.start(config), /exited \(1\).*log\.level/s);
  });
});
