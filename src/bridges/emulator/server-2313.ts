/**
 * The emulator's Voyant 2313 face: the CAPI-style protocol of docs/voyant2313-protocol.md on two
 * listening ports over the shared bridge model.
 *
 * Request port: LOGIN opens a session; commands go to the endpoint and their replies come back
 * under the request id, in completion order. Notification port: NOTIFY_REGISTER with the id of a
 * live session, then events and heartbeats flow until the session ends. A session ends when
 * either of its connections closes: the other is closed too, as a real bridge drops a session
 * whose half it lost. Encoding is the driver's own codec, used the other way round, and no fault
 * logic lives here: the endpoint applies it (endpoint.ts).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { BridgeCommand } from '../driver.js';
import { isBridgeError, type BridgeErrorCode } from '../errors.js';
import {
  CodecError, decodeClientMessage, encodeServerMessage, requestIdOf, type ClientMessage, type ServerMessage,
} from '../voyant2313/codec.js';
import { Framer } from '../voyant2313/framer.js';
import type { EmulatorEndpoint, ProtocolServer } from './endpoint.js';
import { closeServer, listen } from './listen.js';

export interface Voyant2313ServerOptions {
  host: string;
  /** 0 picks a free port; the bound one is in `ports.voyant2313Request`. */
  requestPort: number;
  notifyPort: number;
}

const SESSION_ID_BYTES = 12;

/** One logged-in request connection and, once registered, its notification connection. */
class Session {
  readonly id = randomBytes(SESSION_ID_BYTES).toString('hex');
  readonly #request: net.Socket;
  readonly #onEnd: (session: Session) => void;
  #state:
    | { at: 'logged-in' }
    | { at: 'registered'; notify: net.Socket; unsubscribe: (() => void)[] }
    | { at: 'ended' } = { at: 'logged-in' };

  constructor(request: net.Socket, onEnd: (session: Session) => void) {
    this.#request = request;
    this.#onEnd = onEnd;
  }

  get awaitingRegistration(): boolean {
    return this.#state.at === 'logged-in';
  }

  /** Starts the event and heartbeat flow on `notify`. */
  register(notify: net.Socket, endpoint: EmulatorEndpoint): void {
    notify.on('close', () => this.end());
    send(notify, { kind: 'registerResult', ok: true });
    this.#state = {
      at: 'registered',
      notify,
      unsubscribe: [
        // An event the codec cannot carry is lost like a dropped packet; the driver skips the gap.
        endpoint.subscribe(({ seq, event }) => send(notify, { kind: 'event', seq, event })),
        endpoint.onHeartbeat(({ at, ports }) => send(notify, { kind: 'heartbeat', at, ports })),
      ],
    };
  }

  /** Idempotent: whichever half goes first takes the other with it. */
  end(): void {
    const state = this.#state;
    if (state.at === 'ended') return;
    this.#state = { at: 'ended' };
    this.#request.destroy();
    if (state.at === 'registered') {
      for (const unsubscribe of state.unsubscribe) unsubscribe();
      state.notify.destroy();
    }
    this.#onEnd(this);
  }
}

/** Writes one message; false when the codec cannot carry it (e.g. a control character in a name). */
function send(socket: net.Socket, message: ServerMessage): boolean {
  let frame: Buffer;
  try {
    frame = encodeServerMessage(message);
  } catch (err) {
    if (err instanceof CodecError) return false;
    throw err;
  }
  if (!socket.destroyed && socket.writable) socket.write(frame);
  return true;
}

class Voyant2313Server implements ProtocolServer {
  readonly ports: Record<string, number> = {};
  readonly #endpoint: EmulatorEndpoint;
  readonly #sessions = new Map<string, Session>();
  readonly #sockets = new Set<net.Socket>();
  readonly #request = net.createServer((socket) => this.#acceptRequest(socket));
  readonly #notify = net.createServer((socket) => this.#acceptNotify(socket));
  #stopDrops: () => void = () => {};
  #state: 'listening' | 'closed' = 'listening';

  constructor(endpoint: EmulatorEndpoint) {
    this.#endpoint = endpoint;
  }

  async listen(options: Voyant2313ServerOptions): Promise<void> {
    this.ports['voyant2313Request'] = await listen(this.#request, options.host, options.requestPort);
    this.ports['voyant2313Notify'] = await listen(this.#notify, options.host, options.notifyPort);
    this.#stopDrops = this.#endpoint.onDrop(() => this.#dropAll());
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stopDrops();
    this.#dropAll();
    await Promise.all([closeServer(this.#request), closeServer(this.#notify)]);
  }

  #dropAll(): void {
    for (const session of [...this.#sessions.values()]) session.end();
    for (const socket of this.#sockets) socket.destroy();
  }

  #track(socket: net.Socket, onFrame: (payload: Buffer) => void): void {
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    // A client that vanishes mid-write is its own problem; the server carries on.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.#sockets.delete(socket));
    const framer = new Framer();
    socket.on('data', (chunk: Buffer) => {
      for (const out of framer.push(chunk)) {
        if (out.type === 'frame' && !socket.destroyed) onFrame(out.payload);
      }
    });
  }

  #acceptRequest(socket: net.Socket): void {
    let session: Session | undefined;
    socket.on('close', () => session?.end());
    this.#track(socket, (payload) => {
      const message = decodeOrAnswer(socket, payload);
      if (!message) return;
      switch (message.kind) {
        case 'login':
          if (session) {
            send(socket, { kind: 'loginResult', reqId: message.reqId, ok: false, detail: 'already logged in' });
          } else if (this.#endpoint.checkLogin(message.username, message.password)) {
            session = new Session(socket, (s) => this.#sessions.delete(s.id));
            this.#sessions.set(session.id, session);
            send(socket, { kind: 'loginResult', reqId: message.reqId, ok: true, sessionId: session.id, model: this.#endpoint.model });
          } else {
            send(socket, { kind: 'loginResult', reqId: message.reqId, ok: false, detail: 'wrong user or password' });
          }
          return;
        case 'command':
          if (!session) {
            const { reqId, command } = message;
            send(socket, { kind: 'failure', reqId, op: command.op, code: 'BRIDGE_ERR_PROTOCOL', detail: 'not logged in' });
            return;
          }
          this.#execute(socket, message.reqId, message.command);
          return;
        case 'register':
          // Registration belongs on the notification port; a client that confuses them is broken.
          socket.destroy();
      }
    });
  }

  #execute(socket: net.Socket, reqId: string, command: BridgeCommand): void {
    // Through a promise even if execute throws synchronously: a bad command never stops the server.
    const fail = (code: BridgeErrorCode, detail: string): void => {
      send(socket, { kind: 'failure', reqId, op: command.op, code, detail });
    };
    Promise.resolve().then(() => this.#endpoint.execute(command)).then(
      (reply) => {
        if (!send(socket, { kind: 'reply', reqId, op: command.op, reply } as ServerMessage)) {
          fail('BRIDGE_ERR_REFUSED', 'the reply holds characters the protocol cannot carry');
        }
      },
      (err: unknown) => fail(isBridgeError(err) ? err.code : 'BRIDGE_ERR_REFUSED', err instanceof Error ? err.message : String(err)),
    );
  }

  #acceptNotify(socket: net.Socket): void {
    let registered = false;
    this.#track(socket, (payload) => {
      if (registered) return; // The notification connection carries nothing more from the client.
      const message = decodeOrAnswer(socket, payload);
      const session = message?.kind === 'register' ? this.#sessions.get(message.sessionId) : undefined;
      if (!session?.awaitingRegistration) {
        send(socket, { kind: 'registerResult', ok: false, detail: 'no such session, or it already has a notification connection' });
        socket.end();
        return;
      }
      registered = true;
      session.register(socket, this.#endpoint);
    });
  }
}

/** Decodes a client frame; an undecodable request with a readable id is answered BAD_REQUEST. */
function decodeOrAnswer(socket: net.Socket, payload: Buffer): ClientMessage | undefined {
  try {
    return decodeClientMessage(payload);
  } catch (err) {
    // Whatever the decoder threw, a client's bad frame never stops the server.
    const detail = err instanceof CodecError ? err.message : `decoder failed: ${String(err)}`;
    const reqId = requestIdOf(payload);
    if (reqId !== undefined) send(socket, { kind: 'failure', reqId, code: 'BRIDGE_ERR_PROTOCOL', detail });
    return undefined;
  }
}

export async function startVoyant2313Server(
  endpoint: EmulatorEndpoint,
  options: Voyant2313ServerOptions,
): Promise<ProtocolServer> {
  const server = new Voyant2313Server(endpoint);
  try {
    await server.listen(options);
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}
