/**
 * The emulator's Voyant 2035 face: the line protocol of docs/voyant2035-protocol.md on one
 * listening port over the shared bridge model. Per connection: a tagged LOGIN, then commands
 * go to the endpoint and their replies come back under their tags in completion order, while
 * events and heartbeats stream as untagged lines. Encoding is the driver's own codec used the
 * other way round; fault logic lives in the endpoint (endpoint.ts), not here.
 */
import net from 'node:net';
import type { BridgeCommand } from '../driver.js';
import { BridgeError } from '../errors.js';
import {
  decodeClientLine, encodeEvent, encodeFailure, encodeHeartbeat, encodeLoginOk, encodeReply,
} from '../voyant2035/codec.js';
import { LineFramer } from '../voyant2035/framer.js';
import type { EmulatorEndpoint, ProtocolServer } from './endpoint.js';
import { closeServer, listen } from './listen.js';

export interface Voyant2035ServerOptions {
  host: string;
  /** 0 picks a free port; the bound one is in `ports.voyant2035`. */
  port: number;
}

/** One client connection: logged out until a good LOGIN, then subscribed until it closes. */
class Connection {
  readonly #socket: net.Socket;
  readonly #endpoint: EmulatorEndpoint;
  #state: { at: 'login' } | { at: 'open'; unsubscribe: (() => void)[] } | { at: 'ended' } = { at: 'login' };

  constructor(socket: net.Socket, endpoint: EmulatorEndpoint) {
    this.#socket = socket;
    this.#endpoint = endpoint;
    const framer = new LineFramer({
      line: (text) => this.#onLine(text),
      // An over-long line has no readable tag to answer under; the bridge ignores it.
      overflow: () => undefined,
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    // A client that vanishes mid-write is its own problem; the server carries on.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.end());
  }

  end(): void {
    const state = this.#state;
    this.#state = { at: 'ended' };
    if (state.at === 'open') for (const unsubscribe of state.unsubscribe) unsubscribe();
    this.#socket.destroy();
  }

  #write(text: string): void {
    if (this.#state.at !== 'ended' && this.#socket.writable) this.#socket.write(text);
  }

  #onLine(text: string): void {
    let line: ReturnType<typeof decodeClientLine>;
    try {
      line = decodeClientLine(text);
    } catch {
      return; // No tag to answer under.
    }
    const state = this.#state;
    if (state.at === 'ended') return;
    if (line.kind === 'bad') {
      this.#write(encodeFailure(line.tag, line.error));
    } else if (line.kind === 'login') {
      this.#login(line.tag, line.username, line.password);
    } else if (state.at === 'login') {
      this.#write(encodeFailure(line.tag, new BridgeError('BRIDGE_ERR_REFUSED', 'not logged in')));
    } else {
      this.#execute(line.tag, line.command);
    }
  }

  #login(tag: string, username: string, password: string): void {
    if (this.#state.at !== 'login') {
      this.#write(encodeFailure(tag, new BridgeError('BRIDGE_ERR_REFUSED', 'already logged in')));
      return;
    }
    if (!this.#endpoint.checkLogin(username, password)) {
      this.#write(encodeFailure(tag, new BridgeError('BRIDGE_ERR_REFUSED', 'wrong user or password')));
      return;
    }
    this.#write(encodeLoginOk(tag, this.#endpoint.model));
    this.#state = {
      at: 'open',
      unsubscribe: [
        this.#endpoint.subscribe(({ seq, event }) => {
          const line = encodeEvent(seq, event);
          if (line) this.#write(line);
        }),
        this.#endpoint.onHeartbeat(({ at, ports }) => this.#write(encodeHeartbeat(at, ports))),
      ],
    };
  }

  #execute(tag: string, command: BridgeCommand): void {
    // Through a promise even if execute throws synchronously: a bad command never stops the server.
    Promise.resolve()
      .then(() => this.#endpoint.execute(command))
      .then(
        (reply) => this.#write(encodeReply(tag, command, reply)),
        (err: unknown) => this.#write(encodeFailure(tag, err)),
      );
  }
}

class Voyant2035Server implements ProtocolServer {
  readonly ports: Record<string, number> = {};
  readonly #endpoint: EmulatorEndpoint;
  readonly #connections = new Set<Connection>();
  readonly #server = net.createServer((socket) => this.#accept(socket));
  #stopDrops: () => void = () => undefined;
  #state: 'listening' | 'closed' = 'listening';

  constructor(endpoint: EmulatorEndpoint) {
    this.#endpoint = endpoint;
  }

  async listen({ host, port }: Voyant2035ServerOptions): Promise<void> {
    this.ports['voyant2035'] = await listen(this.#server, host, port);
    this.#stopDrops = this.#endpoint.onDrop(() => this.#dropAll());
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stopDrops();
    this.#dropAll();
    await closeServer(this.#server);
  }

  #dropAll(): void {
    for (const connection of [...this.#connections]) connection.end();
  }

  #accept(socket: net.Socket): void {
    const connection = new Connection(socket, this.#endpoint);
    this.#connections.add(connection);
    socket.on('close', () => this.#connections.delete(connection));
  }
}

export async function startVoyant2035Server(
  endpoint: EmulatorEndpoint,
  options: Voyant2035ServerOptions,
): Promise<ProtocolServer> {
  const server = new Voyant2035Server(endpoint);
  // A failed listen leaves nothing open: drops are only hooked once the port is bound.
  await server.listen(options);
  return server;
}
