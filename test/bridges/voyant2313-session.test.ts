/**
 * The 2313 driver against a scripted bridge that writes exactly the frames a test asks for:
 * the session edge cases a well-behaved emulator never produces.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pino from 'pino';
import type { BridgeCommand, BridgeEvent, DriverEvents } from '../../src/bridges/driver.js';
import { isBridgeError } from '../../src/bridges/errors.js';
import {
  decodeClientMessage, encodeServerMessage, type ClientMessage, type ServerMessage,
} from '../../src/bridges/voyant2313/codec.js';
import { Voyant2313Driver } from '../../src/bridges/voyant2313/driver.js';
import { Framer } from '../../src/bridges/voyant2313/framer.js';
import { nextEvent } from '../../src/common/typed-emitter.js';

const EMPTY_SNAPSHOT = { takenAt: 1, eventSeq: 0, ports: { total: 1344, inUse: 0, reserved: 0 }, conferences: [] };
const STARTED: BridgeEvent = { type: 'conferenceChanged', bridgeConfId: 'C1', state: 'started' };

/** Answers login and registration itself; every command goes to `onCommand`, which writes what it likes. */
class ScriptedBridge {
  readonly #request = net.createServer((s) => this.#serve(s, 'request'));
  readonly #notify = net.createServer((s) => this.#serve(s, 'notify'));
  readonly #sockets = new Set<net.Socket>();
  notifySocket: net.Socket | undefined;
  /** Frames written right after NOTIFY_REGISTER_RESP, in the same write. */
  afterRegister: ServerMessage[] = [];
  onCommand: (reqId: string, command: BridgeCommand, write: (...m: ServerMessage[]) => void) => void = (reqId, command, write) => {
    if (command.op === 'snapshot') write({ kind: 'reply', reqId, op: 'snapshot', reply: EMPTY_SNAPSHOT });
  };

  async listen(): Promise<{ port: number; notifyPort: number }> {
    const listen = (server: net.Server): Promise<number> =>
      new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
    return { port: await listen(this.#request), notifyPort: await listen(this.#notify) };
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all([this.#request, this.#notify].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  #serve(socket: net.Socket, which: 'request' | 'notify'): void {
    this.#sockets.add(socket);
    socket.on('error', () => {});
    const write = (...messages: ServerMessage[]): void => {
      socket.write(Buffer.concat(messages.map(encodeServerMessage)));
    };
    const framer = new Framer();
    socket.on('data', (chunk: Buffer) => {
      for (const out of framer.push(chunk)) {
        if (out.type !== 'frame') continue;
        const m: ClientMessage = decodeClientMessage(out.payload);
        if (m.kind === 'login') write({ kind: 'loginResult', reqId: m.reqId, ok: true, sessionId: 'S1', model: 'scripted' });
        else if (m.kind === 'register' && which === 'notify') {
          this.notifySocket = socket;
          write({ kind: 'registerResult', ok: true }, ...this.afterRegister);
        } else if (m.kind === 'command') this.onCommand(m.reqId, m.command, write);
      }
    });
  }
}

describe('Voyant2313Driver against a scripted bridge', () => {
  let bridge: ScriptedBridge;
  let driver: Voyant2313Driver | undefined;

  async function connected(): Promise<Voyant2313Driver> {
    const ports = await bridge.listen();
    driver = new Voyant2313Driver({
      id: 'scripted', driver: 'voyant2313', host: '127.0.0.1', ...ports, username: 'u', password: 'p',
      heartbeatIntervalMs: 10_000, missedHeartbeats: 3, commandTimeoutMs: 2_000, reconnectInitialDelayMs: 5, reconnectMaxDelayMs: 50,
    }, { logger: pino({ level: 'silent' }) });
    return driver;
  }

  beforeEach(() => {
    bridge = new ScriptedBridge();
  });

  afterEach(async () => {
    await driver?.close();
    driver = undefined;
    await bridge.close();
  });

  it('an event in the same chunk as the registration result is not lost', async () => {
    bridge.afterRegister = [{ kind: 'event', seq: 1, event: STARTED }];
    const d = await connected();
    const delivered = nextEvent<DriverEvents, 'event'>(d, 'event');
    await d.connect();
    assert.deepEqual((await delivered)[0], STARTED);
  });

  it('a response naming another command fails that command as a protocol error', async () => {
    bridge.onCommand = (reqId, command, write) => {
      if (command.op === 'snapshot') write({ kind: 'reply', reqId, op: 'snapshot', reply: EMPTY_SNAPSHOT });
      else write({ kind: 'reply', reqId, op: 'createConference', reply: { bridgeConfId: 'C9' } });
    };
    const d = await connected();
    await d.connect();
    await assert.rejects(d.execute({ op: 'endConference', bridgeConfId: 'C1' }), (e) => isBridgeError(e, 'BRIDGE_ERR_PROTOCOL'));
    assert.equal(d.status.state, 'up');
  });

  it('ERROR_RESP fails the command with BRIDGE_ERR_PROTOCOL and its detail', async () => {
    bridge.onCommand = (reqId, command, write) => {
      if (command.op === 'snapshot') write({ kind: 'reply', reqId, op: 'snapshot', reply: EMPTY_SNAPSHOT });
      else write({ kind: 'failure', reqId, code: 'BRIDGE_ERR_PROTOCOL', detail: 'cannot parse' });
    };
    const d = await connected();
    await d.connect();
    await assert.rejects(
      d.execute({ op: 'expel', bridgeConfId: 'C1', port: '1/1' }),
      (e) => isBridgeError(e, 'BRIDGE_ERR_PROTOCOL') && e.message.includes('cannot parse'),
    );
  });

  it('a reply to no pending request is counted and dropped', async () => {
    bridge.onCommand = (reqId, command, write) => {
      if (command.op !== 'snapshot') return;
      write({ kind: 'reply', reqId: '999', op: 'mute', reply: undefined }, { kind: 'reply', reqId, op: 'snapshot', reply: EMPTY_SNAPSHOT });
    };
    const d = await connected();
    await d.connect();
    assert.equal(d.health().unknownReplies, 1);
  });

  it('a second registration result after the session is open is malformed, not fatal', async () => {
    const d = await connected();
    await d.connect();
    const heartbeat = nextEvent<DriverEvents, 'heartbeat'>(d, 'heartbeat');
    bridge.notifySocket?.write(Buffer.concat([
      encodeServerMessage({ kind: 'registerResult', ok: true }),
      encodeServerMessage({ kind: 'heartbeat', at: 5, ports: EMPTY_SNAPSHOT.ports }),
    ]));
    await heartbeat;
    assert.equal(d.health().malformedFrames, 1);
    assert.equal(d.status.state, 'up');
  });
});
