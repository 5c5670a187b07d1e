/**
 * The emulator's Voyant 2035 server against a fake endpoint, spoken to with raw lines: login
 * gate, refusals under the request's tag, events and heartbeats only after login, listeners
 * released when a connection closes, and the endpoint's drop cutting every socket.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ProtocolServer } from '../../src/bridges/emulator/endpoint.js';
import { startVoyant2035Server } from '../../src/bridges/emulator/server-2035.js';
import { BridgeError } from '../../src/bridges/errors.js';
import { FakeEndpoint } from './support/fake-endpoint.js';

/** A raw client: send a line, read the next line back. */
class RawClient {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  #lines: string[] = [];
  #waiting: ((line: string) => void) | undefined;
  #rest = '';

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => {
      const parts = (this.#rest + chunk.toString('utf8')).split('\n');
      this.#rest = parts.pop() ?? '';
      for (const line of parts) {
        const waiting = this.#waiting;
        this.#waiting = undefined;
        if (waiting) waiting(line);
        else this.#lines.push(line);
      }
    });
  }

  next(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  async ask(line: string): Promise<string> {
    this.socket.write(`${line}\n`);
    return this.next();
  }
}

describe('Voyant 2035 emulator server', () => {
  let endpoint: FakeEndpoint;
  let server: ProtocolServer;
  let client: RawClient;

  beforeEach(async () => {
    endpoint = new FakeEndpoint({
      model: 'fake-2035',
      username: 'tsp',
      password: 'pw',
      reply: (command) => {
        if (command.op === 'endConference') throw new BridgeError('BRIDGE_ERR_CONF_NOT_FOUND', command.bridgeConfId);
        return undefined;
      },
    });
    server = await startVoyant2035Server(endpoint, { host: '127.0.0.1', port: 0 });
    client = new RawClient(server.ports['voyant2035'] ?? 0);
  });

  afterEach(async () => {
    client.socket.destroy();
    await server.close();
  });

  it('refuses commands before login and a wrong password, under the request tag', async () => {
    assert.equal(await client.ask('1 CONF.END conf=C1'), '1 NO REFUSED text=not%20logged%20in');
    assert.equal(await client.ask('2 LOGIN user=tsp pass=nope'), '2 NO REFUSED text=wrong%20user%20or%20password');
    assert.equal(endpoint.events.size, 0);
  });

  it('after login runs commands, answers refusals with their reason, and bad lines with SYNTAX', async () => {
    assert.equal(await client.ask('L LOGIN user=tsp pass=pw'), 'L OK model=fake-2035');
    assert.equal(await client.ask('3 CONF.END conf=C7'), '3 NO NOCONF text=C7');
    assert.equal(await client.ask('4 MUTE conf=C1 port=1/1 muted=1'), '4 OK');
    assert.match(await client.ask('5 MUTE conf=C1'), /^5 NO SYNTAX text=field%20missing/);
    assert.equal(await client.ask('6 LOGIN user=tsp pass=pw'), '6 NO REFUSED text=already%20logged%20in');
  });

  it('streams events and heartbeats once logged in, leaves out what the 2035 cannot carry, and lets go on close', async () => {
    await client.ask('L LOGIN user=tsp pass=pw');
    for (const hb of endpoint.heartbeats) hb({ at: 9, ports: { total: 1344, inUse: 0, reserved: 0 } });
    assert.equal(await client.next(), '* HB at=9 total=1344 used=0 reserved=0');
    for (const send of endpoint.events) {
      send({ seq: 4, event: { type: 'passthrough', bridgeConfId: 'C1', data: 'x' } });
      send({ seq: 5, event: { type: 'conferenceChanged', bridgeConfId: 'C1', state: 'ended' } });
    }
    assert.equal(await client.next(), '* EVT 5 CONF conf=C1 state=ended');
    client.socket.destroy();
    await endpoint.released;
    assert.equal(endpoint.events.size, 0);
    assert.equal(endpoint.heartbeats.size, 0);
  });

  it("the endpoint's drop cuts every connection", async () => {
    await client.ask('L LOGIN user=tsp pass=pw');
    for (const drop of endpoint.drops) drop();
    await client.closed;
    assert.equal(endpoint.events.size, 0);
  });
});
