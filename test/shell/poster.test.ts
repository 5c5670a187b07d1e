import assert from 'node:assert/strict';
import { getEventListeners, once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import { HttpPoster, MAX_RESPONSE_BYTES, PosterError, parseRetryAfter, type PosterOptions } from '../../src/adaptor/poster.js';
import { ThreadedPoster } from '../../src/adaptor/threaded-poster.js';
import { testKeyPair } from './support.js';

interface Seen {
  url: string;
  contentType: string | undefined;
  body: string;
}

/** The daemon posts through the threaded one; both keep the same contract. */
const POSTERS: { name: string; make: (options: PosterOptions) => HttpPoster | ThreadedPoster }[] = [
  { name: 'the A2W poster', make: (options) => new HttpPoster(options) },
  { name: 'the A2W poster on its own thread', make: (options) => new ThreadedPoster(options) },
];

for (const { name, make } of POSTERS) describe(name, () => {
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
        if (req.url === '/big') {
          res.writeHead(200, { 'content-type': 'text/xml' }).end('x'.repeat(MAX_RESPONSE_BYTES * 3));
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

  const poster = (overrides: Partial<PosterOptions> = {}) =>
    make({
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
      await p.close();
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
      await p.close();
    }
  });

  test('a non-2xx answer is returned as it is, with Retry-After in ms', async () => {
    const p = poster();
    try {
      const answer = await p.post(`${base}/busy`, '<x/>', { timeoutMs: 5_000 });
      assert.deepEqual(answer, { status: 503, body: 'try later', retryAfterMs: 2_000 });
    } finally {
      await p.close();
    }
  });

  test('a server that does not answer fails with A2W_ERR_TIMEOUT', async () => {
    const p = poster();
    try {
      await assert.rejects(p.post(`${base}/hang`, '<x/>', { timeoutMs: 200 }), { code: 'A2W_ERR_TIMEOUT' });
    } finally {
      await p.close();
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
      await p.close();
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
      await Promise.all([strict.close(), pinned.close()]);
    }
  });

  test('an answer bigger than the cut is cut, and the connection serves the next post', async () => {
    const p = poster({ maxSockets: 1 });
    try {
      const big = await p.post(`${base}/big`, '<x/>', { timeoutMs: 5_000 });
      assert.equal(big.status, 200);
      assert.equal(big.body, 'x'.repeat(MAX_RESPONSE_BYTES));
      assert.deepEqual(await p.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000 }), { status: 200, body: '<ok/>' });
    } finally {
      await p.close();
    }
  });

  test('a post that expires while it waits for a connection is never sent', async () => {
    const p = poster({ maxSockets: 1 });
    try {
      const arrived = once(server, 'request');
      const holding = p.post(`${base}/hang`, '<holding/>', { timeoutMs: 60_000 });
      const [, res] = (await arrived) as [unknown, http.ServerResponse];
      await assert.rejects(p.post(`${base}/a2w`, '<expired/>', { timeoutMs: 50 }), { code: 'A2W_ERR_TIMEOUT' });
      res.end('<late/>');
      assert.equal((await holding).body, '<late/>');
      // One connection, one request at a time: the expired post would have come before this one.
      await p.post(`${base}/a2w`, '<after/>', { timeoutMs: 5_000 });
      const bodies = seen.map((s) => s.body);
      assert.ok(bodies.includes('<after/>'));
      assert.ok(!bodies.includes('<expired/>'));
    } finally {
      await p.close();
    }
  });

  test('one signal shared by every post aborts them all, and answered posts stop listening to it', async () => {
    const p = poster();
    const controller = new AbortController();
    const { signal } = controller;
    try {
      await Promise.all([1, 2, 3].map(() => p.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000, signal })));
      assert.equal(getEventListeners(signal, 'abort').length, 0);
      const arrived = once(server, 'request');
      const posted = [1, 2].map(() => p.post(`${base}/hang`, '<x/>', { timeoutMs: 60_000, signal }));
      await arrived;
      controller.abort();
      for (const post of posted) await assert.rejects(post, { code: 'A2W_ERR_ABORTED' });
      await assert.rejects(p.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000, signal }), { code: 'A2W_ERR_ABORTED' });
      assert.equal(getEventListeners(signal, 'abort').length, 0);
    } finally {
      await p.close();
    }
  });

  test('a refused connection fails with A2W_ERR_NETWORK', async () => {
    const closed = net.createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const p = poster({ isAllowed: () => true });
    try {
      await assert.rejects(p.post(`https://127.0.0.1:${port}/a2w`, '<x/>', { timeoutMs: 5_000 }), { code: 'A2W_ERR_NETWORK' });
    } finally {
      await p.close();
    }
  });

  test('plain HTTP servers are posted to as well', async () => {
    const plain = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end(`<plain ${req.url}/>`));
    });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    const p = poster({ isAllowed: () => true });
    try {
      const answer = await p.post(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/a2w?x=1`, '<x/>', { timeoutMs: 5_000 });
      assert.deepEqual(answer, { status: 200, body: '<plain /a2w?x=1/>' });
    } finally {
      await p.close();
      plain.closeAllConnections();
      plain.close();
    }
  });

  test('a closed poster refuses to post', async () => {
    const p = poster();
    await p.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000 });
    await p.close();
    await assert.rejects(p.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000 }), { code: 'A2W_ERR_ABORTED' });
  });

  test('closing lets a post in flight finish, then refuses new ones', async () => {
    const p = poster();
    const arrived = once(server, 'request');
    const posted = p.post(`${base}/hang`, '<x/>', { timeoutMs: 60_000 });
    const [, res] = (await arrived) as [unknown, http.ServerResponse];
    const closed = p.close();
    res.end('<late/>');
    assert.deepEqual(await posted, { status: 200, body: '<late/>' });
    await closed;
    await assert.rejects(p.post(`${base}/a2w`, '<x/>', { timeoutMs: 5_000 }), { code: 'A2W_ERR_ABORTED' });
  });
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(parseRetryAfter('5'), 5_000);
  assert.equal(parseRetryAfter(new Date(61_000).toUTCString(), 1_000), 60_000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});
