import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { AcceptedTransaction } from '../../src/adaptor/engine.js';
import { compileAllowedHosts } from '../../src/adaptor/http/allowed-hosts.js';
import type { WebexListener } from '../../src/adaptor/http/webex-listener.js';
import { CONFIRMATION, type ConfirmationResult, createCodec } from '../../src/protocol/index.js';
import { confirmationResult, request, startTestListener, tspDocument } from './support.js';

const MAX_BODY_BYTES = 4_096;
const MAX_COMMANDS = 3;
const CREATE = '<W2A_CreateConference MsgID="1" ExtConfID="5512" ConfKey="123456" WbxHostName="https://127.0.0.1:9443/a2w"/>';
const MUTE = '<W2A_MuteUser MsgID="2" ExtConfID="5512" ExtCallID="77" Mute="1"/>';

/** Stands in for the engine: remembers results by TransID, as the real one promises to. */
class StubEngine {
  accepted: AcceptedTransaction[] = [];
  results = new Map<string, ConfirmationResult>();
  draining = false;
  failWith: Error | undefined;

  accept = async (tx: AcceptedTransaction): Promise<ConfirmationResult> => {
    this.accepted.push(tx);
    if (this.failWith) throw this.failWith;
    if (this.draining) return CONFIRMATION.BUSY;
    const earlier = this.results.get(tx.transId);
    if (earlier !== undefined) return earlier;
    this.results.set(tx.transId, CONFIRMATION.OK);
    return CONFIRMATION.OK;
  };
}

describe('the WebEx endpoint', () => {
  const engine = new StubEngine();
  let listener: WebexListener;
  let url: string;
  let ca: string;

  before(async () => {
    const codec = await createCodec({
      maxBodyBytes: MAX_BODY_BYTES,
      maxCommands: MAX_COMMANDS,
      isAllowedWbxHost: compileAllowedHosts(['https://127.0.0.1']),
    });
    ({ listener, url, ca } = await startTestListener({ codec, accept: engine.accept, maxBodyBytes: MAX_BODY_BYTES }));
  });
  after(async () => {
    await listener.close();
  });
  beforeEach(() => {
    engine.accepted = [];
    engine.failWith = undefined;
    engine.draining = false;
  });

  const post = (body: string | Buffer, headers: Record<string, string | number> = {}) =>
    request(url, { body, ca, headers: { 'content-type': 'text/xml; charset=utf-8', ...headers } });

  test('a valid transaction is handed to the engine and confirmed with Result 0', async () => {
    const res = await post(tspDocument('wbx-1', CREATE + MUTE));
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/xml; charset=utf-8/);
    assert.deepEqual(confirmationResult(res.body), { transId: 'wbx-1', result: 0 });
    assert.equal(res.headers['x-tsp-reason'], undefined);
    assert.equal(engine.accepted.length, 1);
    const tx = engine.accepted[0]!;
    assert.equal(tx.transId, 'wbx-1');
    assert.deepEqual(tx.messages.map((m) => m.type), ['W2A_CreateConference', 'W2A_MuteUser']);
    assert.equal(tx.source, '127.0.0.1');
  });

  test('a repeated TransID gets the Confirmation the engine gave it before', async () => {
    engine.results.set('wbx-repeat', CONFIRMATION.OK);
    const first = await post(tspDocument('wbx-repeat', MUTE));
    const second = await post(tspDocument('wbx-repeat', MUTE));
    assert.deepEqual(confirmationResult(first.body), confirmationResult(second.body));
  });

  const refusals: { name: string; body: string | (() => string); result: number; reason: RegExp }[] = [
    { name: 'not well-formed XML is Result 1', body: '<WbxTSPSchema Name="WTSPDOM"', result: 1, reason: /./ },
    { name: 'an unknown element is Result 2', body: tspDocument('wbx-2', '<W2A_Bogus MsgID="1"/>'), result: 2, reason: /./ },
    {
      name: 'a value breaking a rule (short ConfKey) is Result 3',
      body: tspDocument('wbx-3', CREATE.replace('123456', '12')),
      result: 3,
      reason: /ConfKey/,
    },
    {
      name: 'a WbxHostName outside the allow-list is Result 3',
      body: tspDocument('wbx-3b', CREATE.replace('https://127.0.0.1:9443', 'https://evil.example.com')),
      result: 3,
      reason: /WbxHostName/,
    },
    { name: 'an unsupported Version is Result 4', body: tspDocument('wbx-4', MUTE, '2.0'), result: 4, reason: /Version/ },
    {
      name: 'too many commands in one transaction is Result 6',
      body: tspDocument('wbx-6', MUTE.repeat(MAX_COMMANDS + 1)),
      result: 6,
      reason: /./,
    },
  ];
  for (const { name, body, result, reason } of refusals) {
    test(`${name}, with the reason in X-TSP-Reason, never reaching the engine`, async () => {
      const res = await post(typeof body === 'string' ? body : body());
      assert.equal(res.status, 200);
      assert.equal(confirmationResult(res.body).result, result);
      assert.match(String(res.headers['x-tsp-reason']), reason);
      assert.equal(engine.accepted.length, 0);
    });
  }

  test('a body over maxBodyBytes is Result 6 before it is parsed, with or without Content-Length', async () => {
    const big = tspDocument('wbx-big', MUTE.repeat(100));
    assert.ok(Buffer.byteLength(big) > MAX_BODY_BYTES);
    const declared = await post(big);
    assert.equal(confirmationResult(declared.body).result, 6);
    assert.match(String(declared.headers['x-tsp-reason']), /too large/);

    const chunked = await new Promise<string>((resolve, reject) => {
      const req = https.request(url, { method: 'POST', ca, agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i += 1) req.write(MUTE.repeat(20));
      req.end();
    });
    assert.equal(confirmationResult(chunked).result, 6);
    assert.equal(engine.accepted.length, 0);
  });

  test('a compressed body is refused with Result 1 rather than parsed', async () => {
    const res = await post(tspDocument('wbx-gz', MUTE), { 'content-encoding': 'gzip' });
    assert.equal(confirmationResult(res.body).result, 1);
    assert.match(String(res.headers['x-tsp-reason']), /Content-Encoding/);
  });

  test('an exception in the engine is Result 8, and the listener goes on serving', async () => {
    engine.failWith = new Error('store exploded');
    const failed = await post(tspDocument('wbx-8', MUTE));
    assert.deepEqual(confirmationResult(failed.body), { transId: 'wbx-8', result: 8 });
    engine.failWith = undefined;
    const next = await post(tspDocument('wbx-after-8', MUTE));
    assert.equal(confirmationResult(next.body).result, 0);
  });

  test('while the engine drains its Result 7 is passed on with a reason', async () => {
    engine.draining = true;
    const res = await post(tspDocument('wbx-7', MUTE));
    assert.equal(confirmationResult(res.body).result, 7);
    assert.match(String(res.headers['x-tsp-reason']), /retry/);
  });

  test('the path as configured and the same route under express matching rules answer alike', async () => {
    // The exact path is served without express; a query or trailing slash goes through it.
    const headersOf = (res: { headers: Record<string, unknown> }) =>
      Object.fromEntries(Object.entries(res.headers).filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name)));
    const direct = await post(tspDocument('wbx-direct', MUTE));
    for (const variant of ['?from=webex', '/']) {
      const routed = await request(url + variant, { body: tspDocument('wbx-direct', MUTE), ca, headers: { 'content-type': 'text/xml; charset=utf-8' } });
      assert.equal(routed.status, direct.status, variant);
      assert.deepEqual(headersOf(routed), headersOf(direct), variant);
      assert.equal(routed.body, direct.body, variant);
    }
    const refusedDirect = await post(tspDocument('wbx-gz', MUTE), { 'content-encoding': 'gzip' });
    const refusedRouted = await request(`${url}?x=1`, { body: tspDocument('wbx-gz', MUTE), ca, headers: { 'content-encoding': 'gzip' } });
    assert.deepEqual(headersOf(refusedRouted), headersOf(refusedDirect));
    assert.equal(refusedRouted.body, refusedDirect.body);
    assert.equal(engine.accepted.length, 3);
  });

  test('other paths are 404 and other methods 405, without touching the engine', async () => {
    const notFound = await request(url.replace('/tsp', '/admin'), { body: tspDocument('x', MUTE), ca });
    assert.equal(notFound.status, 404);
    const wrongMethod = await request(url, { method: 'GET', ca });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
    assert.equal(engine.accepted.length, 0);
  });

  test('after stopIntake every transaction is Result 7 and the engine is not asked', async () => {
    listener.stopIntake();
    const res = await post(tspDocument('wbx-stopped', MUTE));
    assert.equal(confirmationResult(res.body).result, 7);
    assert.equal(engine.accepted.length, 0);
  });
});
