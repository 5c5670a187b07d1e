/**
 * The live feed's contract with its clients, on a plain loopback http.Server: snapshot then
 * deltas in order, timelines on request, and the limits that keep a client from hurting the
 * daemon (a client that stops reading is cut off, oversized or unknown messages close the
 * socket, pages from another origin are refused, dead peers are dropped by the heartbeat).
 * The engine's side is played by an emitter of the same events; live-feed-engine.test.ts
 * runs the feed on a real engine.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { LiveFeed, mountLiveFeed } from '../../src/adaptor/live/live-feed.js';
import { FakeEngine, FeedReader, fakeCaller as caller, fakeConference as conference } from './live-feed-support.js';

function upgradeRequest(url: string, headers: Record<string, string> = {}): http.ClientRequest {
  const req = http.request(url.replace('ws:', 'http:'), {
    headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13', ...headers },
  });
  req.end();
  return req;
}

/** A client that completes the handshake and then never reads (its socket paused). */
async function stalledClient(url: string): Promise<Duplex> {
  const [, socket] = (await once(upgradeRequest(url), 'upgrade')) as [http.IncomingMessage, Duplex];
  socket.pause();
  return socket;
}

/** The HTTP status an upgrade request is refused with. */
async function refusedWith(url: string, headers: Record<string, string> = {}): Promise<number | undefined> {
  const [res] = (await once(upgradeRequest(url, headers), 'response')) as [http.IncomingMessage];
  res.resume();
  return res.statusCode;
}

describe('live feed protocol', () => {
  let server: http.Server;
  let engine: FakeEngine;
  let feed: LiveFeed;
  let url: string;
  const open: { close(): void }[] = [];
  const logger = pino({ level: 'silent' });

  before(async () => {
    server = http.createServer((_req, res) => res.writeHead(404).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/live`;
  });

  function startFeed(options: Partial<ConstructorParameters<typeof LiveFeed>[1]> = {}): void {
    engine = new FakeEngine();
    engine.conferences = [conference('ext-1', [caller(1)])];
    // No periodic bridge refresh in the middle of a test's expected sequence.
    feed = mountLiveFeed(server, engine, { logger, bridgeRefreshMs: 60_000, ...options });
  }

  function reader(headers?: Record<string, string>): FeedReader {
    const r = new FeedReader(url, headers);
    open.push({ close: () => r.ws.terminate() });
    return r;
  }

  afterEach(async () => {
    for (const o of open.splice(0)) o.close();
    await feed?.close();
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a client gets the snapshot first, then every delta in the order the engine emitted them', async () => {
    startFeed();
    const r = reader();
    const snapshot = await r.until((m) => m.type === 'snapshot');
    assert.ok(snapshot.type === 'snapshot');
    assert.deepEqual(snapshot.bridges.map((b) => [b.id, b.ports?.inUse]), [['bridge-a', 2]]);
    assert.deepEqual(snapshot.conferences.map((c) => [c.extConfID, c.callers.length]), [['ext-1', 1]]);
    // Numbers are masked as in the logs.
    const first = snapshot.conferences[0]!.callers[0]!;
    assert.ok(first.phase === 'joined');
    assert.equal(first.callerId, '*******0123');

    const muted = conference('ext-1', [{ ...caller(1), muted: true, mutedBy: 'Host' }]);
    engine.publish('step', { kind: 'w2a', at: 1, transId: 't-1', msgId: 'm-1', msgType: 'W2A_MuteUser', extConfID: 'ext-1', extCallID: 'call-1' });
    engine.publish('step', { kind: 'bridge-command', at: 2, phase: 'sent', bridgeId: 'bridge-a', op: 'mute', bridgeConfId: 'b-ext-1', port: 'p1' });
    engine.publish('conference', { conference: muted, changes: [{ kind: 'mute', caller: { legId: 'leg-1', extCallID: 'call-1' }, muted: true, by: 'Host' }] });
    engine.publish('bridge', { ...engine.snapshot().bridges[0]!, link: { state: 'down', error: 'reset', retryInMs: 500 } });
    const last = await r.until((m) => m.type === 'bridge');

    const types = r.messages.map((m) => m.type);
    assert.deepEqual(types, ['snapshot', 'step', 'step', 'conference', 'bridge']);
    const seqs = r.messages.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'seq increases');
    // The bridge command named only a port: the feed resolved it to the caller's every id.
    const command = r.messages[2]!;
    assert.ok(command.type === 'step');
    assert.deepEqual(command.entry.caller, { legId: 'leg-1', extCallID: 'call-1' });
    const change = r.messages[3]!;
    assert.ok(change.type === 'conference');
    const now = change.conference.callers[0]!;
    assert.ok(now.phase === 'joined');
    assert.deepEqual([now.muted, now.mutedBy], [true, 'Host']);
    assert.ok(last.type === 'bridge' && last.bridge.link.state === 'down');
  });

  test('a timeline is sent on request, with the steps and changes recorded so far', async () => {
    startFeed();
    engine.publish('step', { kind: 'w2a', at: 1, transId: 't-1', msgId: 'm-1', msgType: 'W2A_MuteUser', extConfID: 'ext-1', extCallID: 'call-1' });
    engine.publish('step', { kind: 'a2w', at: 3, phase: 'queued', transId: 'a-1', msgId: 'm-1', msgType: 'A2W_RspMuteUser', extConfID: 'ext-1', extCallID: 'call-1' });
    const r = reader();
    await r.until((m) => m.type === 'snapshot');
    r.ws.send(JSON.stringify({ type: 'timeline', extConfID: 'ext-1' }));
    const answer = await r.until((m) => m.type === 'timeline');
    assert.ok(answer.type === 'timeline');
    assert.deepEqual(answer.entries.map((e) => e.step.kind), ['w2a', 'a2w']);
  });

  test('a client that stops reading is cut off; a client that reads keeps receiving', async (t) => {
    const maxBufferedBytes = 256 * 1024;
    startFeed({ maxBufferedBytes });
    const normal = reader();
    await normal.until((m) => m.type === 'snapshot');
    const stalled = await stalledClient(url);
    // ~40 kB per update; the kernel's socket buffers take some megabytes before the feed's own fill.
    const big = conference('ext-1', Array.from({ length: 150 }, (_, i) => caller(i, { name: `Caller ${i} ${'x'.repeat(150)}` })));
    let sent = 0;
    for (let round = 0; round < 2_000 && feed.cutOffs === 0; round++) {
      for (let i = 0; i < 4; i++) {
        engine.publish('conference', { conference: big, changes: [] });
        sent++;
      }
      const target = sent;
      // The reading client drains before the next round, so only the stalled one falls behind.
      await normal.until((m) => m.type === 'conference' && normal.messages.filter((x) => x.type === 'conference').length >= target);
    }
    assert.equal(feed.cutOffs, 1, 'the stalled client was cut off');
    t.diagnostic(`stalled client cut off after ${sent} updates of ${JSON.stringify(big).length} bytes`);
    assert.equal(feed.clients, 1);
    engine.publish('bridge', { ...engine.snapshot().bridges[0]!, promisedPorts: 7 });
    const after = await normal.until((m) => m.type === 'bridge');
    assert.ok(after.type === 'bridge' && after.bridge.promisedPorts === 7);
    // The stalled client's socket is closed by the feed (once it reads, it finds the end).
    stalled.resume();
    await once(stalled, 'close');
    assert.equal(normal.ws.readyState, WebSocket.OPEN);
  });

  test('a client message over maxPayload closes the socket with 1009', async () => {
    startFeed({ maxPayloadBytes: 1024 });
    const r = reader();
    await r.until((m) => m.type === 'snapshot');
    const closed = r.closed();
    r.ws.send(JSON.stringify({ type: 'timeline', extConfID: 'x'.repeat(2_000) }));
    assert.equal(await closed, 1009);
    assert.equal(feed.clients, 0);
  });

  test('a message that is not a timeline request closes the socket with 1008', async () => {
    startFeed();
    const r = reader();
    await r.until((m) => m.type === 'snapshot');
    const closed = r.closed();
    r.ws.send('{"type":"mute","extConfID":"ext-1"}');
    assert.equal(await closed, 1008);
  });

  test('a page from another origin is refused; the same origin is served', async () => {
    startFeed();
    const host = new URL(url).host;
    assert.equal(await refusedWith(url, { Origin: 'http://evil.example' }), 403);
    const same = reader({ Origin: `http://${host}` });
    await same.until((m) => m.type === 'snapshot');
  });

  test('credentials are required when the admin listener has them', async () => {
    startFeed({ authorize: (req) => req.headers.authorization === 'Bearer s3cret' });
    assert.equal(await refusedWith(url), 401);
    assert.equal(await refusedWith(url, { Authorization: 'Bearer wrong' }), 401);
    const allowed = reader({ Authorization: 'Bearer s3cret' });
    await allowed.until((m) => m.type === 'snapshot');
  });

  test('a peer that stops answering pings is dropped by the heartbeat', async () => {
    startFeed({ heartbeatIntervalMs: 50 });
    const stalled = await stalledClient(url);
    open.push({ close: () => stalled.destroy() });
    const live = reader();
    await live.until((m) => m.type === 'snapshot');
    stalled.resume();
    await once(stalled, 'close');
    assert.equal(live.ws.readyState, WebSocket.OPEN, 'a client answering pings stays');
  });

  test('closing the feed says goodbye with 1001', async () => {
    startFeed();
    const r = reader();
    await r.until((m) => m.type === 'snapshot');
    const closed = r.closed();
    await feed.close();
    assert.equal(await closed, 1001);
  });
});
