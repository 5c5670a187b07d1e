/**
 * A minimal wire format (one JSON object per line) and a scripted fake peer, for testing the
 * link layer on its own over real TCP: the driver is a thin LinkedDriver subclass, the peer a
 * tiny server whose every reply, event and heartbeat the test writes by hand.
 */
import net from 'node:net';
import pino from 'pino';
import type { BridgeCapabilities, BridgeCommand, DriverConfig, ReplyOf } from '../../../src/bridges/driver.js';
import { BridgeError } from '../../../src/bridges/errors.js';
import { LinkedDriver, type LinkOptions } from '../../../src/bridges/link/linked-driver.js';
import type { LinkSession, LinkSink } from '../../../src/bridges/link/session.js';
import { LinkSocket } from '../../../src/bridges/link/tcp-socket.js';

export const JSON_CAPABILITIES: BridgeCapabilities = {
  model: 'json-test',
  subConferences: true,
  maxSubConferences: 3,
  dialOut: true,
  dialOutConfirm: true,
  muteAllException: true,
  muteNewCallers: true,
  talkingEvents: true,
  tones: true,
  passthrough: false,
};

export class JsonLineDriver extends LinkedDriver<unknown> {
  readonly capabilities = JSON_CAPABILITIES;

  constructor(config: DriverConfig, options?: LinkOptions) {
    super(config, { logger: pino({ level: 'silent' }) }, options);
  }

  protected override async openSession(sink: LinkSink<unknown>, signal: AbortSignal): Promise<LinkSession> {
    let rest = '';
    const socket = await LinkSocket.connect(this.config.host, this.config.port, signal, {
      data: (chunk) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          try {
            const m = JSON.parse(line) as Record<string, unknown>;
            if (m.t === 'reply') sink.frame({ kind: 'reply', id: String(m.id), outcome: m.error ? { ok: false, error: new BridgeError(m.error as 'BRIDGE_ERR_REFUSED') } : { ok: true, payload: m.value } });
            else if (m.t === 'event') sink.frame({ kind: 'event', seq: Number(m.seq), event: m.event as never });
            else if (m.t === 'hb') sink.frame({ kind: 'heartbeat', at: Number(m.at) });
            else throw new Error('unknown type');
          } catch (err) {
            sink.frame({ kind: 'malformed', raw: line, reason: String(err) });
          }
        }
      },
      lost: (error) => sink.lost(error),
    });
    return {
      send: (id: string, command: BridgeCommand) => socket.write(`${JSON.stringify({ id, command })}\n`),
      destroy: () => socket.destroy(),
    };
  }

  protected override decodeReply<C extends BridgeCommand>(command: C, payload: unknown): ReplyOf<C> {
    if (command.op === 'createConference' && typeof (payload as { bridgeConfId?: unknown })?.bridgeConfId !== 'string') {
      throw new Error('createConference reply without bridgeConfId');
    }
    return payload as ReplyOf<C>;
  }
}

export interface PeerRequest {
  id: string;
  command: BridgeCommand;
  conn: PeerConnection;
}

export class PeerConnection {
  constructor(readonly socket: net.Socket) {}
  send(message: object): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }
  raw(text: string): void {
    this.socket.write(text);
  }
  reply(id: string, value?: unknown): void {
    this.send({ t: 'reply', id, value });
  }
  event(seq: number, event: object): void {
    this.send({ t: 'event', seq, event });
  }
  heartbeat(): void {
    this.send({ t: 'hb', at: Date.now() });
  }
}

/**
 * Answers `snapshot` with `snapshotSeq` by default; every other request goes to `requests`
 * for the test to answer (or not).
 */
export class FakePeer {
  readonly server = net.createServer((socket) => this.#accept(socket));
  readonly connections: PeerConnection[] = [];
  snapshotSeq = 0;
  /** When false, snapshot requests go to `requests` like any other. */
  autoSnapshot = true;
  #requestWaiters: ((r: PeerRequest) => void)[] = [];
  #queued: PeerRequest[] = [];
  #connWaiters: { n: number; resolve: (c: PeerConnection) => void }[] = [];

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  nextRequest(): Promise<PeerRequest> {
    const queued = this.#queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.#requestWaiters.push(resolve));
  }

  /** Resolves with connection number `n` (1-based) once it was accepted. */
  connection(n: number): Promise<PeerConnection> {
    const existing = this.connections[n - 1];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.#connWaiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    const conn = new PeerConnection(socket);
    this.connections.push(conn);
    socket.on('error', () => undefined);
    const ready = this.#connWaiters.filter((w) => w.n === this.connections.length);
    this.#connWaiters = this.#connWaiters.filter((w) => w.n !== this.connections.length);
    for (const waiter of ready) waiter.resolve(conn);
    let rest = '';
    socket.on('data', (chunk) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const { id, command } = JSON.parse(line) as { id: string; command: BridgeCommand };
        if (command.op === 'snapshot' && this.autoSnapshot) {
          conn.reply(id, { takenAt: Date.now(), eventSeq: this.snapshotSeq, ports: { total: 1344, inUse: 0, reserved: 0 }, conferences: [] });
          continue;
        }
        const request = { id, command, conn };
        const waiter = this.#requestWaiters.shift();
        if (waiter) waiter(request);
        else this.#queued.push(request);
      }
    });
  }
}

export function linkConfig(port: number, overrides: Partial<DriverConfig> = {}): DriverConfig {
  return {
    id: 'bridge-test',
    driver: 'json-test',
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    heartbeatIntervalMs: 1_000,
    missedHeartbeats: 3,
    commandTimeoutMs: 1_000,
    reconnectInitialDelayMs: 10,
    reconnectMaxDelayMs: 40,
    ...overrides,
  };
}
