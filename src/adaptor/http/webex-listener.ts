/**
 * The WebEx-facing HTTPS listener: exactly one route, `POST <webex.path>` (tsp-route.ts).
 * Everything else is answered 404, or 405 on the route with another method, without touching
 * the engine. The admin routes of the metrics issue get their own listener; this one never
 * serves them. A transaction sent to the path exactly as configured (what WebEx does) goes to
 * the route straight from node's server; express serves the rest (the same route under its
 * matching rules: another case, a trailing slash, a query; 404, 405, errors), so its router and
 * request and response decoration (~4% of the daemon's busy time under load) stay off the hot path.
 *
 * Transport hardening (issue 8; docs/security.md): TLS 1.2 or later with AEAD ciphers only;
 * client certificates requested and verified against `webex.tls.clientCaFile` when it is set;
 * a bound on concurrent connections (past it new connections are dropped at accept, counted);
 * handshake, header, whole-request (the body-read deadline) and keep-alive timeouts so a slow
 * or stalled client cannot hold a connection. Who may send a transaction at all is the access
 * gate's business (access/access-gate.ts), asked by the route before the body is read.
 * `reloadTls()` swaps certificate, key and client CA for new connections; live ones keep theirs.
 *
 * Shutdown is two verbs: `stopIntake()` makes every later transaction answer Confirmation 7
 * while the engine drains (WebEx then retries, or uses its other adaptor URL); `close()` stops
 * listening and ends the connections that are left.
 */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tlsModule from 'node:tls';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AccessGate, type AccessPolicy, type RefusalKind } from '../access/access-gate.js';
import { LogThrottle } from '../access/log-throttle.js';
import type { Config } from '../config.js';
import type { ListenerTls } from '../tls.js';
import { tspRoute, type TspRouteDeps } from './tsp-route.js';

export interface ListenerTimeouts {
  /** A client must have sent its headers within this time (slowloris). */
  headersMs: number;
  /** ... and the whole request within this time. */
  requestMs: number;
  /** An idle kept-alive connection is closed after this time. */
  keepAliveMs: number;
}

export interface WebexListenerOptions extends Omit<TspRouteDeps, 'isIntakeOpen' | 'admit'> {
  tls: ListenerTls;
  host: string;
  port: number;
  path: string;
  timeouts: ListenerTimeouts;
  /** Who may send; absent = any source, any subject, no rate limit beyond the bound. */
  access?: Omit<AccessPolicy, 'verifyClients'>;
  /** Connections open at once; past it new ones are dropped at accept. */
  maxConnections?: number;
  /**
   * With a client CA: true fails the handshake of an unverified client; false lets it finish
   * and answers its transactions Confirmation 5 with the reason (easier to diagnose).
   */
  rejectUnauthorizedClients?: boolean;
}

/** TLS 1.3 suites, then TLS 1.2 ECDHE with AEAD only: forward secrecy, no CBC, no RSA key exchange. */
export const CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');
/** Header and request deadlines are enforced on this tick; never coarser than a second. */
const MAX_CHECK_INTERVAL_MS = 1_000;
const UNLIMITED = { ratePerSecond: Number.MAX_SAFE_INTEGER, burst: Number.MAX_SAFE_INTEGER };

/** Everything the configuration decides about the listener; the caller adds tls, codec, accept, logger. */
export function listenerSettings(config: Config): Omit<WebexListenerOptions, 'tls' | 'codec' | 'accept' | 'logger' | 'clock'> {
  const { webex } = config;
  return {
    host: webex.host,
    port: webex.port,
    path: webex.path,
    timeouts: { ...webex.timeouts },
    maxBodyBytes: webex.maxBodyBytes,
    access: {
      allowedSources: [...webex.allowedSources],
      allowedClientSubjects: [...webex.tls.allowedClientSubjects],
      rate: { ratePerSecond: webex.limits.ratePerSecond, burst: webex.limits.burst },
    },
    maxConnections: webex.limits.maxConnections,
    rejectUnauthorizedClients: webex.tls.rejectUnauthorizedClients,
  };
}

/** How long `close()` lets requests in flight finish before cutting their connections. */
const CLOSE_GRACE_MS = 5_000;

export class WebexListener {
  #server: https.Server;
  #options: WebexListenerOptions;
  #intake: 'open' | 'stopped' = 'open';
  #logger: Logger;
  readonly #gate: AccessGate;
  readonly #throttle = new LogThrottle<RefusalKind>();

  constructor(options: WebexListenerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    const verifyClients = options.tls.clientCa !== undefined;
    this.#gate = new AccessGate({ allowedSources: [], allowedClientSubjects: [], rate: UNLIMITED, ...options.access, verifyClients });
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    const route = tspRoute({
      ...options,
      isIntakeOpen: () => this.#intake === 'open',
      admit: (socket) => {
        const refusal = this.#gate.check(socket);
        if (refusal) this.#refused(refusal.kind, { source: socket.remoteAddress, result: refusal.result, reason: refusal.reason }, 'W2A sender refused');
        return refusal;
      },
    });
    app.post(options.path, route);
    app.all(options.path, methodNotAllowed);
    app.use(notFound);
    app.use(this.#onError);
    // Every check is the route's own or the server's (TLS, timeouts, connection bound), so
    // skipping express changes nothing a sender can observe.
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.method === 'POST' && req.url === options.path) {
        route(req, res).catch((err: unknown) => this.#failed(err, req, res));
        return;
      }
      void app(req, res);
    };
    const { timeouts } = options;
    this.#server = https.createServer(
      {
        ...secureContextOptions(options.tls),
        requestCert: verifyClients,
        rejectUnauthorized: verifyClients && (options.rejectUnauthorizedClients ?? true),
        handshakeTimeout: timeouts.headersMs,
        connectionsCheckingInterval: Math.min(MAX_CHECK_INTERVAL_MS, timeouts.headersMs),
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        keepAliveTimeout: timeouts.keepAliveMs,
      },
      onRequest,
    );
    if (options.maxConnections !== undefined) this.#server.maxConnections = options.maxConnections;
    this.#server.on('drop', (data?: { remoteAddress?: string }) => {
      this.#refused('connections', { source: data?.remoteAddress, maxConnections: options.maxConnections }, 'connection dropped: webex.limits.maxConnections reached');
    });
    this.#server.on('tlsClientError', (err, socket) => {
      this.#refused('tls-handshake', { err: err.message, source: socket.remoteAddress }, 'TLS handshake failed');
    });
  }

  /** Counts every refusal; logs them throttled per kind (access/log-throttle.ts). */
  #refused(kind: RefusalKind, fields: Record<string, unknown>, message: string): void {
    this.#gate.count(kind);
    const logged = this.#throttle.take(kind);
    if (logged) this.#logger.warn({ refusal: kind, ...fields, ...(logged.suppressed ? { suppressed: logged.suppressed } : {}) }, message);
  }

  /** Refusals since start by kind (source, client certificate, subject, rate, connections, TLS). */
  get refusals(): ReadonlyMap<string, number> {
    return this.#gate.refusals;
  }

  /**
   * New certificate, key and client CA for connections made from now on; connections already
   * open keep the context they were made with. Throws (and keeps the old context) when the
   * new material is unusable, so a bad file on SIGHUP never takes the listener down.
   */
  reloadTls(tls: ListenerTls): void {
    if ((tls.clientCa !== undefined) !== (this.#options.tls.clientCa !== undefined)) {
      throw new Error('webex.tls.clientCaFile cannot be added or removed by a reload: restart the daemon');
    }
    this.#server.setSecureContext(secureContextOptions(tls));
    this.#options = { ...this.#options, tls };
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

  #onError: ErrorRequestHandler = (err, req, res, _next) => this.#failed(err, req, res);

  #failed(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    this.#logger.error({ err, method: req.method, url: req.url }, 'unexpected error on the WebEx listener');
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('internal error\n');
  }
}

/** Everything a secure context holds; a reload passes all of it again, protocol floor included. */
function secureContextOptions(tls: ListenerTls): tlsModule.SecureContextOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa !== undefined ? { ca: tls.clientCa } : {}),
    minVersion: 'TLSv1.2',
    ciphers: CIPHERS,
    honorCipherOrder: true,
  };
}

const methodNotAllowed: RequestHandler = (_req, res) => {
  res.status(405).setHeader('Allow', 'POST').type('text/plain').send('only POST is accepted here\n');
};

const notFound: RequestHandler = (_req, res) => {
  res.status(404).type('text/plain').send('not found\n');
};
