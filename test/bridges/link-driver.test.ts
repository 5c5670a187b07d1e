/**
 * The link layer (LinkedDriver) against a scripted fake peer over real TCP: resync ordering,
 * correlation, deadlines, link loss, heartbeat supervision, event order and de-duplication,
 * malformed frames and the two ways to stop.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { nextDriverEvent } from './support/driver-events.js';
import type { BridgeEvent, LinkStatus } from '../../src/bridges/driver.js';
import { isBridgeError } from '../../src/bridges/errors.js';
import { FakePeer, JsonLineDriver, linkConfig } from './support/json-link.js';

function dtmf(digits: string): BridgeEvent {
  return { type: 'dtmf', bridgeConfId: 'C1', port: '1/1', legId: 'L1', digits };
}

function digitsOf(events: BridgeEvent[]): string[] {
  return events.map((e) => (e.type === 'dtmf' ? e.digits : e.type));
}

/** Resolves once `driver` has emitted `count` events (collected into the returned array). */
function collect(driver: JsonLineDriver): { events: BridgeEvent[]; until(count: number): Promise<void> } {
  const events: BridgeEvent[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  driver.on('event', (e) => {
    events.push(e);
    if (waiter && events.length >= waiter.count) waiter.resolve();
  });
  return {
    events,
    until: (count) =>
      events.length >= count ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { count, resolve })),
  };
}

describe('LinkedDriver', () => {
  let peer: FakePeer;
  let driver: JsonLineDriver;
  let port: number;

  beforeEach(async () => {
    peer = new FakePeer();
    port = await peer.listen();
  });

  afterEach(async () => {
    await driver?.close();
    await peer.close();
  });

  it('connect() resolves after resync, and the snapshot drops events it already reflects', async () => {
    peer.autoSnapshot = false;
    driver = new JsonLineDriver(linkConfig(port));
    const order: string[] = [];
    driver.on('resync', (s) => order.push(`resync@${s.eventSeq}`));
    driver.on('event', (e) => order.push(e.type === 'dtmf' ? e.digits : e.type));
    const seventh = nextDriverEvent(driver, 'event', (e: BridgeEvent) => e.type === 'dtmf' && e.digits === '7');
    const connected = driver.connect();
    const snap = await peer.nextRequest();
    assert.equal(snap.command.op, 'snapshot');
    // Events racing the snapshot: 4 and 5 are in it, 6 and 7 are not.
    for (const seq of [4, 6, 5, 7]) snap.conn.event(seq, dtmf(String(seq)));
    snap.conn.reply(snap.id, { takenAt: 1, eventSeq: 5, ports: { total: 1344, inUse: 2, reserved: 0 }, conferences: [] });
    await connected;
    await seventh;
    assert.deepEqual(order, ['resync@5', '6', '7']);
    assert.equal(driver.status.state, 'up');
    assert.deepEqual(driver.health().ports, { total: 1344, inUse: 2, reserved: 0 });
  });

  it('correlates replies by id, out of order', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    const a = driver.execute({ op: 'createConference', options: { confKey: '1', entryTone: 'none', silentJoin: false, muteOnEntry: false } });
    const b = driver.execute({ op: 'endConference', bridgeConfId: 'C9' });
    const ra = await peer.nextRequest();
    const rb = await peer.nextRequest();
    rb.conn.reply(rb.id);
    ra.conn.reply(ra.id, { bridgeConfId: 'C1' });
    assert.deepEqual(await a, { bridgeConfId: 'C1' });
    assert.equal(await b, undefined);
    assert.equal(driver.health().commandsInFlight, 0);
  });

  it('an error reply rejects with its code; an undecodable reply with BRIDGE_ERR_PROTOCOL', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    const refused = driver.execute({ op: 'endConference', bridgeConfId: 'C1' });
    const r1 = await peer.nextRequest();
    r1.conn.send({ t: 'reply', id: r1.id, error: 'BRIDGE_ERR_CONF_NOT_FOUND' });
    await assert.rejects(refused, (e) => isBridgeError(e, 'BRIDGE_ERR_CONF_NOT_FOUND'));
    const garbled = driver.execute({ op: 'createConference', options: { confKey: '1', entryTone: 'none', silentJoin: false, muteOnEntry: false } });
    const r2 = await peer.nextRequest();
    r2.conn.reply(r2.id, { nope: true });
    await assert.rejects(garbled, (e) => isBridgeError(e, 'BRIDGE_ERR_PROTOCOL'));
  });

  it('a command past its deadline fails with BRIDGE_ERR_TIMEOUT and its late reply is counted, not applied', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    const slow = driver.execute({ op: 'createConference', options: { confKey: '1', entryTone: 'none', silentJoin: false, muteOnEntry: false } }, { timeoutMs: 20 });
    const request = await peer.nextRequest();
    await assert.rejects(slow, (e) => isBridgeError(e, 'BRIDGE_ERR_TIMEOUT') && /createConference \(id \d+\)/.test(e.message));
    request.conn.reply(request.id, { bridgeConfId: 'late' });
    request.conn.reply(request.id, { bridgeConfId: 'late' });
    // A heartbeat written after the replies proves they were read.
    request.conn.heartbeat();
    await nextDriverEvent(driver, 'heartbeat');
    assert.equal(driver.health().unknownReplies, 2);
  });

  it('link loss fails in-flight commands with LINK_DOWN naming op and id, then reconnects and resyncs once', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    const inFlight = driver.execute({ op: 'mute', bridgeConfId: 'C1', port: '1/1', muted: true });
    const request = await peer.nextRequest();
    const resynced = nextDriverEvent(driver, 'resync');
    request.conn.socket.destroy();
    await assert.rejects(inFlight, (e) => isBridgeError(e, 'BRIDGE_ERR_LINK_DOWN') && /mute \(id \d+\)/.test(e.message));
    await resynced;
    assert.equal(driver.health().reconnects, 1);
    // One listener per session: an event on the new connection arrives exactly once.
    const second = await peer.connection(2);
    const seen = collect(driver);
    second.event(1, dtmf('after'));
    second.event(2, dtmf('end'));
    await seen.until(2);
    assert.deepEqual(digitsOf(seen.events), ['after', 'end']);
  });

  it('commands while the link is not up fail at once with LINK_DOWN (nothing is queued)', async () => {
    driver = new JsonLineDriver(linkConfig(port, { reconnectInitialDelayMs: 60_000, reconnectMaxDelayMs: 60_000 }));
    await driver.connect();
    const down = nextDriverEvent(driver, 'status', (s: LinkStatus) => s.state === 'down');
    peer.connections[0]?.socket.destroy();
    await down;
    await assert.rejects(driver.execute({ op: 'endConference', bridgeConfId: 'C1' }), (e) => isBridgeError(e, 'BRIDGE_ERR_LINK_DOWN'));
  });

  it('a bridge that drops every link as soon as it is up is retried with growing delays, not a storm', async () => {
    driver = new JsonLineDriver(linkConfig(port, { reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 400 }), { random: () => 0.999 });
    driver.on('resync', () => peer.connections.at(-1)?.socket.destroy());
    const delays: number[] = [];
    const fourDowns = new Promise<void>((resolve) => {
      driver.on('status', (s) => {
        if (s.state !== 'down') return;
        delays.push(s.retryInMs);
        if (delays.length === 4) resolve();
      });
    });
    await driver.connect();
    await fourDowns;
    assert.deepEqual(delays, [9, 19, 39, 79]);
    assert.ok(driver.health().reconnects >= 3);
  });

  it('goes stale after missed heartbeats with TCP open, and reconnects', async () => {
    driver = new JsonLineDriver(linkConfig(port, { heartbeatIntervalMs: 20, missedHeartbeats: 2 }));
    const statuses: LinkStatus['state'][] = [];
    driver.on('status', (s) => statuses.push(s.state));
    await driver.connect();
    await nextDriverEvent(driver, 'resync');
    assert.deepEqual(statuses.slice(0, 6), ['connecting', 'up', 'stale', 'down', 'connecting', 'up']);
    assert.equal(peer.connections[0]?.socket.destroyed || peer.connections[0]?.socket.readableEnded, true);
  });

  it('heartbeats keep a quiet link up and report port usage', async () => {
    driver = new JsonLineDriver(linkConfig(port, { heartbeatIntervalMs: 20, missedHeartbeats: 2 }));
    await driver.connect();
    const conn = await peer.connection(1);
    // The peer beats every 10 ms (half the interval) while the test counts eight of them.
    const beating = setInterval(() => conn.heartbeat(), 10);
    let beats = 0;
    await new Promise<void>((resolve) => {
      driver.on('heartbeat', () => {
        beats += 1;
        if (beats === 8) resolve();
      });
    });
    clearInterval(beating);
    assert.equal(driver.health().reconnects, 0);
    assert.equal(driver.status.state, 'up');
    assert.ok(driver.health().lastHeartbeatAt > 0);
  });

  it('delivers duplicated and reordered events once, in order', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    const conn = await peer.connection(1);
    const seen = collect(driver);
    for (const seq of [1, 3, 2, 2, 1, 4, 3, 5]) conn.event(seq, dtmf(String(seq)));
    await seen.until(5);
    assert.deepEqual(digitsOf(seen.events), ['1', '2', '3', '4', '5']);
    conn.heartbeat();
    await nextDriverEvent(driver, 'heartbeat');
    assert.equal(driver.health().duplicateEvents, 3);
  });

  it('gives up on a gap after the reorder window and moves on', async () => {
    driver = new JsonLineDriver(linkConfig(port), { reorderWindowMs: 20 });
    await driver.connect();
    const conn = await peer.connection(1);
    const seen = collect(driver);
    for (const seq of [1, 3, 4]) conn.event(seq, dtmf(String(seq)));
    await seen.until(3);
    assert.deepEqual(digitsOf(seen.events), ['1', '3', '4']);
    conn.event(2, dtmf('2'));
    conn.event(5, dtmf('5'));
    await seen.until(4);
    assert.deepEqual(digitsOf(seen.events), ['1', '3', '4', '5']);
  });

  it('logs, counts and skips malformed frames without dropping the link', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    const conn = await peer.connection(1);
    conn.raw('{not json\n{"t":"what"}\n');
    conn.event(1, dtmf('still'));
    await nextDriverEvent(driver, 'event');
    assert.equal(driver.health().malformedFrames, 2);
    assert.equal(driver.health().reconnects, 0);
  });

  it('refuses a command the bridge cannot do with BRIDGE_ERR_UNSUPPORTED, without sending it', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    await assert.rejects(driver.execute({ op: 'passthrough', bridgeConfId: 'C1', data: 'x' }), (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
    await assert.rejects(driver.execute({ op: 'moveToSubConference', bridgeConfId: 'C1', port: '1/1', subConfId: 9 }), (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
    assert.equal(driver.health().commandsInFlight, 0);
  });

  it('close() fails in-flight commands with CLOSED, is idempotent, and later commands fail CLOSED', async () => {
    driver = new JsonLineDriver(linkConfig(port));
    await driver.connect();
    const inFlight = driver.execute({ op: 'endConference', bridgeConfId: 'C1' });
    await peer.nextRequest();
    const first = driver.close();
    assert.equal(driver.close(), first);
    await first;
    await assert.rejects(inFlight, (e) => isBridgeError(e, 'BRIDGE_ERR_CLOSED'));
    await assert.rejects(driver.execute({ op: 'endConference', bridgeConfId: 'C1' }), (e) => isBridgeError(e, 'BRIDGE_ERR_CLOSED'));
    assert.equal(driver.status.state, 'closed');
  });

  it('close() while the bridge is unreachable ends the retry loop and rejects connect()', async () => {
    await peer.close();
    driver = new JsonLineDriver(linkConfig(port));
    const connecting = driver.connect();
    await nextDriverEvent(driver, 'status', (s: LinkStatus) => s.state === 'down');
    await driver.close();
    await assert.rejects(connecting, (e) => isBridgeError(e, 'BRIDGE_ERR_CLOSED'));
    peer = new FakePeer();
    await peer.listen();
  });
});
