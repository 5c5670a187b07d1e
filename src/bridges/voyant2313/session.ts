/**
 * One Voyant 2313 session as the link layer sees it (link/session.ts): two TCP connections that
 * live and die together. Opening logs in on the request connection, then registers the
 * notification connection with the session id it got. Afterwards replies come on the first,
 * events and heartbeats on the second, and every decoded message goes to the link's sink; the
 * loss of either connection is the loss of the session, so the link drops both and reconnects.
 */
import type { BridgeCommand, DriverConfig } from '../driver.js';
import { BridgeError } from '../errors.js';
import type { LinkSink, LinkSession } from '../link/session.js';
import { LinkSocket } from '../link/tcp-socket.js';
import {
  CodecError, decodeServerMessage, encodeClientMessage, type ClientMessage, type ServerMessage,
} from './codec.js';
import { Framer } from './framer.js';

/** Where and as whom to open a session: the driver config with the notification port required. */
export type Voyant2313Target = Pick<DriverConfig, 'host' | 'port' | 'username' | 'password'> & { notifyPort: number };

/** A successful reply before the link matches it to its command (driver.ts `decodeReply`). */
export type Voyant2313Reply = Extract<ServerMessage, { kind: 'reply' }>;

/** The link numbers its requests with digits, so this id can never answer one of them. */
const LOGIN_REQUEST_ID = 'login';

type SessionResult = Extract<ServerMessage, { kind: 'loginResult' | 'registerResult' }>;

interface Waiter {
  kind: SessionResult['kind'];
  resolve(message: SessionResult): void;
  reject(error: Error): void;
}

export class Voyant2313Session implements LinkSession {
  readonly #sink: LinkSink<Voyant2313Reply>;
  #request: LinkSocket | undefined;
  #notify: LinkSocket | undefined;
  /** While opening, losses reject the pending login or registration; once open they go to the sink. */
  #state: { at: 'opening'; waiter?: Waiter; lost?: Error } | { at: 'open' } | { at: 'ended' } = { at: 'opening' };

  private constructor(sink: LinkSink<Voyant2313Reply>) {
    this.#sink = sink;
  }

  /** Connects both halves and logs in; on any failure nothing is left open. */
  static async open(target: Voyant2313Target, sink: LinkSink<Voyant2313Reply>, signal: AbortSignal): Promise<Voyant2313Session> {
    const session = new Voyant2313Session(sink);
    try {
      await session.#open(target, signal);
    } catch (err) {
      session.destroy();
      throw err;
    }
    return session;
  }

  async #open(target: Voyant2313Target, signal: AbortSignal): Promise<void> {
    this.#request = await LinkSocket.connect(target.host, target.port, signal, this.#handlers('request'));
    const login = await this.#exchange(this.#request, 'loginResult', signal, {
      kind: 'login', reqId: LOGIN_REQUEST_ID, username: target.username, password: target.password,
    });
    if (!login.ok) throw new BridgeError('BRIDGE_ERR_REFUSED', `login refused${login.detail ? `: ${login.detail}` : ''}`);
    this.#notify = await LinkSocket.connect(target.host, target.notifyPort, signal, this.#handlers('notification'));
    const registration = await this.#exchange(this.#notify, 'registerResult', signal, { kind: 'register', sessionId: login.sessionId });
    if (!registration.ok) {
      throw new BridgeError('BRIDGE_ERR_REFUSED', `notification connection refused${registration.detail ? `: ${registration.detail}` : ''}`);
    }
  }

  send(id: string, command: BridgeCommand): void {
    if (!this.#request) throw new BridgeError('BRIDGE_ERR_LINK_DOWN', 'no request connection');
    let frame: Buffer;
    try {
      frame = encodeClientMessage({ kind: 'command', reqId: id, command });
    } catch (err) {
      throw new BridgeError('BRIDGE_ERR_INVALID', (err as Error).message, { cause: err });
    }
    this.#request.write(frame);
  }

  destroy(): void {
    const state = this.#state;
    this.#state = { at: 'ended' };
    if (state.at === 'opening') state.waiter?.reject(new BridgeError('BRIDGE_ERR_LINK_DOWN', 'session destroyed while opening'));
    this.#request?.destroy();
    this.#notify?.destroy();
  }

  /** Writes a login or registration and waits for its result, the connection's loss or the abort. */
  #exchange<K extends SessionResult['kind']>(
    socket: LinkSocket, kind: K, signal: AbortSignal, message: ClientMessage,
  ): Promise<Extract<SessionResult, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const state = this.#state;
      if (state.at !== 'opening') {
        reject(new BridgeError('BRIDGE_ERR_LINK_DOWN', 'session ended while opening'));
        return;
      }
      if (state.lost) {
        reject(state.lost);
        return;
      }
      const onAbort = (): void => fail(signal.reason instanceof Error ? signal.reason : new Error(`${kind} aborted`));
      const settle = (): void => {
        signal.removeEventListener('abort', onAbort);
        if (this.#state.at === 'opening') this.#state.waiter = undefined;
      };
      const fail = (error: Error): void => {
        settle();
        reject(error);
      };
      state.waiter = {
        kind,
        resolve: (result) => {
          settle();
          resolve(result as Extract<SessionResult, { kind: K }>);
        },
        reject: fail,
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      else socket.write(encodeClientMessage(message));
    });
  }

  #handlers(connection: 'request' | 'notification'): { data(chunk: Buffer): void; lost(error: Error): void } {
    const framer = new Framer();
    return {
      data: (chunk) => {
        for (const out of framer.push(chunk)) {
          if (this.#state.at === 'ended') return;
          if (out.type === 'malformed') {
            this.#sink.frame({ kind: 'malformed', raw: out.raw.toString('hex'), reason: `${connection} connection: ${out.reason}` });
          } else {
            this.#onPayload(connection, out.payload);
          }
        }
      },
      lost: (error) => {
        const lost = new BridgeError('BRIDGE_ERR_LINK_DOWN', `${connection} connection lost: ${error.message}`, { cause: error });
        const state = this.#state;
        if (state.at === 'open') {
          this.#sink.lost(lost);
        } else if (state.at === 'opening') {
          state.lost = lost;
          state.waiter?.reject(lost);
        }
      },
    };
  }

  #onPayload(connection: 'request' | 'notification', payload: Buffer): void {
    let message: ServerMessage;
    try {
      message = decodeServerMessage(payload);
    } catch (err) {
      // Whatever the decoder threw, one bad frame from the bridge never ends the loop.
      const reason = err instanceof CodecError ? err.message : `decoder failed: ${String(err)}`;
      this.#sink.frame({ kind: 'malformed', raw: payload.toString('utf8'), reason: `${connection} connection: ${reason}` });
      return;
    }
    switch (message.kind) {
      case 'loginResult':
      case 'registerResult': {
        const state = this.#state;
        if (state.at !== 'opening' || state.waiter?.kind !== message.kind) {
          this.#sink.frame({ kind: 'malformed', raw: payload.toString('utf8'), reason: `unexpected ${message.kind}` });
          return;
        }
        // Open before the next frame of the same chunk (often the first event) is looked at.
        const waiter = state.waiter;
        if (message.kind === 'registerResult' && message.ok) this.#state = { at: 'open' };
        waiter.resolve(message);
        return;
      }
      case 'reply':
        this.#sink.frame({ kind: 'reply', id: message.reqId, outcome: { ok: true, payload: message } });
        return;
      case 'failure':
        this.#sink.frame({
          kind: 'reply', id: message.reqId,
          outcome: { ok: false, error: new BridgeError(message.code, message.detail) },
        });
        return;
      case 'event':
        this.#sink.frame({ kind: 'event', seq: message.seq, event: message.event });
        return;
      case 'heartbeat':
        this.#sink.frame({ kind: 'heartbeat', at: message.at, ports: message.ports });
    }
  }
}
