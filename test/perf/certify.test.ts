import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { certify, table } from '../../src/tools/certify/certify-command.js';
import { startStack, type Stack } from '../e2e/support.js';
import { testKeyPair } from '../shell/support.js';

/** `tsp-adaptor certify` is the project's own conformance check too: it must pass here. */
describe('certify against a running daemon and its emulator', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  test('every scenario passes, the caller flows included', async () => {
    const keyPair = await testKeyPair();
    const control = `http://127.0.0.1:${stack.daemon.emulatorPorts!.control}`;
    const outcomes = await certify({ url: stack.daemon.webexUrl, ca: keyPair.cert, emulator: control });
    const failed = outcomes.filter((o) => !o.passed);
    assert.deepEqual(failed, [], table(outcomes));
    assert.ok(outcomes.length >= 15, 'the WebEx and the caller scenarios all ran');
  });
});

describe('certify against a broken adaptor', () => {
  let server: https.Server;
  let url: string;

  before(async () => {
    const keyPair = await testKeyPair();
    // Confirms everything 0, invalid input included, and never answers: wrong on every count.
    server = https.createServer(keyPair, (req, res) => {
      req.resume();
      req.on('end', () => res.end('<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>x</TransID><Confirmation Result="0"></Confirmation></WbxTSPSchema>'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/tsp`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
  });

  test('fails every WebEx scenario, skips the caller flows without an emulator, and exits non-zero', async () => {
    const keyPair = await testKeyPair();
    const outcomes = await certify({ url, ca: keyPair.cert, timeoutMs: 200 });
    const ran = outcomes.filter((o) => !o.skipped);
    assert.ok(ran.length > 0);
    assert.deepEqual(ran.filter((o) => o.passed).map((o) => o.name), []);
    assert.ok(outcomes.some((o) => o.skipped && o.detail === 'needs --emulator'));
    const invalid = outcomes.find((o) => o.name === 'invalid input');
    assert.match(invalid?.detail ?? '', /Confirmation 0, expected 1/);
  });

  test('the command exits 1 on a failure and 2 on bad arguments', async () => {
    const keyPair = await testKeyPair();
    const { run } = await import('../../src/tools/certify/certify-command.js');
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'certify-'));
    const caFile = path.join(dir, 'ca.pem');
    await writeFile(caFile, keyPair.cert);
    const write = process.stdout.write;
    let printed = '';
    process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
    try {
      assert.equal(await run([url, '--ca', caFile, '--timeout', '200']), 1);
    } finally {
      process.stdout.write = write;
      await rm(dir, { recursive: true, force: true });
    }
    assert.match(printed, /FAIL/);
    assert.equal(await run([]), 2);
  });
});
