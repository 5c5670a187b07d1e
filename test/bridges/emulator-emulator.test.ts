import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Emulator, type EmulatorPorts } from '../../src/bridges/emulator/emulator.js';
import { parseOptions } from '../../src/bridges/emulator/command.js';

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('emulator, composed', () => {
  let emulator: Emulator;
  let ports: EmulatorPorts;

  before(async () => {
    emulator = new Emulator({ ports: {}, bridge: { spans: 2, reservedPorts: 4 } });
    ports = await emulator.start();
  });

  after(() => emulator.close());

  it('binds every listener on its own ephemeral port', () => {
    const bound = Object.values(ports);
    assert.equal(bound.length, 4);
    assert.ok(bound.every((p) => p > 0));
    assert.equal(new Set(bound).size, 4);
    assert.deepEqual(emulator.ports, ports);
  });

  it('serves the control interface over the one model', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.control}/state`);
    const state = (await res.json()) as { ports: unknown };
    assert.deepEqual(state.ports, { total: 48, inUse: 0, reserved: 4 });
  });

  it('cuts every protocol connection on the drop fault', async () => {
    const sockets = await Promise.all([ports.voyant2035, ports.voyant2313Request, ports.voyant2313Notify].map(connect));
    const closed = sockets.map((s) => once(s, 'close'));
    const res = await fetch(`http://127.0.0.1:${ports.control}/faults/drop`, { method: 'POST' });
    assert.equal(res.status, 204);
    await Promise.all(closed);
  });

  it('closes everything, and refuses connections afterwards', async () => {
    const other = new Emulator({ ports: {} });
    const bound = await other.start();
    const socket = await connect(bound.voyant2035);
    const closed = once(socket, 'close');
    await other.close();
    await closed;
    await assert.rejects(connect(bound.voyant2035), /ECONNREFUSED/);
    await other.close(); // idempotent
  });
});

describe('tsp-adaptor emulator, as its own process', () => {
  it('prints its bound ports, serves, and exits 0 on SIGTERM', { timeout: 30_000 }, async () => {
    const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
    const zeroPorts = ['--control-port', '0', '--port-2035', '0', '--port-2313', '0', '--notify-port-2313', '0'];
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'emulator', ...zeroPorts, '--ports', '48'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`emulator exited ${code} before listening: ${out}`)));
      });
      const control = /control (\d+)/.exec(line)?.[1];
      assert.ok(control, line);
      const state = (await (await fetch(`http://127.0.0.1:${control}/state`)).json()) as { ports: { total: number } };
      assert.equal(state.ports.total, 48);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      assert.deepEqual(await exited, [0, null]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('tsp-adaptor emulator options', () => {
  it('defaults to the documented ports and login on 127.0.0.1', () => {
    assert.deepEqual(parseOptions([]), {
      host: '127.0.0.1',
      ports: { control: 7300, voyant2035: 7035, voyant2313Request: 7313, voyant2313Notify: 7314 },
      bridge: {},
    });
  });

  it('reads every option', () => {
    const options = parseOptions([
      '--host', '0.0.0.0', '--control-port', '1', '--port-2035', '2', '--port-2313', '3', '--notify-port-2313', '4',
      '--ports', '480', '--reserved', '24', '--heartbeat-ms', '250', '--ring-ms', '100', '--user', 'a', '--password', 'b', '--seed', '9',
    ]);
    assert.deepEqual(options, {
      host: '0.0.0.0',
      ports: { control: 1, voyant2035: 2, voyant2313Request: 3, voyant2313Notify: 4 },
      bridge: { spans: 20, reservedPorts: 24, ringMs: 100 },
      username: 'a',
      password: 'b',
      heartbeatIntervalMs: 250,
      seed: 9,
    });
  });

  it('refuses what it cannot model', () => {
    assert.throws(() => parseOptions(['--ports', '100']), /multiple of 24/);
    assert.throws(() => parseOptions(['--user', 'a']), /go together/);
    assert.throws(() => parseOptions(['--control-port', 'x']), /integer/);
    assert.throws(() => parseOptions(['--bogus']));
  });
});
