import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { WebexListener } from '../../src/adaptor/http/webex-listener.js';
import { CountingEngine, type Pem, post, startListener, TestPki, tspDocument } from './support.js';

/** Short deadlines so the listener's own timers end each stalled client within the test. */
const TIMEOUTS = { headersMs: 300, requestMs: 600, keepAliveMs: 300 };
/** A trickle never sends more than this many bytes, so a listener that never cut it still ends. */
const MAX_TRICKLE_BYTES = 200;
const TRICKLE_EVERY_MS = 50;

describe('slow, stalled and too many clients', { timeout: 30_000 }, () => {
  const pki = new TestPki();
  let ca: Pem;
  let server: Pem;
  let listener: WebexListener;
  let port: number;
  let url: string;

  before(async () => {
    ca = pki.ca('ca-slow');
    server = pki.leaf(ca, 'server-slow', 'server');
  });
  after(() => pki.close());

  const startWith = async (overrides: Parameters<typeof startListener>[1]) => {
    ({ listener, url } = await startListener(new CountingEngine(), { timeouts: TIMEOUTS, ...overrides }));
    port = Number(new URL(url).port);
  };

  const connect = async (): Promise<tls.TLSSocket> => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.cert });
    await once(socket, 'secureConnect');
    return socket;
  };

  /** Writes `text` a byte at a time until the server closes the socket; resolves with what it answered. */
  const trickle = async (socket: tls.TLSSocket, text: string): Promise<{ answer: string; sent: number }> => {
    let answer = '';
    let sent = 0;
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    const timer = setInterval(() => {
      if (sent >= Math.min(text.length, MAX_TRICKLE_BYTES) || socket.destroyed || !socket.writable) return;
      socket.write(text[sent]!);
      sent += 1;
    }, TRICKLE_EVERY_MS);
    await once(socket, 'close');
    clearInterval(timer);
    return { answer, sent };
  };

  describe('timeouts', () => {
    before(async () => startWith({ tls: server }));
    after(async () => listener.close());

    test('headers trickled a byte at a time are cut off (slowloris)', async () => {
      const socket = await connect();
      const headers = `POST /tsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nX-Padding: ${'a'.repeat(500)}\r\n\r\n`;
      const { sent } = await trickle(socket, headers);
      assert.ok(sent < MAX_TRICKLE_BYTES, `the listener let ${sent} bytes trickle in`);
    });

    test('a body trickled a byte at a time is cut off', async () => {
      const socket = await connect();
      const body = tspDocument('slow-body');
      socket.write(`POST /tsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n`);
      const { sent, answer } = await trickle(socket, body);
      assert.ok(sent < body.length, 'the body was never completed');
      assert.doesNotMatch(answer, /Result="0"/);
    });

    test('an idle kept-alive connection is closed', async () => {
      const socket = await connect();
      const body = tspDocument('idle-after');
      socket.write(`POST /tsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      await once(socket, 'close');
      assert.match(answer, /Result="0"/);
    });

    test('a TCP connection that never starts TLS is closed', async () => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      await once(socket, 'close');
      assert.equal(listener.refusals.get('tls-handshake') !== undefined, true);
    });

    test('the listener still serves after all of them', async () => {
      assert.equal((await post(url, { ca: ca.cert })).result, 0);
    });
  });

  describe('limits', () => {
    after(async () => listener.close());

    test('past webex.limits.maxConnections a new connection is dropped and counted', async () => {
      await startWith({ tls: server, maxConnections: 2 });
      const held = [await connect(), await connect()];
      const third = net.connect({ host: '127.0.0.1', port });
      third.on('error', () => {});
      await once(third, 'close');
      assert.equal(listener.refusals.get('connections'), 1);
      for (const socket of held) socket.destroy();
      await Promise.all(held.map((s) => (s.closed ? undefined : once(s, 'close'))));
      await listener.close();
    });

    test('past the per-source rate a transaction is Confirmation 7 with the reason', async () => {
      const engine = new CountingEngine();
      ({ listener, url } = await startListener(engine, {
        tls: server,
        access: { allowedSources: [], allowedClientSubjects: [], rate: { ratePerSecond: 0.001, burst: 2 } },
      }));
      assert.equal((await post(url, { ca: ca.cert })).result, 0);
      assert.equal((await post(url, { ca: ca.cert })).result, 0);
      const third = await post(url, { ca: ca.cert });
      assert.equal(third.result, 7);
      assert.match(String(third.headers['x-tsp-reason']), /ratePerSecond/);
      assert.equal(engine.accepted, 2);
      assert.equal(listener.refusals.get('rate'), 1);
    });
  });
});
