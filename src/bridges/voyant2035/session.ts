/**
 * One Voyant 2035 session as the link layer sees it (link/session.ts): a single TCP connection,
 * logged in with a tagged LOGIN, then carrying tagged requests one way and replies, events and
 * heartbeats the other. Lines go through the capped framer and the codec; `+` records are
 * gathered under their tag until the tag's OK or NO closes the reply.
 */
import type { BridgeCommand, DriverConfig } from '../driver.js';
import { BridgeError } from '../errors.js';
import type { LinkSession, LinkSink } from '../link/session.js';
import { LinkSocket } from '../link/tcp-socket.js';
import { decodeBridgeLine, encodeLogin, encodeRequest, type BridgeLine, type Voyant2035Reply } from './codec.js';
import { LineFramer } from './framer.js';

/** Letters, so the login's tag can never be one of the link's numeric correlation ids. */
const LOGIN_TAG = 'LOGIN';
/** Records gathered for one multi-line reply at most; a snapshot of a full 1344-port chassis fits. */
const MAX_REPLY_RECORDS = 20_000;
/** The start of a `+` record line, readable even when the rest of the line is not. */
const RECORD_LINE_TAG = /^([A-Za-z0-9]{1,16}) \+ /;

/** A multi-line reply being gathered; one unreadable record spoils it (a partial snapshot must not pass). */
interface Gathering {
  records: Voyant2035Reply['records'];
  spoiled: boolean;
}

type SessionState =
  | { at: 'login'; settle: (error: Error | undefined) => void }
  | { at: 'open' }
  | { at: 'ended' };

export class Voyant2035Session implements LinkSession {
  readonly #sink: LinkSink<Voyant2035Reply>;
  readonly #replies = new Map<string, Gathering>();
  readonly #framer: LineFramer;
  #socket: LinkSocket | undefined;
  #state: SessionState = { at: 'ended' };

  private constructor(sink: LinkSink<Voyant2035Reply>) {
    this.#sink = sink;
    this.#framer = new LineFramer({
      line: (text) => this.#onLine(text),
      overflow: (sample) => this.#malformed(sample, 'line too long'),
    });
  }

  /** Connects and logs in; on any failure the socket is destroyed. */
  static async open(config: DriverConfig, sink: LinkSink<Voyant2035Reply>, signal: AbortSignal): Promise<Voyant2035Session> {
    const session = new Voyant2035Session(sink);
    const loggedIn = new Promise<Error | undefined>((resolve) => (session.#state = { at: 'login', settle: resolve }));
    const onAbort = (): void => session.#endLogin(signal.reason instanceof Error ? signal.reason : new Error('login aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      session.#socket = await LinkSocket.connect(config.host, config.port, signal, {
        data: (chunk) => session.#framer.push(chunk),
        lost: (error) => session.#onLost(error),
      });
      session.#socket.write(encodeLogin(LOGIN_TAG, config.username, config.password));
      const failure = await loggedIn;
      if (failure) throw failure;
      return session;
    } catch (err) {
      session.destroy();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  send(id: string, command: BridgeCommand): void {
    if (this.#state.at !== 'open' || !this.#socket) throw new BridgeError('BRIDGE_ERR_LINK_DOWN', 'session not open');
    this.#socket.write(encodeRequest(id, command));
  }

  destroy(): void {
    this.#endLogin(new BridgeError('BRIDGE_ERR_LINK_DOWN', 'session destroyed while logging in'));
    this.#state = { at: 'ended' };
    this.#socket?.destroy();
  }

  #endLogin(error: Error | undefined): void {
    const state = this.#state;
    if (state.at !== 'login') return;
    this.#state = error ? { at: 'ended' } : { at: 'open' };
    state.settle(error);
  }

  #onLost(error: Error): void {
    if (this.#state.at === 'login') this.#endLogin(error);
    else if (this.#state.at === 'open') {
      this.#state = { at: 'ended' };
      this.#sink.lost(error);
    }
  }

  #onLine(text: string): void {
    let line: BridgeLine;
    try {
      line = decodeBridgeLine(text);
    } catch (err) {
      this.#malformed(text, err instanceof Error ? err.message : String(err));
      return;
    }
    if (this.#state.at === 'login') {
      this.#onLoginLine(line, text);
      return;
    }
    if (this.#state.at === 'open') this.#deliver(line);
  }

  #onLoginLine(line: BridgeLine, text: string): void {
    if ((line.kind === 'ok' || line.kind === 'no') && line.tag === LOGIN_TAG) {
      this.#endLogin(line.kind === 'ok' ? undefined : new BridgeError(line.error.code, `login refused: ${line.error.message}`));
    } else {
      this.#sink.frame({ kind: 'malformed', raw: text, reason: 'line before login completed' });
    }
  }

  #malformed(raw: string, reason: string): void {
    const tag = RECORD_LINE_TAG.exec(raw)?.[1];
    if (tag !== undefined) this.#gathering(tag).spoiled = true;
    this.#sink.frame({ kind: 'malformed', raw, reason });
  }

  #gathering(tag: string): Gathering {
    let gathering = this.#replies.get(tag);
    if (!gathering) this.#replies.set(tag, (gathering = { records: [], spoiled: false }));
    return gathering;
  }

  #deliver(line: BridgeLine): void {
    switch (line.kind) {
      case 'data': {
        const gathering = this.#gathering(line.tag);
        if (gathering.records.length >= MAX_REPLY_RECORDS) {
          this.#malformed(`${line.tag} + ${line.record}`, 'reply has too many records');
          return;
        }
        gathering.records.push({ record: line.record, fields: line.fields });
        return;
      }
      case 'ok': {
        const gathering = this.#replies.get(line.tag);
        this.#replies.delete(line.tag);
        const outcome = gathering?.spoiled
          ? { ok: false as const, error: new BridgeError('BRIDGE_ERR_PROTOCOL', 'a record of this reply could not be read') }
          : { ok: true as const, payload: { fields: line.fields, records: gathering?.records ?? [] } };
        this.#sink.frame({ kind: 'reply', id: line.tag, outcome });
        return;
      }
      case 'no':
        this.#replies.delete(line.tag);
        this.#sink.frame({ kind: 'reply', id: line.tag, outcome: { ok: false, error: line.error } });
        return;
      case 'event':
        this.#sink.frame({ kind: 'event', seq: line.seq, event: line.event });
        return;
      case 'heartbeat':
        this.#sink.frame({ kind: 'heartbeat', at: line.at, ports: line.ports });
    }
  }
}
