import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import tls from 'node:tls';
import { gzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { WebexListener } from '../../src/adaptor/http/webex-listener.js';
import { CountingEngine, MUTE, type Pem, post, startListener, TestPki, tspDocument } from './support.js';

const MAX_BODY_BYTES = 256 * 1024;
const CREATE = '<W2A_CreateConference MsgID="1" ExtConfID="5512" ConfKey="123456" WbxHostName="https://127.0.0.1:9443/a2w"/>';

describe('hostile and broken input against the real HTTPS listener', { timeout: 60_000 }, () => {
  const pki = new TestPki();
  const engine = new CountingEngine();
  let ca: Pem;
  let listener: WebexListener;
  let url: string;

  before(async () => {
    ca = pki.ca('ca-input');
    const server = pki.leaf(ca, 'server-input', 'server');
    ({ listener, url } = await startListener(engine, { tls: server, maxBodyBytes: MAX_BODY_BYTES }));
  });
  after(async () => {
    await listener.close();
    pki.close();
  });
  beforeEach(() => {
    engine.accepted = 0;
    engine.failWith = undefined;
  });

  const send = (body: string | Buffer, headers: Record<string, string | number> = {}) => post(url, { ca: ca.cert, body, headers });

  const cases: { name: string; body: () => string | Buffer; headers?: Record<string, string>; result: number; reason: RegExp }[] = [
    { name: 'not well-formed XML', body: () => '<WbxTSPSchema Name="WTSPDOM"', result: 1, reason: /./ },
    { name: 'an unknown element', body: () => tspDocument('in-2', '<W2A_Bogus MsgID="1"/>'), result: 2, reason: /./ },
    { name: 'a value breaking a rule', body: () => tspDocument('in-3', CREATE.replace('123456', '12')), result: 3, reason: /ConfKey/ },
    { name: 'an unsupported Version', body: () => tspDocument('in-4', MUTE).replace('Version="1.0"', 'Version="9.9"'), result: 4, reason: /Version/ },
    { name: 'too many commands', body: () => tspDocument('in-6', MUTE.repeat(11)), result: 6, reason: /./ },
    {
      name: 'a gzip bomb (10 MB of zeros in a few KB) is refused unread, never inflated',
      body: () => gzipSync(Buffer.alloc(10 * 1024 * 1024)),
      headers: { 'content-encoding': 'gzip' },
      result: 1,
      reason: /Content-Encoding gzip is not accepted/,
    },
    { name: 'deflate in capitals', body: () => tspDocument('in-df', MUTE), headers: { 'content-encoding': 'DEFLATE' }, result: 1, reason: /Content-Encoding/ },
    { name: 'a JSON Content-Type', body: () => '{"TransID":"x"}', headers: { 'content-type': 'application/json' }, result: 1, reason: /Content-Type application\/json is not XML/ },
    { name: 'a form Content-Type', body: () => tspDocument('in-form'), headers: { 'content-type': 'application/x-www-form-urlencoded' }, result: 1, reason: /not XML/ },
    { name: 'a charset that is not supported', body: () => tspDocument('in-cs'), headers: { 'content-type': 'text/xml; charset=shift_jis' }, result: 1, reason: /unsupported character set 'shift_jis'/ },
    { name: 'a declared UTF-16 encoding', body: () => `<?xml version="1.0" encoding="UTF-16"?>${tspDocument('in-16')}`, headers: { 'content-type': 'text/xml' }, result: 1, reason: /unsupported character set/ },
    { name: 'UTF-16 bytes', body: () => Buffer.from(`\ufeff${tspDocument('in-16b')}`, 'utf16le'), headers: { 'content-type': 'text/xml' }, result: 1, reason: /UTF-16/ },
    { name: 'a NUL byte', body: () => tspDocument('in-nul', MUTE.replace('77', '7\u00007')), result: 1, reason: /NUL byte/ },
    { name: 'invalid UTF-8', body: () => Buffer.concat([Buffer.from(tspDocument('in-utf', MUTE).slice(0, 60)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('x')]), result: 1, reason: /invalid UTF-8/ },
    { name: 'deep nesting (20,000 levels) stops at the parser depth limit', body: () => tspDocument('in-deep', `${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}`), result: 1, reason: /depth/ },
    { name: 'a huge attribute value (200 KB)', body: () => tspDocument('in-attr', MUTE.replace('ExtCallID="77"', `ExtCallID="${'7'.repeat(200_000)}"`)), result: 3, reason: /./ },
    {
      name: 'thousands of attributes',
      body: () => tspDocument('in-many', MUTE.replace('/>', ` ${Array.from({ length: 5_000 }, (_, i) => `x${i}="1"`).join(' ')}/>`)),
      result: 2,
      reason: /./,
    },
    { name: 'an entity expansion (billion laughs)', body: () => `<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>${tspDocument('in-ent', MUTE.replace('77', '&b;'))}`, result: 2, reason: /DOCTYPE/ },
    { name: 'an external entity (XXE)', body: () => `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${tspDocument('in-xxe', MUTE.replace('77', '&e;'))}`, result: 2, reason: /DOCTYPE/ },
    { name: 'an empty body', body: () => '', result: 1, reason: /empty/ },
  ];
  for (const { name, body, headers, result, reason } of cases) {
    test(`${name}: Result ${result}, never reaching the engine`, async () => {
      const res = await send(body(), headers);
      assert.equal(res.status, 200);
      assert.equal(res.result, result, String(res.headers['x-tsp-reason']));
      assert.match(String(res.headers['x-tsp-reason']), reason);
      assert.equal(engine.accepted, 0);
    });
  }

  test('a Content-Length over the limit is Result 6 before a byte of the body is sent', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: Number(new URL(url).port), ca: ca.cert });
    await once(socket, 'secureConnect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.write(`POST /tsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
    await once(socket, 'close');
    assert.match(answer, /Result="6"/);
    assert.match(answer, /too large: 104857600 bytes declared/);
  });

  test('a chunked body past the limit is cut off with Result 6', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = https.request(url, { method: 'POST', ca: ca.cert, agent: false, headers: { 'content-type': 'text/xml' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      const chunk = 'x'.repeat(64 * 1024);
      // Bounded: at most twice the limit is offered; the listener answers long before.
      for (let sent = 0; sent <= 2 * MAX_BODY_BYTES; sent += chunk.length) req.write(chunk);
      req.end();
    });
    assert.match(answer, /Result="6"/);
    assert.equal(engine.accepted, 0);
  });

  test('an exception in the engine is Result 8', async () => {
    engine.failWith = new Error('boom');
    assert.equal((await send(tspDocument('in-8'))).result, 8);
  });

  test('an ISO-8859-1 body with its charset is read, and the listener still serves after all of the above', async () => {
    const latin = Buffer.from(tspDocument('in-latin', CREATE.replace('5512', '5512')), 'latin1');
    assert.equal((await send(latin, { 'content-type': 'text/xml; charset=ISO-8859-1' })).result, 0);
    assert.equal((await send(tspDocument('in-ok'))).result, 0);
    assert.equal(engine.accepted, 2);
  });
});
