/**
 * The WebEx-facing HTTPS listener: express 5 serving exactly one route, `POST <webex.path>`
 * (tsp-route.ts). Everything else is answered 404, or 405 on the route with another method,
 * without touching the engine. The admin routes of the metrics issue get their own listener;
 * this one never serves them.
 *
 * Shutdown is two verbs: `stopIntake()` makes every later transaction answer Confirmation 7
 * while the engine drains (WebEx then retries, or uses its other adaptor URL); `close()` stops
 * listening and ends the connections that are left.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { KeyPair } from '../tls.js';
import { tspRoute, type TspRouteDeps } from './tsp-route.js';

export interface ListenerTimeouts {
  /** A client must have sent its headers within this time (slowloris). */
  headersMs: number;
  /** ... and the whole request within this time. */
  requestMs: number;
  /** An idle kept-alive connection is closed after this time. */
  keepAliveMs: number;
}

export interface WebexListenerOptions extends Omit<TspRouteDeps, 'isIntakeOpen'> {
  keyPair: KeyPair;
  host: string;
  port: number;
  path: string;
  timeouts: ListenerTimeouts;
}

/** How long `close()` lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 5_000;

export class WebexListener {
  #server: https.Server;
  #options: WebexListenerOptions;
  #intake: 'open' | 'stopped' = 'open';
  #logger: Logger;

  constructor(options: WebexListenerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    const route = tspRoute({ ...options, isIntakeOpen: () => this.#intake === 'open' });
    app.post(options.path, route);
    app.all(options.path, methodNotAllowed);
    app.use(notFound);
    app.use(this.#onError);
    this.#server = https.createServer({ ...options.keyPair }, app);
    this.#server.headersTimeout = options.timeouts.headersMs;
    this.#server.requestTimeout = options.timeouts.requestMs;
    this.#server.keepAliveTimeout = options.timeouts.keepAliveMs;
    this.#server.on('tlsClientError', (err, socket) => {
      this.#logger.debug({ err: err.message, source: socket.remoteAddress }, 'TLS handshake failed');
    });
  }

  /** Resolves with the URL WebEx should be configured with. */
  async listen(): Promise<string> {
    this.#server.listen(this.#options.port, this.#options.host);
    await once(this.#server, 'listening');
    return this.url;
  }

  get url(): string {
    const { address, port, family } = this.#server.address() as AddressInfo;
    const host = family === 'IPv6' ? `[${address}]` : address;
    return `https://${host}:${port}${this.#options.path}`;
  }

  /**
   * From now on every transaction is answered Confirmation 7, each on a connection then closed.
   * Idle kept-alive connections are left open until `close()`: cutting them now would race a
   * request WebEx is sending on one, which would see a reset instead of the 7. Idempotent.
   */
  stopIntake(): void {
    this.#intake = 'stopped';
  }

  /** Stops listening; connections still busy after a grace period are cut. Idempotent. */
  async close(): Promise<void> {
    this.stopIntake();
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const grace = setTimeout(() => this.#server.closeAllConnections(), CLOSE_GRACE_MS);
    grace.unref();
    await closed;
    clearTimeout(grace);
  }

  #onError: ErrorRequestHandler = (err, req, res, _next) => {
    this.#logger.error({ err, method: req.method, url: req.originalUrl }, 'unexpected error on the WebEx listener');
    if (!res.headersSent) res.status(500).type('text/plain').send('internal error\n');
  };
}

const methodNotAllowed: RequestHandler = (_req, res) => {
  res.status(405).setHeader('Allow', 'POST').type('text/plain').send('only POST is accepted here\n');
};

const notFound: RequestHandler = (_req, res) => {
  res.status(404).type('text/plain').send('not found\n');
};
