import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SystemdNotifier, watchdogIntervalMs } from '../../src/adaptor/systemd/notify.js';
import { ServeProcess } from '../e2e/serve-process.js';
import { silentLogger } from '../shell/support.js';
import { NotifySocket, serveDir, stopsUnderSystemd, upAndServing } from './lifecycle-process.js';

const UNIT = fileURLToPath(new URL('../../deploy/tsp-adaptor.service', import.meta.url));
const run = promisify(execFile);

describe('systemd service', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-systemd-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('systemd-analyze verify accepts the unit as shipped', async () => {
    // Run outside the repository so no other unit file is picked up.
    const { stdout, stderr } = await run('systemd-analyze', ['verify', UNIT], { cwd: dir });
    assert.equal(`${stdout}${stderr}`.trim(), '', 'verify prints nothing for a clean unit');
  });

  test('systemd-analyze security rates the unit OK (not EXPOSED or UNSAFE)', async () => {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT], { cwd: dir });
    const overall = /Overall exposure level for tsp-adaptor\.service: ([0-9.]+) (\w+)/.exec(stdout);
    assert.ok(overall, `no overall exposure line in:\n${stdout.slice(-500)}`);
    assert.ok(['OK', 'SAFE', 'MEDIUM'].includes(overall[2]!), `exposure ${overall[1]} ${overall[2]}`);
    assert.ok(Number(overall[1]) <= 2.5, `exposure ${overall[1]}`);
    // V8's JIT needs writable and executable memory: this one must stay off.
    assert.match(stdout, /✗ MemoryDenyWriteExecute=/);
  });

  test('watchdog pings at half WATCHDOG_USEC, and only for the process it names', () => {
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '20000000' }), 10_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(process.pid) }), 10_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1' }), undefined);
    assert.equal(watchdogIntervalMs({}), undefined);
  });

  test('without NOTIFY_SOCKET nothing is attempted; an abstract socket goes through systemd-notify', async () => {
    const none = SystemdNotifier.open(silentLogger, {});
    assert.equal(none.transport, 'none');
    await none.send('READY=1');
    none.close();
    const abstract = SystemdNotifier.open(silentLogger, { NOTIFY_SOCKET: '@tsp-test' });
    assert.equal(abstract.transport, 'systemd-notify');
    abstract.close();
  });

  test('serve sends READY=1, STATUS=, WATCHDOG=1 on the notify socket, then STOPPING=1 on SIGTERM and exits 0', async () => {
    const serve = new ServeProcess();
    const socket = await NotifySocket.bind(dir);
    try {
      const { config } = await serveDir(dir);
      await serve.start(config, { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', WATCHDOG_PID: '' });
      const ready = await socket.waitFor(/^READY=1$/);
      assert.match(ready, /^STATUS=\d+ conference\(s\), \d+ caller\(s\), bridges up \d+\/1, outbox \d+$/m);
      await socket.waitFor(/^WATCHDOG=1$/, 3);
      assert.ok(socket.messages.indexOf(ready) < socket.messages.indexOf('WATCHDOG=1'), 'no ping before READY=1');
      await stopsUnderSystemd(serve, socket);
    } finally {
      await serve.stop('SIGKILL').catch(() => undefined);
      socket.close();
    }
  });

  test('serve without NOTIFY_SOCKET starts and stops without a word about sd_notify', async () => {
    const serve = new ServeProcess();
    try {
      const { config } = await serveDir(dir);
      await serve.start(config, { NOTIFY_SOCKET: '' });
      await upAndServing(serve);
      assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
      assert.equal(serve.lines.filter((l) => l.component === 'systemd').length, 0);
    } finally {
      await serve.stop('SIGKILL').catch(() => undefined);
    }
  });
});
