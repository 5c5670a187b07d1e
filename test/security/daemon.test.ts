import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/adaptor/config.js';
import { Daemon } from '../../src/adaptor/main.js';
import { startStack, type Stack } from '../e2e/support.js';
import { testKeyPair } from '../shell/support.js';
import { post, TestPki } from './support.js';

const TOKEN = 'admin-token-4f1c9a';
const BASIC = 'ops:s3cret-pass';

describe('the started daemon: admin auth, routes kept apart, secrets', () => {
  let dir: string;
  let stack: Stack;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-secrets-'));
    const tokenFile = path.join(dir, 'admin.token');
    const basicFile = path.join(dir, 'admin.basic');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(basicFile, `${BASIC}\n`, { mode: 0o600 });
    stack = await startStack({ admin: { auth: { tokenFile, basicFile } } });
  });
  after(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every admin route needs the token or the basic login', async () => {
    const url = `${stack.daemon.adminUrl}/healthz`;
    const bare = await fetch(url);
    assert.equal(bare.status, 401);
    assert.match(String(bare.headers.get('www-authenticate')), /Bearer.*Basic/);
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(`${stack.daemon.adminUrl}/readyz`)).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    const basic = `Basic ${Buffer.from(BASIC).toString('base64')}`;
    assert.equal((await fetch(url, { headers: { authorization: basic } })).status, 200);
  });

  test('refusals are counted in /metrics', async () => {
    const before = await (await fetch(`${stack.daemon.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const refused = Number(/^tsp_admin_auth_refusals_total(?:\{[^}]*\})? (\d+)/m.exec(before)?.[1]);
    assert.ok(refused >= 3, before.slice(0, 200));
    assert.equal((await fetch(`${stack.daemon.adminUrl}/metrics`)).status, 401);
    const after = await (await fetch(`${stack.daemon.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.equal(Number(/^tsp_admin_auth_refusals_total(?:\{[^}]*\})? (\d+)/m.exec(after)?.[1]), refused + 1);
    assert.match(after, /# TYPE tsp_webex_refusals_total counter/);
  });

  test('the WebEx listener never serves an admin route, with or without credentials', async () => {
    const { cert } = await testKeyPair();
    const origin = new URL(stack.daemon.webexUrl).origin;
    for (const route of ['/healthz', '/readyz', '/metrics', '/feed', '/console', '/']) {
      for (const method of ['GET', 'POST']) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = https.request(`${origin}${route}`, { method, ca: cert, agent: false, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        });
        assert.equal(status, 404, `${method} ${route}`);
      }
    }
  });

  test('no secret reaches the log: key, admin token and login, bridge password', async () => {
    const { key } = await testKeyPair();
    const keyBody = key.split('\n')[1]!;
    const text = JSON.stringify(stack.logs);
    assert.ok(stack.logs.length > 0);
    for (const secret of [TOKEN, 's3cret-pass', 'tsp-emulator', keyBody]) {
      assert.ok(!text.includes(secret), `the log contains ${secret.slice(0, 6)}...`);
    }
  });
  test('reloadTls re-reads the certificate files in place: new connections get the new certificate (last: it changes the certificate)', async () => {
    const pki = new TestPki();
    try {
      const ca = pki.ca('ca-renewed');
      const renewed = pki.leaf(ca, 'server-renewed', 'server');
      await writeFile(path.join(stack.dataDir, 'tls', 'webex-cert.pem'), renewed.cert);
      await writeFile(path.join(stack.dataDir, 'tls', 'webex-key.pem'), renewed.key, { mode: 0o600 });
      await stack.daemon.reloadTls();
      // Verified against the new CA only: the handshake succeeding is the proof.
      const reply = await post(stack.daemon.webexUrl, { ca: ca.cert, body: '<x/>' });
      assert.equal(reply.status, 200);
      assert.ok(stack.logs.some((l) => l.msg === 'WebEx TLS certificates reloaded'));
    } finally {
      pki.close();
    }
  });
  test('a SIGHUP reload naming new certificate files applies them (last: it changes the certificate)', async () => {
    const pki = new TestPki();
    try {
      const ca = pki.ca('ca-moved');
      const moved = pki.leaf(ca, 'server-moved', 'server');
      const certFile = path.join(dir, 'moved-cert.pem');
      const keyFile = path.join(dir, 'moved-key.pem');
      await writeFile(certFile, moved.cert);
      await writeFile(keyFile, moved.key, { mode: 0o600 });
      const next = parseConfig({ webex: { tls: { certFile, keyFile } } });
      const part = stack.daemon.reloadableParts().find((p) => p.keys.includes('webex.tls.certFile'));
      assert.ok(part, 'the certificates are a reloadable part');
      const reloadsBefore = stack.logs.filter((l) => l.msg === 'WebEx TLS certificates reloaded').length;
      part.apply(next);
      // apply starts the reload; wait (bounded) for its log line.
      for (let i = 0; i < 500 && stack.logs.filter((l) => l.msg === 'WebEx TLS certificates reloaded').length === reloadsBefore; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const reply = await post(stack.daemon.webexUrl, { ca: ca.cert, body: '<x/>' });
      assert.equal(reply.status, 200);
    } finally {
      pki.close();
    }
  });
});

describe('start-up refusals', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-refuse-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('a non-loopback admin.host without credentials is a configuration error', () => {
    assert.throws(() => parseConfig({ admin: { host: '0.0.0.0' } }), (err: ConfigError) => {
      assert.ok(err.problems.some((p) => /admin\.host: 0\.0\.0\.0 is not a loopback address.*admin\.auth\.tokenFile/.test(p)), err.message);
      return true;
    });
    assert.doesNotThrow(() => parseConfig({ admin: { host: '0.0.0.0', auth: { tokenFile: '/etc/tsp/admin.token' } } }));
    assert.doesNotThrow(() => parseConfig({ admin: { host: '::1' } }));
  });

  test('a bridge passwordFile readable by others stops the start, naming the file and the chmod', async () => {
    const passwordFile = path.join(dir, 'bridge.password');
    await writeFile(passwordFile, 'bridge-pass\n', { mode: 0o644 });
    const config = parseConfig({
      webex: { port: 0 },
      admin: { port: 0 },
      store: { kind: 'memory', dataDir: dir },
      log: { level: 'silent' },
      bridges: [{ id: 'a', driver: 'voyant2313', host: '127.0.0.1', port: 7313, notifyPort: 7314, username: 'tsp', passwordFile }],
    });
    await assert.rejects(Daemon.start(config), new RegExp(`bridges\\[a\\]\\.passwordFile: .*run: chmod 600 ${passwordFile}`));
  });

  test('a bridge needs exactly one of password and passwordFile', () => {
    const bridge = { id: 'a', driver: 'voyant2313', host: '127.0.0.1', port: 7313, username: 'tsp' };
    assert.throws(() => parseConfig({ bridges: [bridge] }), /bridges\.0: set exactly one of password and passwordFile/);
    assert.throws(() => parseConfig({ bridges: [{ ...bridge, password: 'x', passwordFile: '/x' }] }), /exactly one/);
  });
});
