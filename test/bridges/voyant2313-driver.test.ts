/**
 * The Voyant 2313 driver end to end over real TCP: driver -> 2313 server -> endpoint -> bridge
 * model, plus a relay on the notification connection that can inject bad bytes or cut one half.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pino from 'pino';
import type { BridgeEvent, BridgeSnapshot, DriverConfig, DriverEvents, LinkStatus } from '../../src/bridges/driver.js';
import { isBridgeError } from '../../src/bridges/errors.js';
import { BridgeEndpoint, type ProtocolServer } from '../../src/bridges/emulator/endpoint.js';
import { BridgeModel } from '../../src/bridges/emulator/model.js';
import { startVoyant2313Server } from '../../src/bridges/emulator/server-2313.js';
import { Voyant2313Driver } from '../../src/bridges/voyant2313/driver.js';
import { encodeFrame, FRAME_MAGIC, MAX_FRAME_BYTES } from '../../src/bridges/voyant2313/framer.js';
import { nextEvent } from '../../src/common/typed-emitter.js';

const CALL_IN = '1,800,5550100';
const OPTIONS = { confKey: '4711', entryTone: 'none', silentJoin: false, muteOnEntry: false } as const;

/** Forwards one port; the test can write extra bytes to the driver's side or cut only that side. */
class Relay {
  readonly #server = net.createServer((down) => this.#accept(down));
  readonly #pairs = new Set<{ down: net.Socket; up: net.Socket }>();
  port = 0;

  constructor(readonly upstreamPort: number) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this.port;
  }

  inject(bytes: Buffer): void {
    for (const { down } of this.#pairs) down.write(bytes);
  }

  /** Closes the driver's side only: the bridge still sees its half of the session open. */
  cutDriverSide(): void {
    for (const { down } of this.#pairs) down.destroy();
  }

  async close(): Promise<void> {
    for (const { down, up } of this.#pairs) {
      down.destroy();
      up.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(down: net.Socket): void {
    const up = net.connect({ host: '127.0.0.1', port: this.upstreamPort });
    const pair = { down, up };
    this.#pairs.add(pair);
    down.on('error', () => {});
    up.on('error', () => {});
    down.on('data', (chunk: Buffer) => up.write(chunk));
    up.on('data', (chunk: Buffer) => down.write(chunk));
    down.on('close', () => this.#pairs.delete(pair));
    up.on('close', () => down.destroy());
  }
}

function collect(driver: Voyant2313Driver): { events: BridgeEvent[]; next(predicate: (e: BridgeEvent) => boolean): Promise<BridgeEvent> } {
  const events: BridgeEvent[] = [];
  driver.on('event', (e) => events.push(e));
  return {
    events,
    next: async (predicate) => (await nextEvent<DriverEvents, 'event'>(driver, 'event', predicate))[0],
  };
}

function status(driver: Voyant2313Driver, state: LinkStatus['state']): Promise<[LinkStatus]> {
  return nextEvent<DriverEvents, 'status'>(driver, 'status', (s) => s.state === state);
}

describe('Voyant2313Driver against the emulator', () => {
  let model: BridgeModel;
  let endpoint: BridgeEndpoint;
  let server: ProtocolServer;
  let relay: Relay;
  let driver: Voyant2313Driver | undefined;

  function makeDriver(overrides: Partial<DriverConfig> = {}): Voyant2313Driver {
    driver = new Voyant2313Driver({
      id: 'bridge-b', driver: 'voyant2313', host: '127.0.0.1',
      port: server.ports['voyant2313Request'] as number, notifyPort: relay.port,
      username: 'tsp', password: 'tsp', heartbeatIntervalMs: 100, missedHeartbeats: 3, commandTimeoutMs: 2_000,
      reconnectInitialDelayMs: 5, reconnectMaxDelayMs: 50, ...overrides,
    }, { logger: pino({ level: 'silent' }) });
    return driver;
  }

  beforeEach(async () => {
    model = new BridgeModel();
    endpoint = new BridgeEndpoint(model, { heartbeatIntervalMs: 20 });
    endpoint.start();
    server = await startVoyant2313Server(endpoint, { host: '127.0.0.1', requestPort: 0, notifyPort: 0 });
    relay = new Relay(server.ports['voyant2313Notify'] as number);
    await relay.listen();
  });

  afterEach(async () => {
    await driver?.close();
    driver = undefined;
    await relay.close();
    await server.close();
    endpoint.close();
    model.close();
  });

  it('logs in, resyncs from the snapshot and carries commands and events both ways', async () => {
    const d = makeDriver();
    const resyncs: BridgeSnapshot[] = [];
    d.on('resync', (s) => resyncs.push(s));
    const events = collect(d);
    await d.connect();
    assert.equal(resyncs.length, 1);
    assert.deepEqual(resyncs[0]?.ports, model.usage());

    const { bridgeConfId } = await d.execute({ op: 'createConference', options: OPTIONS });
    const joined = events.next((e) => e.type === 'callerJoined');
    const call = model.callIn({ dialledNumber: CALL_IN, digits: '4711#', callerId: '3035551234' });
    assert.equal(call.state, 'joined');
    const join = await joined;
    assert.equal(join.type === 'callerJoined' && join.bridgeConfId, bridgeConfId);
    assert.equal(join.type === 'callerJoined' && join.callerId, '3035551234');

    const muted = events.next((e) => e.type === 'muteChanged');
    await d.execute({ op: 'mute', bridgeConfId, port: call.port, muted: true });
    assert.deepEqual(await muted, { type: 'muteChanged', bridgeConfId, port: call.port, legId: call.legId, muted: true, by: 'command' });

    const snapshot = await d.execute({ op: 'snapshot' });
    const { takenAt: _a, ...truth } = model.snapshot();
    const { takenAt: _b, ...seen } = snapshot;
    assert.deepEqual(seen, truth);
  });

  it('carries passthrough data and tones, which this model supports', async () => {
    const d = makeDriver();
    const events = collect(d);
    await d.connect();
    const { bridgeConfId } = await d.execute({ op: 'createConference', options: OPTIONS });
    const echoed = events.next((e) => e.type === 'passthrough');
    const data = '<hybrid op="x"/> & "quotes"\n';
    await d.execute({ op: 'passthrough', bridgeConfId, data });
    assert.deepEqual(await echoed, { type: 'passthrough', bridgeConfId, data });
    await d.execute({ op: 'playTone', bridgeConfId, tone: 'announce' });
    assert.equal(model.state().conferences[0]?.tones.announce, 1);
  });

  it('refuses to be built without a notification port', () => {
    assert.throws(
      () => makeDriver({ notifyPort: undefined }),
      (err) => isBridgeError(err, 'BRIDGE_ERR_INVALID') && /notifyPort/.test(err.message),
    );
  });

  it('reports a bridge refusal with its BridgeError code', async () => {
    const d = makeDriver();
    await d.connect();
    await assert.rejects(d.execute({ op: 'endConference', bridgeConfId: 'C-none' }), (err) => isBridgeError(err, 'BRIDGE_ERR_CONF_NOT_FOUND'));
    await assert.rejects(
      d.execute({ op: 'passthrough', bridgeConfId: 'C-none', data: 'bell \u0007' }),
      (err) => isBridgeError(err, 'BRIDGE_ERR_INVALID'),
    );
  });

  it('a wrong password keeps the link down with the login refusal as the reason', async () => {
    const d = makeDriver({ password: 'wrong' });
    const down = status(d, 'down');
    void d.connect().catch(() => {});
    const [s] = await down;
    assert.match(s.state === 'down' ? s.error : '', /login refused/);
    assert.notEqual(d.status.state, 'up');
  });

  it('a bridge silent after the TCP connect is given up on at the deadline and retried', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const d = makeDriver({ port: (silent.address() as net.AddressInfo).port, commandTimeoutMs: 100 });
      const down = status(d, 'down');
      const retried = nextEvent<DriverEvents, 'status'>(d, 'status', (st) => st.state === 'connecting' && st.attempt === 2);
      void d.connect().catch(() => {});
      const [s] = await down;
      assert.match(s.state === 'down' ? s.error : '', /timeout/i);
      await retried;
    } finally {
      await driver?.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a bridge drop takes the session down; the driver logs in again and resyncs', async () => {
    const d = makeDriver();
    await d.connect();
    const { bridgeConfId } = await d.execute({ op: 'createConference', options: OPTIONS });
    const resynced = nextEvent<DriverEvents, 'resync'>(d, 'resync');
    endpoint.dropConnections();
    const [snapshot] = await resynced;
    assert.deepEqual(snapshot.conferences.map((c) => c.bridgeConfId), [bridgeConfId]);
    await d.execute({ op: 'lockConference', bridgeConfId, locked: true });
    assert.equal(d.health().reconnects, 1);
  });

  it('losing only the notification connection takes the whole session down and back up', async () => {
    const d = makeDriver();
    await d.connect();
    const down = status(d, 'down');
    const resynced = nextEvent<DriverEvents, 'resync'>(d, 'resync');
    relay.cutDriverSide();
    const [s] = await down;
    assert.match(s.state === 'down' ? s.error : '', /notification connection lost/);
    await resynced;
    await d.execute({ op: 'snapshot' });
  });

  it('a bridge holding 40,000 conferences resyncs: its snapshot, above 4 MiB, arrives whole', { timeout: 30_000 }, async () => {
    for (let i = 0; i < 40_000; i++) model.execute({ op: 'createConference', options: { ...OPTIONS, confKey: String(100_000 + i) } });
    const d = makeDriver({ commandTimeoutMs: 30_000 });
    const resynced = nextEvent<DriverEvents, 'resync'>(d, 'resync');
    await d.connect();
    const [snapshot] = await resynced;
    assert.equal(snapshot.conferences.length, 40_000);
    assert.deepEqual(snapshot.conferences.at(-1), model.snapshot().conferences.at(-1));
    assert.equal(d.health().malformedFrames, 0);
  });

  it('garbage, a bad frame and an oversize frame are counted and skipped; the link stays up', async () => {
    const d = makeDriver();
    const events = collect(d);
    await d.connect();
    const oversize = Buffer.alloc(8);
    FRAME_MAGIC.copy(oversize);
    oversize.writeUInt32BE(MAX_FRAME_BYTES + 1, 4);
    relay.inject(Buffer.concat([
      Buffer.from('line noise'), encodeFrame('<NOT_A_MESSAGE/>'), encodeFrame('<<<'), oversize, Buffer.from('x'.repeat(100)),
    ]));
    const { bridgeConfId } = await d.execute({ op: 'createConference', options: OPTIONS });
    await events.next((e) => e.type === 'conferenceChanged' && e.bridgeConfId === bridgeConfId);
    assert.equal(d.health().malformedFrames, 4);
    assert.equal(d.status.state, 'up');
    assert.equal(d.health().reconnects, 0);
  });

  it('silent heartbeats with TCP open make the link stale, then it recovers', async () => {
    const d = makeDriver();
    await d.connect();
    const stale = status(d, 'stale');
    endpoint.setFaults({ silentHeartbeats: true });
    await stale;
    const up = status(d, 'up');
    endpoint.clearFaults();
    await up;
  });
});
