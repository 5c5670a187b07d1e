import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { WebexListener } from '../../src/adaptor/http/webex-listener.js';
import { CountingEngine, type Pem, post, startListener, TestPki } from './support.js';

describe('who may talk to the WebEx listener', { timeout: 30_000 }, () => {
  const pki = new TestPki();
  const listeners: WebexListener[] = [];
  let caA: Pem;
  let caB: Pem;
  let server: Pem;
  let serverB: Pem;
  let webex: Pem;
  let intruder: Pem;
  let foreign: Pem;

  before(() => {
    caA = pki.ca('ca-a');
    caB = pki.ca('ca-b');
    server = pki.leaf(caA, 'server-a', 'server');
    serverB = pki.leaf(caB, 'server-b', 'server');
    webex = pki.leaf(caA, 'webex-a', 'client');
    intruder = pki.leaf(caA, 'intruder', 'client');
    foreign = pki.leaf(caB, 'webex-a-forged', 'client');
  });
  after(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    pki.close();
  });

  const start = async (engine: CountingEngine, overrides: Parameters<typeof startListener>[1]) => {
    const started = await startListener(engine, overrides);
    listeners.push(started.listener);
    return started;
  };

  test('with a client CA and rejectUnauthorized, only a client the CA signed completes the handshake', async () => {
    const engine = new CountingEngine();
    const { listener, url } = await start(engine, { tls: { ...server, clientCa: caA.cert } });
    await assert.rejects(post(url, { ca: caA.cert }), 'no client certificate');
    await assert.rejects(post(url, { ca: caA.cert, client: foreign }), 'a certificate from another CA');
    const allowed = await post(url, { ca: caA.cert, client: webex });
    assert.equal(allowed.result, 0);
    assert.equal(engine.accepted, 1);
    assert.equal(listener.refusals.get('tls-handshake'), 2);
  });

  test('without rejectUnauthorized the refusal is Confirmation 5 with the reason, never reaching the engine', async () => {
    const engine = new CountingEngine();
    const { listener, url } = await start(engine, {
      tls: { ...server, clientCa: caA.cert },
      rejectUnauthorizedClients: false,
      access: { allowedSources: [], allowedClientSubjects: ['webex-a'], rate: { ratePerSecond: 1_000, burst: 1_000 } },
    });
    const none = await post(url, { ca: caA.cert });
    assert.equal(none.result, 5);
    assert.match(String(none.headers['x-tsp-reason']), /clientCaFile/);
    const forged = await post(url, { ca: caA.cert, client: foreign });
    assert.equal(forged.result, 5);
    const wrongSubject = await post(url, { ca: caA.cert, client: intruder });
    assert.equal(wrongSubject.result, 5);
    assert.match(String(wrongSubject.headers['x-tsp-reason']), /intruder.*allowedClientSubjects/);
    assert.equal(engine.accepted, 0);
    const allowed = await post(url, { ca: caA.cert, client: webex });
    assert.equal(allowed.result, 0);
    assert.equal(engine.accepted, 1);
    assert.equal(listener.refusals.get('client-certificate'), 2);
    assert.equal(listener.refusals.get('client-subject'), 1);
  });

  test('a source outside webex.allowedSources is Confirmation 5, over IPv4 and IPv6', async () => {
    const engine = new CountingEngine();
    const rate = { ratePerSecond: 1_000, burst: 1_000 };
    const v4 = await start(engine, { tls: server, access: { allowedSources: ['::1/128', '10.0.0.0/8'], allowedClientSubjects: [], rate } });
    const refused = await post(v4.url, { ca: caA.cert });
    assert.equal(refused.result, 5);
    assert.match(String(refused.headers['x-tsp-reason']), /127\.0\.0\.1 is not in webex\.allowedSources/);
    assert.equal(v4.listener.refusals.get('source'), 1);

    const v6 = await start(engine, { host: '::1', tls: server, access: { allowedSources: ['127.0.0.0/8'], allowedClientSubjects: [], rate } });
    assert.equal((await post(v6.url, { ca: caA.cert })).result, 5);
    const v6Allowed = await start(engine, { host: '::1', tls: server, access: { allowedSources: ['::1'], allowedClientSubjects: [], rate } });
    assert.equal((await post(v6Allowed.url, { ca: caA.cert })).result, 0);
    assert.equal(engine.accepted, 1);
  });

  test('TLS below 1.2 is refused at the handshake', async () => {
    const { url } = await start(new CountingEngine(), { tls: server });
    const { port } = new URL(url);
    const failed = await new Promise<Error | undefined>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: Number(port), ca: caA.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', resolve);
    });
    assert.ok(failed, 'a TLS 1.1 handshake must fail');
  });

  test('reloadTls swaps the certificate for new connections while a kept-alive one goes on working', async () => {
    const engine = new CountingEngine();
    const { listener, url } = await start(engine, { tls: server });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: `${caA.cert}${caB.cert}` });
    try {
      const before = await post(url, { ca: `${caA.cert}${caB.cert}`, agent });
      assert.equal(before.result, 0);
      const sockets = Object.values(agent.freeSockets).flat();
      assert.equal(sockets.length, 1, 'the first connection is kept alive');
      listener.reloadTls(serverB);
      const kept = await post(url, { ca: `${caA.cert}${caB.cert}`, agent });
      assert.equal(kept.result, 0);
      assert.equal(kept.peerFingerprint, before.peerFingerprint, 'the live connection keeps its certificate');
      assert.ok(sockets[0] && !sockets[0].destroyed, 'the same socket served both');
      const fresh = await post(url, { ca: caB.cert });
      assert.equal(fresh.result, 0);
      assert.notEqual(fresh.peerFingerprint, before.peerFingerprint, 'a new connection sees the new certificate');
      await assert.rejects(post(url, { ca: caA.cert }), 'the old CA no longer verifies the new certificate');
    } finally {
      agent.destroy();
    }
  });

  test('a reload with an unusable key keeps the old certificate', async () => {
    const { listener, url } = await start(new CountingEngine(), { tls: server });
    assert.throws(() => listener.reloadTls({ cert: serverB.cert, key: 'not a key' }));
    assert.equal((await post(url, { ca: caA.cert })).result, 0);
  });
});
