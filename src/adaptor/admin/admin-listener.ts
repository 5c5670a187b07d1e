/**
 * The admin listener: plain HTTP (express 5) on `admin.host:admin.port`, 127.0.0.1:9464 by
 * default, separate from the WebEx listener so operators' tools never share a port, a TLS
 * certificate or an allow-list with WebEx. It serves what `mountX(router, deps)` functions put
 * on `router` (metrics, health, the live feed and the console), and answers 404 to the rest.
 *
 * `server` is the underlying http.Server, for handlers that need more than express: a WebSocket
 * feed attaches to its `upgrade` event. Mount before `listen()`; routes are matched in the order
 * they were mounted.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';

export interface AdminListenerOptions {
  host: string;
  port: number;
  logger: Logger;
}

/** An admin request is small; a client that has not sent one within this time is cut off. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long `close()` lets requests in flight (a scrape, a feed) finish before cutting them. */
const CLOSE_GRACE_MS = 2_000;

export class AdminListener {
  /** Where `mountX` functions add their routes. */
  readonly router: Router = express.Router();
  readonly server: http.Server;
  #options: AdminListenerOptions;
  #logger: Logger;

  constructor(options: AdminListenerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(this.router);
    app.use(notFound);
    app.use(this.#onError);
    this.server = http.createServer(app);
    this.server.headersTimeout = REQUEST_TIMEOUT_MS;
    this.server.requestTimeout = REQUEST_TIMEOUT_MS;
  }

  /** Resolves with the base URL, e.g. `http://127.0.0.1:9464`. */
  async listen(): Promise<string> {
    this.server.listen(this.#options.port, this.#options.host);
    await once(this.server, 'listening');
    return this.url;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo | null;
    if (!address) throw new Error('AdminListener.url: not listening; call listen() first');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Stops listening; connections still open after a short grace (feeds) are cut. Idempotent. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const grace = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
    grace.unref();
    await closed;
    clearTimeout(grace);
  }

  #onError: ErrorRequestHandler = (err, req, res, _next) => {
    this.#logger.error({ err, method: req.method, url: req.originalUrl }, 'unexpected error on the admin listener');
    if (!res.headersSent) res.status(500).type('text/plain').send('internal error\n');
  };
}

const notFound: RequestHandler = (_req, res) => {
  res.status(404).type('text/plain').send('not found\n');
};
