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
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
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

export class HttpPoster {
  #options: PosterOptions;
  #httpsAgent: https.Agent;
  #loopbackAgent: https.Agent;
  #httpAgent: http.Agent;

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
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const agent = !secure ? this.#httpAgent : isLoopback(target.hostname) ? this.#loopbackAgent : this.#httpsAgent;
    const payload = Buffer.from(body, 'utf8');
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;

    return new Promise((resolve, reject) => {
      const fail = (err: unknown): void => {
        if (timeout.aborted) reject(new PosterError('A2W_ERR_TIMEOUT', `${url} after ${opts.timeoutMs} ms`, { cause: err }));
        else if (signal.aborted) reject(new PosterError('A2W_ERR_ABORTED', url, { cause: err }));
        else reject(new PosterError('A2W_ERR_NETWORK', `${url}: ${(err as Error).message}`, { cause: err }));
      };
      const request = (secure ? https : http).request(
        target,
        {
          method: 'POST',
          agent,
          signal,
          headers: { 'content-type': CONTENT_TYPE, 'content-length': payload.length, accept: 'text/xml' },
        },
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
