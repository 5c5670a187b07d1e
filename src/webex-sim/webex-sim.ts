/**
 * A WebEx meeting server, as far as the adaptor can tell: a TSP protocol peer for the
 * end-to-end tests, `tsp-adaptor certify` and the benchmarks.
 *
 * It posts W2A transactions to the adaptor over HTTPS (kept-alive connections, its own
 * TransIDs, retries of a transaction under the same TransID), and runs its own HTTPS server
 * receiving the adaptor's A2W posts. It confirms them as told (OK, a chosen Result, an HTTP
 * error, or "down": the connection is dropped unanswered), de-duplicates them by TransID as
 * the spec requires, and answers every `A2W_NotifyUserEnter` with `W2A_RspNotifyUserEnter`,
 * creating the ExtCallID of a caller who dialled in.
 *
 * Everything accepted is recorded in arrival order and emitted as a typed event, so a test
 * waits for the message it expects (`await sim.next('A2W_RspCreateConference', m => ...)`)
 * instead of sleeping.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { HttpPoster, PosterError } from '../adaptor/poster.js';
import { generateSelfSigned, type KeyPair } from '../adaptor/tls.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import {
  CONFIRMATION,
  createCodec,
  type A2WMessage,
  type ConfirmationResult,
  type TspCodec,
  type W2AMessage,
} from '../protocol/index.js';

/** How the simulator answers the adaptor's A2W posts. */
export type ConfirmPolicy =
  | { kind: 'ok' }
  /** A Confirmation with this non-zero Result; the message is not taken. */
  | { kind: 'result'; result: Exclude<ConfirmationResult, 0> }
  /** An HTTP error status, no Confirmation. */
  | { kind: 'http'; status: number; retryAfterS?: number }
  /** The connection is dropped without an answer, as if the server were down. */
  | { kind: 'down' };

export type A2WType = A2WMessage['type'];
export type A2WOf<T extends A2WType> = Extract<A2WMessage, { type: T }>;

/** One A2W message the simulator took (first delivery of its TransID). */
export interface ReceivedA2W<M extends A2WMessage = A2WMessage> {
  /** Arrival order over all messages, from 1. */
  seq: number;
  transId: string;
  message: M;
  /** For A2W_NotifyUserEnter: the ExtCallID the simulator answered with. */
  answeredExtCallID?: string;
  /**
   * For A2W_NotifyUserEnter: settles once the W2A_RspNotifyUserEnter was confirmed (or given
   * up on). Await it before addressing the caller by its ExtCallID.
   */
  answered?: Promise<SendOutcome>;
}

export type WebexSimEvents = {
  message: [ReceivedA2W];
  /** A POST carrying a TransID already taken: answered again, not recorded again. */
  repeat: [{ transId: string }];
  /** Every readable A2W POST as it came, whatever the answer: a retry must repeat it byte for byte. */
  posted: [{ transId: string; messages: A2WMessage[]; body: string }];
  /** A POST the simulator did not take, and why (its policy, or the codec's Result). */
  refused: [{ transId?: string; result?: number; status?: number; reason: string }];
  /** A W2A_RspNotifyUserEnter could not be delivered even after retries. */
  error: [Error];
};

export interface SendOutcome {
  transId: string;
  /** The Confirmation Result, or undefined when no Confirmation came back. */
  result: ConfirmationResult | undefined;
  reason?: string;
  /** Attempts made, including the first. */
  attempts: number;
}

export interface SendOptions {
  /** Defaults to a new TransID; pass one to repeat a transaction. */
  transId?: string;
  /** Further attempts under the same TransID after a network failure or Result 7. */
  retries?: number;
}

export interface WebexSimOptions {
  /** The adaptor's TSP endpoint, e.g. https://127.0.0.1:8443/tsp. */
  adaptorUrl: string;
  /** PEM the adaptor's certificate is verified with; without it a loopback adaptor is trusted. */
  adaptorCa?: string;
  /** The simulator's own server certificate; a self-signed one is generated when absent. */
  keyPair?: KeyPair;
  host?: string;
  /** Port of the A2W receiver; any free one by default. */
  port?: number;
  path?: string;
  /** Answer A2W_NotifyUserEnter automatically (default true). */
  answerUserEnter?: boolean;
  /** Further attempts of such an answer while the adaptor is unreachable or busy (default 20). */
  answerRetries?: number;
  /**
   * Prefix of the TransIDs, ExtCallIDs and MsgIDs this simulator makes. Default: `wbx-` and a
   * random tag, so two simulators (or one restarted) never reuse a TransID the adaptor remembers.
   */
  idPrefix?: string;
  codec?: TspCodec;
}

const DEFAULT_WAIT_MS = 10_000;
const POST_TIMEOUT_MS = 10_000;
/** Wait before retry n is n times this, capped: quick at first, never hammering. */
const RETRY_DELAY_MS = 50;
const RETRY_DELAY_MAX_MS = 1_000;
const RSP_USER_ENTER_RETRIES = 20;

interface Waiter {
  accepts: (r: ReceivedA2W) => boolean;
  resolve: (r: ReceivedA2W) => void;
}

export class WebexSim extends TypedEmitter<WebexSimEvents> {
  #options: WebexSimOptions;
  #codec: TspCodec | undefined;
  #server: https.Server | undefined;
  #client: HttpPoster;
  #policy: ConfirmPolicy = { kind: 'ok' };
  #received: ReceivedA2W[] = [];
  #consumed = new Set<number>();
  #waiters = new Set<Waiter>();
  #seenTransIds = new Set<string>();
  #repeats = new Map<string, number>();
  #counter = 0;
  #idPrefix: string;
  #pendingAnswers = new Set<Promise<unknown>>();
  #state: 'new' | 'running' | 'closed' = 'new';
  /** Aborts this simulator's own posts in flight when it closes. */
  #closing = new AbortController();

  constructor(options: WebexSimOptions) {
    super();
    this.#options = options;
    this.#idPrefix = options.idPrefix ?? `wbx-${randomBytes(3).toString('hex')}`;
    this.#client = new HttpPoster({
      isAllowed: () => true,
      ...(options.adaptorCa ? { ca: options.adaptorCa } : {}),
      trustLoopbackPeers: !options.adaptorCa,
      maxSockets: 16,
      keepAliveMs: 30_000,
    });
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('WebexSim.start: already started');
    this.#codec = this.#options.codec ?? (await createCodec());
    const keyPair = this.#options.keyPair ?? (await generateSelfSigned('webex-sim'));
    this.#server = https.createServer(keyPair, (req, res) => this.#onPost(req, res));
    this.#server.keepAliveTimeout = 30_000;
    this.#server.listen(this.#options.port ?? 0, this.#options.host ?? '127.0.0.1');
    await once(this.#server, 'listening');
    this.#state = 'running';
  }

  /** The URL to give the adaptor as WbxHostName. */
  get url(): string {
    if (!this.#server) throw new Error('WebexSim.url: start() first');
    const { port } = this.#server.address() as AddressInfo;
    return `https://${this.#options.host ?? '127.0.0.1'}:${port}${this.#options.path ?? '/a2w'}`;
  }

  /** Every message taken so far, in arrival order. */
  get received(): readonly ReceivedA2W[] {
    return this.#received;
  }

  /** How many times each TransID was posted again after it was taken. */
  get repeats(): ReadonlyMap<string, number> {
    return this.#repeats;
  }

  setPolicy(policy: ConfirmPolicy): void {
    this.#policy = policy;
  }

  /** A fresh id for TransIDs, MsgIDs and ExtCallIDs made by this simulator. */
  newId(kind: 'trans' | 'msg' | 'call'): string {
    this.#counter += 1;
    return `${this.#idPrefix}-${kind}-${this.#counter}`;
  }

  /** Posts one W2A transaction and returns its Confirmation. */
  async send(messages: readonly W2AMessage[], options: SendOptions = {}): Promise<SendOutcome> {
    const transId = options.transId ?? this.newId('trans');
    const body = this.#requireCodec().encode(transId, messages);
    return this.#sendBody(transId, body, options.retries ?? 0);
  }

  /** Posts any body, even an invalid one, once. */
  async sendRaw(body: string): Promise<{ status: number; result: ConfirmationResult | undefined; reason?: string }> {
    const answer = await this.#client.post(this.#options.adaptorUrl, body, { timeoutMs: POST_TIMEOUT_MS });
    const decoded = this.#requireCodec().decodeConfirmation(answer.body);
    return { status: answer.status, result: decoded.ok ? decoded.result : undefined, ...(decoded.ok ? {} : { reason: decoded.reason }) };
  }

  /**
   * The first message of `type` (matching `predicate`) not yet returned by an earlier `next`,
   * waiting for it if needed; rejects after `timeoutMs` naming what was expected.
   */
  next<T extends A2WType>(
    type: T,
    predicate: (m: A2WOf<T>) => boolean = () => true,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<ReceivedA2W<A2WOf<T>>> {
    const accepts = (r: ReceivedA2W): boolean =>
      !this.#consumed.has(r.seq) && r.message.type === type && predicate(r.message as A2WOf<T>);
    const found = this.#received.find(accepts);
    if (found) {
      this.#consumed.add(found.seq);
      return Promise.resolve(found as ReceivedA2W<A2WOf<T>>);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        accepts,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as ReceivedA2W<A2WOf<T>>);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const seen = this.#received.map((r) => r.message.type).join(', ') || 'nothing';
        reject(new Error(`WebexSim: no ${type} within ${timeoutMs} ms (received so far: ${seen})`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Every message of `type` taken so far. */
  all<T extends A2WType>(type: T): ReceivedA2W<A2WOf<T>>[] {
    return this.#received.filter((r) => r.message.type === type) as ReceivedA2W<A2WOf<T>>[];
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closing.abort();
    await Promise.allSettled([...this.#pendingAnswers]);
    await this.#client.close();
    if (this.#server?.listening) {
      const closed = new Promise<void>((resolve) => this.#server!.close(() => resolve()));
      this.#server.closeAllConnections();
      await closed;
    }
    // A codec handed in belongs to the caller.
    if (!this.#options.codec) this.#codec?.close();
  }

  async #sendBody(transId: string, body: string, retries: number): Promise<SendOutcome> {
    let attempts = 0;
    for (;;) {
      attempts += 1;
      let outcome: SendOutcome;
      try {
        const answer = await this.#client.post(this.#options.adaptorUrl, body, {
          timeoutMs: POST_TIMEOUT_MS,
          signal: this.#closing.signal,
        });
        const decoded = this.#requireCodec().decodeConfirmation(answer.body);
        outcome = decoded.ok
          ? { transId, result: decoded.result, attempts, ...(answer.status === 200 ? {} : { reason: `HTTP ${answer.status}` }) }
          : { transId, result: undefined, reason: `HTTP ${answer.status}: ${decoded.reason}`, attempts };
      } catch (err) {
        if (!(err instanceof PosterError)) throw err;
        outcome = { transId, result: undefined, reason: err.message, attempts };
      }
      const retryable = outcome.result === undefined || outcome.result === CONFIRMATION.BUSY;
      if (!retryable || attempts > retries || this.#state === 'closed') return outcome;
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_DELAY_MS * attempts, RETRY_DELAY_MAX_MS)));
    }
  }

  #onPost(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const policy = this.#policy;
      if (policy.kind === 'down') {
        this.emit('refused', { reason: 'down' });
        req.socket.destroy();
        return;
      }
      if (policy.kind === 'http') {
        this.emit('refused', { status: policy.status, reason: 'HTTP error by policy' });
        const headers = policy.retryAfterS === undefined ? {} : { 'retry-after': String(policy.retryAfterS) };
        res.writeHead(policy.status, headers).end();
        return;
      }
      const codec = this.#requireCodec();
      const decoded = codec.decode(Buffer.concat(chunks), { direction: 'A2W', contentType: req.headers['content-type'] ?? '' });
      const confirm = (transId: string, result: ConfirmationResult): void => {
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(codec.encodeConfirmation(transId, result));
      };
      if (!decoded.ok) {
        this.emit('refused', { ...(decoded.transId ? { transId: decoded.transId } : {}), result: decoded.result, reason: decoded.reason });
        confirm(decoded.transId ?? '', decoded.result);
        return;
      }
      if (this.listenerCount('posted') > 0) {
        this.emit('posted', { transId: decoded.transId, messages: decoded.messages as A2WMessage[], body: Buffer.concat(chunks).toString('utf8') });
      }
      if (policy.kind === 'result') {
        this.emit('refused', { transId: decoded.transId, result: policy.result, reason: 'Result by policy' });
        confirm(decoded.transId, policy.result);
        return;
      }
      if (this.#seenTransIds.has(decoded.transId)) {
        this.#repeats.set(decoded.transId, (this.#repeats.get(decoded.transId) ?? 0) + 1);
        this.emit('repeat', { transId: decoded.transId });
        confirm(decoded.transId, CONFIRMATION.OK);
        return;
      }
      this.#seenTransIds.add(decoded.transId);
      confirm(decoded.transId, CONFIRMATION.OK);
      for (const message of decoded.messages as A2WMessage[]) this.#take(decoded.transId, message);
    });
  }

  #take(transId: string, message: A2WMessage): void {
    const record: ReceivedA2W = { seq: this.#received.length + 1, transId, message };
    if (message.type === 'A2W_NotifyUserEnter' && this.#options.answerUserEnter !== false) {
      record.answeredExtCallID = message.ExtCallID || this.newId('call');
      record.answered = this.#answerUserEnter(message, record.answeredExtCallID);
    }
    this.#received.push(record);
    for (const waiter of this.#waiters) {
      if (!waiter.accepts(record)) continue;
      this.#waiters.delete(waiter);
      this.#consumed.add(record.seq);
      waiter.resolve(record);
      break;
    }
    this.emit('message', record);
  }

  #answerUserEnter(notify: A2WOf<'A2W_NotifyUserEnter'>, extCallId: string): Promise<SendOutcome> {
    const rsp: W2AMessage = {
      type: 'W2A_RspNotifyUserEnter',
      MsgID: notify.MsgID,
      ExtConfID: notify.ExtConfID,
      ExtCallID: extCallId,
    };
    // Sent after this POST is answered, as a transaction of its own.
    const sending = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.send([rsp], { retries: this.#options.answerRetries ?? RSP_USER_ENTER_RETRIES }))
      .then((outcome) => {
        if (outcome.result !== CONFIRMATION.OK) {
          this.emit('error', new Error(`W2A_RspNotifyUserEnter ${outcome.transId} not confirmed: ${outcome.result ?? outcome.reason}`));
        }
        return outcome;
      });
    this.#pendingAnswers.add(sending);
    sending
      .catch((err: unknown) => this.emit('error', err instanceof Error ? err : new Error(String(err))))
      .finally(() => this.#pendingAnswers.delete(sending));
    return sending;
  }

  #requireCodec(): TspCodec {
    if (!this.#codec) throw new Error('WebexSim: start() first');
    return this.#codec;
  }
}
