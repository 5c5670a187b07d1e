/**
 * The A2W poster: one HTTP(S) POST of one A2W document to a WebEx server, as the engine's
 * outbox asks (`A2WPoster`). It keeps connections alive per server, bounds every request by a
 * deadline and the caller's abort signal, and reports status, body and Retry-After; retrying
 * is the outbox's business, never this module's.
 *
 * It is also the second line of defence against being turned into an SSRF tool: a URL that
 * `webex.allowedHosts` does not allow is refused before any connection is made, whatever the
 * engine asked.
 *
 * TLS: the peer is verified against the system CAs, or `webex.tls.caFile` when set. With
 * `webex.tls.trustLoopbackPeers` (on in the embedded defaults) a server on a loopback address
 * is not verified, so a local WebEx simulator with its own self-signed certificate works
 * out of the box; nothing off the machine ever benefits from it.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { urlToHttpOptions } from 'node:url';
import type { A2WPoster } from './engine.js';

export const POSTER_ERROR_CODES = {
  /** The URL is not in webex.allowedHosts: never retried, dead-letter it. */
  A2W_ERR_HOST_NOT_ALLOWED: 'the URL is not allowed by webex.allowedHosts',
  A2W_ERR_TIMEOUT: 'the WebEx server did not answer in time',
  A2W_ERR_ABORTED: 'the post was aborted',
  /** Connection refused or reset, TLS failure, DNS failure: worth retrying. */
  A2W_ERR_NETWORK: 'the WebEx server could not be reached',
} as const;

export type PosterErrorCode = keyof typeof POSTER_ERROR_CODES;

export class PosterError extends Error {
  readonly code: PosterErrorCode;

  constructor(code: PosterErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${POSTER_ERROR_CODES[code]}: ${detail}`, options);
    this.name = 'PosterError';
    this.code = code;
  }
}

export interface PosterOptions {
  isAllowed: (url: string) => boolean;
  /** PEM of the CA(s) WebEx servers' certificates chain to; system CAs when absent. */
  ca?: string;
  trustLoopbackPeers: boolean;
  maxSockets: number;
  keepAliveMs: number;
}

/** More than a Confirmation ever needs; a bigger answer is cut, not buffered. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const CONTENT_TYPE = 'text/xml; charset=utf-8';
/** WebEx servers whose request options are kept; far more than a deployment talks to. */
const MAX_TARGETS = 1_024;

export class HttpPoster {
  #options: PosterOptions;
  #httpsAgent: https.Agent;
  #loopbackAgent: https.Agent;
  #httpAgent: http.Agent;
  readonly #signals = new WeakSet<AbortSignal>();
  readonly #targets = new Map<string, { module: typeof http | typeof https; options: http.RequestOptions }>();

  constructor(options: PosterOptions) {
    this.#options = options;
    const common = { keepAlive: true, keepAliveMsecs: options.keepAliveMs, maxSockets: options.maxSockets, scheduling: 'lifo' as const };
    this.#httpsAgent = new https.Agent({ ...common, ...(options.ca ? { ca: options.ca } : {}) });
    this.#loopbackAgent = options.trustLoopbackPeers
      ? new https.Agent({ ...common, rejectUnauthorized: false })
      : this.#httpsAgent;
    this.#httpAgent = new http.Agent(common);
  }

  /** The engine's `A2WPoster`, bound to this instance. */
  readonly post: A2WPoster = (url, body, opts) => this.#post(url, body, opts);

  /** Closes idle kept-alive connections; requests in flight finish. */
  close(): void {
    this.#httpsAgent.destroy();
    this.#loopbackAgent.destroy();
    this.#httpAgent.destroy();
  }

  #post(url: string, body: string, opts: { timeoutMs: number; signal?: AbortSignal }): ReturnType<A2WPoster> {
    if (!this.#options.isAllowed(url)) {
      return Promise.reject(new PosterError('A2W_ERR_HOST_NOT_ALLOWED', url));
    }
    const { module, options } = this.#target(url);
    const payload = Buffer.from(body, 'utf8');
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new PosterError('A2W_ERR_ABORTED', url, { cause: signal.reason }));
    // A caller's signal (the outbox's) is shared by every post in flight, each listening once.
    if (signal && !this.#signals.has(signal)) {
      setMaxListeners(0, signal);
      this.#signals.add(signal);
    }

    return new Promise((resolve, reject) => {
      // One timer and one listener per post: AbortSignal.timeout + AbortSignal.any cost more
      // than the rest of a kept-alive post together.
      let failure: 'timeout' | 'aborted' | undefined;
      const timer = setTimeout(() => {
        failure = 'timeout';
        request.destroy(new Error(`no answer within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      const onAbort = (): void => {
        failure ??= 'aborted';
        request.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settled = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: unknown): void => {
        settled();
        if (failure === 'timeout') reject(new PosterError('A2W_ERR_TIMEOUT', `${url} after ${opts.timeoutMs} ms`, { cause: err }));
        else if (failure === 'aborted') reject(new PosterError('A2W_ERR_ABORTED', url, { cause: err }));
        else reject(new PosterError('A2W_ERR_NETWORK', `${url}: ${(err as Error).message}`, { cause: err }));
      };
      const request = module.request(
        { ...options, headers: { 'content-type': CONTENT_TYPE, 'content-length': payload.length, accept: 'text/xml' } },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            if (size >= MAX_RESPONSE_BYTES) return;
            size += chunk.length;
            chunks.push(chunk);
          });
          response.on('error', fail);
          response.on('end', () => {
            settled();
            const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
              ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
            });
          });
        },
      );
      request.on('error', fail);
      request.end(payload);
    });
  }

  /** The request options of a WebEx URL, parsed once: a conference posts to the same URL all its life. */
  #target(url: string): { module: typeof http | typeof https; options: http.RequestOptions } {
    let target = this.#targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      const secure = parsed.protocol === 'https:';
      const agent = !secure ? this.#httpAgent : isLoopback(parsed.hostname) ? this.#loopbackAgent : this.#httpsAgent;
      target = { module: secure ? https : http, options: { ...urlToHttpOptions(parsed), method: 'POST', agent } };
      if (this.#targets.size >= MAX_TARGETS) this.#targets.clear();
      this.#targets.set(url, target);
    }
    return target;
  }
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
