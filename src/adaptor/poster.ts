/**
 * The A2W poster: one HTTP(S) POST of one A2W document to a WebEx server, as the engine's
 * outbox asks (`A2WPoster`). It keeps connections alive per server, bounds every request by a
 * deadline and the caller's abort signal, and reports status, body and Retry-After; retrying
 * is the outbox's business, never this module's.
 *
 * It is also the second line of defence against being turned into an SSRF tool: a URL that
 * `webex.allowedHosts` does not allow is refused before any connection is made, whatever the
 * engine asked. Redirects are returned as they are, never followed.
 *
 * TLS: the peer is verified against the system CAs, or `webex.tls.caFile` when set. With
 * `webex.tls.trustLoopbackPeers` (on in the embedded defaults) a server on a loopback address
 * is not verified, so a local WebEx simulator with its own self-signed certificate works
 * out of the box; nothing off the machine ever benefits from it.
 *
 * Transport: one undici `Pool` per WebEx origin, driven through `dispatch` with one small
 * handler object per post. Against node:https with a kept-alive Agent it costs about a third
 * less CPU a post. The daemon runs it on a thread of its own (threaded-poster.ts).
 */
import { setMaxListeners } from 'node:events';
import net from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import type { A2WPoster } from './engine.js';

export const POSTER_ERROR_CODES = {
  /** The URL is not in webex.allowedHosts: never retried, dead-letter it. */
  A2W_ERR_HOST_NOT_ALLOWED: 'the URL is not allowed by webex.allowedHosts',
  A2W_ERR_TIMEOUT: 'the WebEx server did not answer in time',
  /** The caller's signal fired, or the poster was closed. */
  A2W_ERR_ABORTED: 'the post was aborted',
  /** Connection refused or reset, TLS failure, DNS failure: worth retrying. */
  A2W_ERR_NETWORK: 'the WebEx server could not be reached',
} as const;

export type PosterErrorCode = keyof typeof POSTER_ERROR_CODES;

export class PosterError extends Error {
  readonly code: PosterErrorCode;
  /** What the message adds to the code's text: the URL, and what happened to it. */
  readonly detail: string;

  constructor(code: PosterErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${POSTER_ERROR_CODES[code]}: ${detail}`, options);
    this.name = 'PosterError';
    this.code = code;
    this.detail = detail;
  }
}

export interface PosterOptions {
  isAllowed: (url: string) => boolean;
  /** PEM of the CA(s) WebEx servers' certificates chain to; system CAs when absent. */
  ca?: string;
  trustLoopbackPeers: boolean;
  maxSockets: number;
  /** An idle connection is closed after this long (sooner when the server says so); also the TCP keep-alive probe delay. */
  keepAliveMs: number;
}

export type PostReply = Awaited<ReturnType<A2WPoster>>;

/** More than a Confirmation ever needs; a bigger answer is cut, not buffered. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** Shared by every post: undici reads request headers as flat name/value pairs. */
const REQUEST_HEADERS = ['content-type', 'text/xml; charset=utf-8', 'accept', 'text/xml'];
/** WebEx URLs whose pool and path are kept; far more than a deployment talks to. */
const MAX_TARGETS = 1_024;

interface Target {
  pool: Pool;
  path: string;
}

export class HttpPoster {
  #options: PosterOptions;
  #state: 'open' | 'closed' = 'open';
  /** One pool per origin: scheme, host and port, so a host's trust never leaks to another. */
  readonly #pools = new Map<string, Pool>();
  readonly #targets = new Map<string, Target>();
  readonly #signals = new WeakSet<AbortSignal>();

  constructor(options: PosterOptions) {
    this.#options = options;
  }

  /** The engine's `A2WPoster`, bound to this instance. */
  readonly post: A2WPoster = (url, body, opts) => this.#post(url, body, opts);

  /** Lets posts in flight finish, then closes every connection; later posts fail with A2W_ERR_ABORTED. */
  async close(): Promise<void> {
    this.#state = 'closed';
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#targets.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  #post(url: string, body: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<PostReply> {
    if (!this.#options.isAllowed(url)) {
      return Promise.reject(new PosterError('A2W_ERR_HOST_NOT_ALLOWED', url));
    }
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new PosterError('A2W_ERR_ABORTED', url, { cause: signal.reason }));
    if (this.#state === 'closed') return Promise.reject(new PosterError('A2W_ERR_ABORTED', `${url}: the poster is closed`));
    // A caller's signal (the outbox's) is shared by every post in flight, each listening once.
    if (signal && !this.#signals.has(signal)) {
      setMaxListeners(0, signal);
      this.#signals.add(signal);
    }
    const { pool, path } = this.#target(url);
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(url, opts.timeoutMs, signal, resolve, reject);
      pool.dispatch({ path, method: 'POST', headers: REQUEST_HEADERS, body: Buffer.from(body, 'utf8') }, exchange);
    });
  }

  /** The pool and path of a WebEx URL, found once: a conference posts to the same URL all its life. */
  #target(url: string): Target {
    let target = this.#targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { pool: this.#pool(parsed), path: `${parsed.pathname}${parsed.search}` };
      if (this.#targets.size >= MAX_TARGETS) this.#targets.clear();
      this.#targets.set(url, target);
    }
    return target;
  }

  /** Kept for the poster's life: only allow-listed origins get one, and an idle one holds no connection after keepAliveMs. */
  #pool(url: URL): Pool {
    let pool = this.#pools.get(url.origin);
    if (!pool) {
      const { ca, trustLoopbackPeers, maxSockets, keepAliveMs } = this.#options;
      const verify = url.protocol === 'https:' && trustLoopbackPeers && isLoopback(url.hostname) ? { rejectUnauthorized: false } : ca ? { ca } : {};
      pool = new Pool(url.origin, {
        connections: maxSockets,
        keepAliveTimeout: keepAliveMs,
        keepAliveMaxTimeout: keepAliveMs,
        // Each post's own deadline covers the whole exchange, however long the caller sets it.
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: { ...verify, keepAliveInitialDelay: keepAliveMs },
      });
      this.#pools.set(url.origin, pool);
    }
    return pool;
  }
}

/**
 * One post in flight: undici's handler, the signal's listener and the deadline's target in
 * one object, so a post allocates no closures beyond its promise. It settles exactly once;
 * whatever undici reports after a deadline or an abort is ignored.
 */
class Exchange implements Dispatcher.DispatchHandlers {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: (reply: PostReply) => void;
  readonly #reject: (err: PosterError) => void;
  readonly #timer: NodeJS.Timeout;
  #abort: ((err: Error) => void) | undefined;
  #failure: PosterError | undefined;
  #settled = false;
  #status = 0;
  #retryAfter: string | undefined;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(url: string, timeoutMs: number, signal: AbortSignal | undefined, resolve: (reply: PostReply) => void, reject: (err: PosterError) => void) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
    // One timer and one listener per post: AbortSignal.timeout + AbortSignal.any cost more
    // than the rest of a kept-alive post together.
    this.#timer = setTimeout(expire, timeoutMs, this);
    signal?.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal fired. */
  handleEvent(): void {
    this.#fail(new PosterError('A2W_ERR_ABORTED', this.#url, { cause: this.#signal?.reason }));
  }

  expire(): void {
    this.#fail(new PosterError('A2W_ERR_TIMEOUT', `${this.#url} after ${this.#timeoutMs} ms`));
  }

  onConnect(abort: (err?: Error) => void): void {
    // A post that failed while it waited for a connection is dropped as soon as it gets one.
    if (this.#failure) abort(this.#failure);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, headers: Buffer[] | string[] | null): boolean {
    this.#status = statusCode;
    if (headers) {
      for (let i = 0; i + 1 < headers.length; i += 2) {
        const name = headers[i]!;
        if (name.length === 11 && name.toString().toLowerCase() === 'retry-after') {
          this.#retryAfter = headers[i + 1]!.toString();
          break;
        }
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Past the cut the rest is read and dropped, so the connection stays usable.
    if (this.#size < MAX_RESPONSE_BYTES) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
    }
    return true;
  }

  onComplete(): void {
    if (!this.#settle()) return;
    const retryAfterMs = parseRetryAfter(this.#retryAfter);
    const chunks = this.#chunks;
    const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const body = whole.toString('utf8', 0, Math.min(whole.length, MAX_RESPONSE_BYTES));
    this.#resolve(retryAfterMs === undefined ? { status: this.#status, body } : { status: this.#status, body, retryAfterMs });
  }

  /** undici has given up on the request already: nothing to abort. */
  onError(err: Error): void {
    if (this.#settle()) this.#reject(new PosterError('A2W_ERR_NETWORK', `${this.#url}: ${err.message}`, { cause: err }));
  }

  /** A deadline or the caller gave up: the request is dropped, on the wire or in the queue. */
  #fail(err: PosterError): void {
    if (!this.#settle()) return;
    this.#failure = err;
    this.#reject(err);
    this.#abort?.(err);
  }

  /** True the first time only. */
  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this);
    return true;
  }
}

function expire(exchange: Exchange): void {
  exchange.expire();
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1_000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && (host === '::1' || host.startsWith('::ffff:127.'));
}
