import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/adaptor/config.js';
import { Reloader } from '../../src/adaptor/reload.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { silentLogger } from '../shell/support.js';
import { ServeProcess } from '../e2e/serve-process.js';
import { createConference, sendAndAnswer, w2a } from '../e2e/support.js';
import { serveDir, signal } from './lifecycle-process.js';

const PREMIUM = '1,900,5550123';

describe('SIGHUP reloads the configuration file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-reload-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a new log level and dial-out block list apply at once; a restart-only key is named and kept', { timeout: 60_000 }, async () => {
    const serveFiles = await serveDir(dir);
    await serveFiles.write('log:\n  level: info\ndialOut:\n  blockedPrefixes: ["1,900"]');
    const serve = new ServeProcess();
    const url = await serve.start(serveFiles.config, { NOTIFY_SOCKET: '' });
    const sim = new WebexSim({ adaptorUrl: url, adaptorCa: serveFiles.keyPair.cert, keyPair: serveFiles.keyPair });
    await sim.start();
    try {
      await createConference(sim, 'conf-reload', '55667788');
      const refused = await sendAndAnswer(sim, w2a(sim).callout('conf-reload', 'call-1', PREMIUM), 'A2W_RspCallout');
      assert.equal(refused.Result, 44, 'a blocked prefix is refused by policy');
      assert.equal(serve.lines.filter((l) => l.level === 20).length, 0, 'nothing at debug level yet');

      await serveFiles.write('log:\n  level: debug\ndialOut:\n  blockedPrefixes: []\ntransIdRetentionMs: 3600000');
      void signal(serve, 'SIGHUP');
      const reloaded = await serve.waitForLine('configuration reloaded');
      assert.deepEqual(reloaded.applied, ['dialOut.blockedPrefixes', 'log.level']);
      assert.deepEqual(reloaded.restartNeeded, ['transIdRetentionMs']);

      const allowed = await sendAndAnswer(sim, w2a(sim).callout('conf-reload', 'call-2', PREMIUM), 'A2W_RspCallout');
      assert.equal(allowed.Result, 0, 'the same number is dialled once the prefix is no longer blocked');
      await serve.waitForLine('W2A transaction confirmed');
      assert.ok(serve.lines.some((l) => l.level === 20), 'debug lines appear after the reload');

      assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
    } finally {
      await serve.stop('SIGKILL');
      await sim.close();
    }
  });

  test('a file that no longer validates changes nothing', { timeout: 60_000 }, async () => {
    const serveFiles = await serveDir(dir);
    const serve = new ServeProcess();
    await serve.start(serveFiles.config, { NOTIFY_SOCKET: '' });
    try {
      await serveFiles.write('log:\n  level: loud');
      void signal(serve, 'SIGHUP');
      const refused = await serve.waitForLine('reload refused');
      assert.match(String(refused.error), /log\.level/);
      assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  test('a part that fails keeps its old value and is named; the other parts still apply', async () => {
    const file = path.join(dir, 'parts.yaml');
    await writeFile(file, 'log:\n  level: info\ndialOut:\n  blockedPrefixes: []\n');
    const reloader = new Reloader(await loadConfig({ file, env: {} }), file, silentLogger);
    const levels: string[] = [];
    reloader.register({ name: 'log level', keys: ['log.level'], apply: (next) => void levels.push(next.log.level) });
    reloader.register({ name: 'dial-out policy', keys: ['dialOut'], apply: () => Promise.reject(new Error('refused')) });
    await writeFile(file, 'log:\n  level: warn\ndialOut:\n  blockedPrefixes: ["44"]\n');
    assert.deepEqual(await reloader.reload(), { kind: 'applied', applied: ['log.level'], restartNeeded: [], failed: ['dial-out policy'] });
    assert.deepEqual(levels, ['warn']);
    // Still different from what runs: tried again on the next reload.
    const again = await reloader.reload();
    assert.equal(again.kind === 'applied' && again.failed[0], 'dial-out policy');
    assert.deepEqual(levels, ['warn'], 'an unchanged key is not applied again');
  });

  test('a part that reads files outside the configuration is applied on every reload, even with no change', async () => {
    const file = path.join(dir, 'every.yaml');
    await writeFile(file, 'log:\n  level: info\n');
    const reloader = new Reloader(await loadConfig({ file, env: {} }), file, silentLogger);
    let certificateLoads = 0;
    let levelApplies = 0;
    reloader.register({ name: 'certificates', keys: ['webex.tls.certFile'], everyReload: true, apply: () => void (certificateLoads += 1) });
    reloader.register({ name: 'log level', keys: ['log.level'], apply: () => void (levelApplies += 1) });
    await reloader.reload();
    await reloader.reload();
    assert.equal(certificateLoads, 2, 'the certificate files are read again on each SIGHUP');
    assert.equal(levelApplies, 0, 'a part without changed keys is left alone');
  });
});
