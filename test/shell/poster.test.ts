import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import { HttpPoster, PosterError, parseRetryAfter } from '../../src/adaptor/poster.js';
import { testKeyPair } from './support.js';

interface Seen {
  url: string;
  contentType: string | undefined;
  body: string;
}

describe('the A2W poster', () => {
  let server: https.Server;
  let base: string;
  let ca: string;
  const seen: Seen[] = [];
  /** Requests to /hang are never answered; their responses are ended in after(). */
  const hanging: import('node:http').ServerResponse[] = [];

  before(async () => {
    const keyPair = await testKeyPair();
    ca = keyPair.cert;
    server = https.createServer(keyPair, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', contentType: req.headers['content-type'], body });
        if (req.url === '/hang') {
          hanging.push(res);
          return;
        }
        if (req.url === '/busy') {
          res.writeHead(503, { 'retry-after': '2' }).end('try later');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/xml' }).end('<ok/>');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const res of hanging) res.end();
    server.closeAllConnections();
    server.close();
  });

  const poster = (overrides: Partial<ConstructorParameters<typeof HttpPoster>[0]> = {}) =>
    new HttpPoster({
      isAllowed: compileAllowedHosts(['https://127.0.0.1', 'https://localhost']),
      trustLoopbackPeers: true,
      maxSockets: 4,
      keepAliveMs: 1_000,
      ...overrides,
    });

  test('posts the XML with its content type and returns status and body', async () => {
    const p = poster();
    try {
      const answer = await p.post(`${base}/a2w`, '<WbxTSPSchema/>', { timeoutMs: 5_000 });
      assert.deepEqual(answer, { status: 200, body: '<ok/>' });
      const last = seen[seen.length - 1]!;
      assert.equal(last.contentType, 'text/xml; charset=utf-8');
      assert.equal(last.body, '<WbxTSPSchema/>');
    } finally {
      p.close();
    }
  });

  test('a URL outside webex.allowedHosts is refused with a code, before any connection', async () => {
    const p = poster({ isAllowed: compileAllowedHosts(['https://tsp.example.com']) });
    const before = seen.length;
    try {
      await assert.rejects(p.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000 }), (err: unknown) => {
        assert.ok(err instanceof PosterError);
        assert.equal(err.code, 'A2W_ERR_HOST_NOT_ALLOWED');
        return true;
      });
      assert.equal(seen.length, before);
    } finally {
      p.close();
    }
  });

  test('a non-2xx answer is returned as it is, with Retry-After in ms', async () => {
    const p = poster();
    try {
      const answer = await p.post(`${base}/busy`, '<x/>', { timeoutMs: 5_000 });
      assert.deepEqual(answer, { status: 503, body: 'try later', retryAfterMs: 2_000 });
    } finally {
      p.close();
    }
  });

  test('a server that does not answer fails with A2W_ERR_TIMEOUT', async () => {
    const p = poster();
    try {
      await assert.rejects(p.post(`${base}/hang`, '<x/>', { timeoutMs: 200 }), { code: 'A2W_ERR_TIMEOUT' });
    } finally {
      p.close();
    }
  });

  test('the caller can abort a post in flight', async () => {
    const p = poster();
    const controller = new AbortController();
    // Abort once the server holds the request, so the abort is not a connect failure.
    const arrived = once(server, 'request');
    const posted = p.post(`${base}/hang`, '<x/>', { timeoutMs: 60_000, signal: controller.signal });
    await arrived;
    controller.abort();
    try {
      await assert.rejects(posted, { code: 'A2W_ERR_ABORTED' });
    } finally {
      p.close();
    }
  });

  test('certificates are verified unless the peer is on loopback and that is allowed', async () => {
    const strict = poster({ trustLoopbackPeers: false });
    const pinned = poster({ trustLoopbackPeers: false, ca });
    try {
      await assert.rejects(strict.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000 }), { code: 'A2W_ERR_NETWORK' });
      const answer = await pinned.post(`${base.replace('127.0.0.1', 'localhost')}/a2w`, '<x/>', { timeoutMs: 5_000 });
      assert.equal(answer.status, 200);
    } finally {
      strict.close();
      pinned.close();
    }
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('5'), 5_000);
    assert.equal(parseRetryAfter(new Date(61_000).toUTCString(), 1_000), 60_000);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});
