import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import type { PosterError } from '../../src/adaptor/poster.js';
import { ThreadedPoster } from '../../src/adaptor/threaded-poster.js';
import { createCodec, type TspCodec } from '../../src/protocol/index.js';
import { type Pem, TestPki, tspDocument } from './support.js';

const WEBEX = 'tsp.webex.example';
const HOSTILE: readonly string[] = [
  'https://evil.example.com/a2w',
  `https://${WEBEX}@evil.example.com/a2w`,
  `https://evil.example.com@${WEBEX}/a2w`,
  `https://user:pass@${WEBEX}/a2w`,
  `https://${WEBEX}.evil.example.com/a2w`,
  `https://${WEBEX}./a2w`,
  `https://${WEBEX.toUpperCase()}.EVIL.COM/a2w`,
  `https://x${WEBEX}/a2w`,
  `http://${WEBEX}/a2w`,
  'https://127.0.0.1/a2w',
  'https://127.1/a2w',
  'https://2130706433/a2w',
  'https://0x7f.0.0.1/a2w',
  'https://[::1]/a2w',
  'https://[::ffff:127.0.0.1]/a2w',
  'https://[0:0:0:0:0:0:0:1]/a2w',
  'https://169.254.169.254/latest/meta-data',
  'https://localhost/a2w',
  'https://localhost./a2w',
  'https://LOCALHOST/a2w',
  'https://ip6-localhost/a2w',
  'https://127.0.0.1.nip.io/a2w',
  'https://evil%2Eexample.com/a2w',
  'https://tsp.wеbex.example/a2w', // a Cyrillic "е"
  `https://${'a'.repeat(900)}.example.com/a2w`,
  'file:///etc/passwd',
  'gopher://127.0.0.1:6379/_FLUSHALL',
  'javascript:alert(1)',
  `//${WEBEX}/a2w`,
  '',
];

describe('SSRF: no W2A field makes the adaptor connect outside the allow-lists', { timeout: 30_000 }, () => {
  const isAllowed = compileAllowedHosts([`https://${WEBEX}`]);
  let codec: TspCodec;

  before(async () => {
    codec = await createCodec({ maxBodyBytes: 65_536, maxCommands: 10, isAllowedWbxHost: isAllowed });
  });

  test('the allowed host, in any case, is accepted; paths and the backslash form stay on it', () => {
    assert.equal(isAllowed(`https://${WEBEX}/a2w`), true);
    assert.equal(isAllowed(`https://${WEBEX.toUpperCase()}/a2w`), true);
    assert.equal(new URL(`https://${WEBEX}\\@evil.example.com`).hostname, WEBEX);
  });

  for (const url of HOSTILE) {
    test(`WbxHostName ${JSON.stringify(url.length > 60 ? `${url.slice(0, 57)}...` : url)} is refused by the codec and the allow-list`, () => {
      assert.equal(isAllowed(url), false);
      const escaped = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      const create = `<W2A_CreateConference MsgID="1" ExtConfID="5512" ConfKey="123456" WbxHostName="${escaped}"/>`;
      const decoded = codec.decode(Buffer.from(tspDocument(`ssrf-${url.length}`, create)), { direction: 'W2A', contentType: 'text/xml' });
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.ok(decoded.result === 2 || decoded.result === 3, `${decoded.result}: ${decoded.reason}`);
    });
  }

  describe('the poster', () => {
    const pki = new TestPki();
    let ca: Pem;
    let allowed: https.Server;
    let trap: https.Server;
    let trapConnections = 0;
    let allowedPort: number;
    let trapPort: number;
    const sockets = new Set<Socket>();

    const listen = async (server: https.Server): Promise<number> => {
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };

    before(async () => {
      ca = pki.ca('ca-ssrf');
      const cert = pki.leaf(ca, 'server-ssrf', 'server');
      trap = https.createServer(cert, (_req, res) => res.end('<Confirmation Result="0"/>'));
      trap.on('connection', () => (trapConnections += 1));
      trapPort = await listen(trap);
      allowed = https.createServer(cert, (req, res) => {
        req.resume();
        res.writeHead(302, { location: `https://127.0.0.1:${trapPort}/stolen` }).end();
      });
      allowedPort = await listen(allowed);
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([allowed, trap].map((s) => new Promise((resolve) => s.close(resolve))));
      pki.close();
    });
    beforeEach(() => {
      trapConnections = 0;
    });

    // The daemon's poster: the allow-list is checked before a post crosses to its thread.
    const poster = () =>
      new ThreadedPoster({
        isAllowed: compileAllowedHosts([`https://localhost:${allowedPort}`]),
        ca: ca.cert,
        trustLoopbackPeers: false,
        maxSockets: 2,
        keepAliveMs: 1_000,
      });

    test('a redirect from the allowed host is reported as a failure, never followed', async () => {
      const client = poster();
      try {
        const answer = await client.post(`https://localhost:${allowedPort}/a2w`, '<x/>', { timeoutMs: 5_000 });
        assert.equal(answer.status, 302);
        assert.equal(trapConnections, 0, 'the redirect target was never contacted');
      } finally {
        await client.close();
      }
    });

    test('other spellings of the same loopback address and port are refused before any connection', async () => {
      const client = poster();
      try {
        for (const url of [
          `https://127.0.0.1:${trapPort}/a2w`,
          `https://127.1:${trapPort}/a2w`,
          `https://[::ffff:127.0.0.1]:${trapPort}/a2w`,
          `https://localhost.:${trapPort}/a2w`,
          `https://localhost:${allowedPort}@127.0.0.1:${trapPort}/a2w`,
          `https://localhost:${trapPort}/a2w`,
        ]) {
          await assert.rejects(client.post(url, '<x/>', { timeoutMs: 2_000 }), (err: PosterError) => err.code === 'A2W_ERR_HOST_NOT_ALLOWED', url);
        }
        assert.equal(trapConnections, 0);
      } finally {
        await client.close();
      }
    });
  });
});
