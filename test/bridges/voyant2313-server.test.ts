/**
 * The emulator's 2313 server over real TCP with a scripted endpoint: login gate, request
 * correlation and refusals, notification registration, and a session's two connections closing
 * together.
 */
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BridgeError } from '../../src/bridges/errors.js';
import type { ProtocolServer } from '../../src/bridges/emulator/endpoint.js';
import { startVoyant2313Server } from '../../src/bridges/emulator/server-2313.js';
import {
  decodeServerMessage, encodeClientMessage, type ClientMessage, type ServerMessage,
} from '../../src/bridges/voyant2313/codec.js';
import { Framer, encodeFrame } from '../../src/bridges/voyant2313/framer.js';
import { FakeEndpoint } from './support/fake-endpoint.js';
import { SAMPLE_SNAPSHOT } from './voyant2313-samples.js';

/** A raw protocol client: sends ClientMessages, awaits decoded ServerMessages in order. */
class Client {
  readonly #socket: net.Socket;
  readonly #framer = new Framer();
  readonly #queue: ServerMessage[] = [];
  #waiter: ((m: ServerMessage | undefined) => void) | undefined;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const out of this.#framer.push(chunk)) {
        if (out.type === 'frame') this.#deliver(decodeServerMessage(out.payload));
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.#waiter?.(undefined);
      resolve();
    }));
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  send(m: ClientMessage): void {
    this.#socket.write(encodeClientMessage(m));
  }

  writeRaw(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  /** The next message; undefined once the server closed the connection. */
  next(): Promise<ServerMessage | undefined> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#socket.destroyed) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #deliver(m: ServerMessage): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter(m);
    else this.#queue.push(m);
  }
}

let endpoint: FakeEndpoint;
let server: ProtocolServer;
const clients: Client[] = [];

async function client(which: 'voyant2313Request' | 'voyant2313Notify'): Promise<Client> {
  const c = await Client.connect(server.ports[which] as number);
  clients.push(c);
  return c;
}

async function login(): Promise<{ request: Client; sessionId: string }> {
  const request = await client('voyant2313Request');
  request.send({ kind: 'login', reqId: 'L', username: 'webex', password: 'secret' });
  const answer = await request.next();
  assert.ok(answer?.kind === 'loginResult' && answer.ok, JSON.stringify(answer));
  return { request, sessionId: answer.sessionId };
}

async function registered(): Promise<{ request: Client; notify: Client }> {
  const { request, sessionId } = await login();
  const notify = await client('voyant2313Notify');
  notify.send({ kind: 'register', sessionId });
  assert.deepEqual(await notify.next(), { kind: 'registerResult', ok: true });
  return { request, notify };
}

before(async () => {
  endpoint = new FakeEndpoint({
    model: 'fake-2313', username: 'webex', password: 'secret',
    reply: (command) => {
      switch (command.op) {
        case 'createConference':
          return { bridgeConfId: command.options.confKey === '0000' ? 'C\u0001' : 'C1' };
        case 'snapshot':
          return SAMPLE_SNAPSHOT;
        case 'endConference':
          throw new BridgeError('BRIDGE_ERR_CONF_NOT_FOUND', command.bridgeConfId);
        default:
          return undefined;
      }
    },
  });
  server = await startVoyant2313Server(endpoint, { host: '127.0.0.1', requestPort: 0, notifyPort: 0 });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

after(() => server.close());

test('both ports are bound and named', () => {
  assert.deepEqual(Object.keys(server.ports).sort(), ['voyant2313Notify', 'voyant2313Request']);
});

test('a wrong password is answered AUTH_FAILED and no session exists', async () => {
  const request = await client('voyant2313Request');
  request.send({ kind: 'login', reqId: 'L', username: 'webex', password: 'guess' });
  const answer = await request.next();
  assert.equal(answer?.kind, 'loginResult');
  assert.equal(answer?.kind === 'loginResult' && answer.ok, false);
});

test('a command before login is refused', async () => {
  const request = await client('voyant2313Request');
  request.send({ kind: 'command', reqId: '1', command: { op: 'snapshot' } });
  assert.deepEqual(await request.next(), {
    kind: 'failure', reqId: '1', op: 'snapshot', code: 'BRIDGE_ERR_PROTOCOL', detail: 'not logged in',
  });
});

test('commands are answered under their request id, refusals with their code', async () => {
  const { request } = await login();
  request.send({ kind: 'command', reqId: 'a', command: { op: 'createConference', options: { confKey: '1', entryTone: 'none', silentJoin: false, muteOnEntry: false } } });
  assert.deepEqual(await request.next(), { kind: 'reply', reqId: 'a', op: 'createConference', reply: { bridgeConfId: 'C1' } });
  request.send({ kind: 'command', reqId: 'b', command: { op: 'snapshot' } });
  assert.deepEqual(await request.next(), { kind: 'reply', reqId: 'b', op: 'snapshot', reply: SAMPLE_SNAPSHOT });
  request.send({ kind: 'command', reqId: 'c', command: { op: 'endConference', bridgeConfId: 'C9' } });
  const refused = await request.next();
  assert.equal(refused?.kind === 'failure' && refused.code, 'BRIDGE_ERR_CONF_NOT_FOUND');
});

test('a reply the protocol cannot carry is answered REFUSED instead, and the session goes on', async () => {
  const { request } = await login();
  request.send({ kind: 'command', reqId: 'u', command: { op: 'createConference', options: { confKey: '0000', entryTone: 'none', silentJoin: false, muteOnEntry: false } } });
  const answer = await request.next();
  assert.equal(answer?.kind === 'failure' && answer.code, 'BRIDGE_ERR_REFUSED');
  request.send({ kind: 'command', reqId: 'v', command: { op: 'mute', bridgeConfId: 'C1', port: '1/1', muted: true } });
  assert.equal((await request.next())?.kind, 'reply');
});

test('an undecodable request with a readable id is answered BAD_REQUEST, garbage is skipped', async () => {
  const { request } = await login();
  request.writeRaw(Buffer.from('garbage that is no frame'));
  request.writeRaw(encodeFrame('<FLY reqId="x1"/>'));
  const answer = await request.next();
  assert.equal(answer?.kind === 'failure' && answer.reqId, 'x1');
  assert.equal(answer?.kind === 'failure' && answer.code, 'BRIDGE_ERR_PROTOCOL');
  request.send({ kind: 'command', reqId: 'ok', command: { op: 'mute', bridgeConfId: 'C1', port: '1/1', muted: true } });
  assert.deepEqual(await request.next(), { kind: 'reply', reqId: 'ok', op: 'mute', reply: undefined });
});

test('a notification connection with an unknown session id is refused and closed', async () => {
  await login();
  const notify = await client('voyant2313Notify');
  notify.send({ kind: 'register', sessionId: 'not-a-session' });
  const answer = await notify.next();
  assert.equal(answer?.kind === 'registerResult' && answer.ok, false);
  assert.equal(await notify.next(), undefined);
});

test('a session takes one notification connection only', async () => {
  const { request, sessionId } = await login();
  const first = await client('voyant2313Notify');
  first.send({ kind: 'register', sessionId });
  assert.deepEqual(await first.next(), { kind: 'registerResult', ok: true });
  const second = await client('voyant2313Notify');
  second.send({ kind: 'register', sessionId });
  const answer = await second.next();
  assert.equal(answer?.kind === 'registerResult' && answer.ok, false);
  request.send({ kind: 'command', reqId: 's', command: { op: 'mute', bridgeConfId: 'C1', port: '1/1', muted: false } });
  assert.equal((await request.next())?.kind, 'reply', 'the session survives a refused second registration');
});

test('events and heartbeats flow on the registered notification connection', async () => {
  const { notify } = await registered();
  for (const listener of endpoint.events) listener({ seq: 7, event: { type: 'conferenceChanged', bridgeConfId: 'C1', state: 'started' } });
  for (const listener of endpoint.heartbeats) listener({ at: 5, ports: { total: 1344, inUse: 0, reserved: 0 } });
  assert.deepEqual(await notify.next(), { kind: 'event', seq: 7, event: { type: 'conferenceChanged', bridgeConfId: 'C1', state: 'started' } });
  assert.deepEqual(await notify.next(), { kind: 'heartbeat', at: 5, ports: { total: 1344, inUse: 0, reserved: 0 } });
});

test('closing the request connection closes the notification connection and unsubscribes', async () => {
  const earlier = new Set(endpoint.events);
  const { request, notify } = await registered();
  const mine = [...endpoint.events].filter((l) => !earlier.has(l));
  assert.equal(mine.length, 1);
  request.destroy();
  await notify.closed;
  assert.equal(endpoint.events.has(mine[0] as never), false);
});

test('closing the notification connection closes the request connection', async () => {
  const { request, notify } = await registered();
  notify.destroy();
  await request.closed;
});

test('a drop from the bridge closes every connection', async () => {
  const { request, notify } = await registered();
  const lone = await client('voyant2313Request');
  for (const listener of endpoint.drops) listener();
  await Promise.all([request.closed, notify.closed, lone.closed]);
});
