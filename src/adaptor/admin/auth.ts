/**
 * Who may use the admin listener. On loopback (the default) anyone on the machine may, as with
 * any local daemon's status port. Exposed on another address it must be configured with a
 * credential, read from a file only its owner can read: a bearer token (`admin.auth.tokenFile`,
 * sent as `Authorization: Bearer <token>`) and/or a basic-auth login (`admin.auth.basicFile`,
 * one line `user:password`). The configuration refuses a non-loopback `admin.host` without one.
 *
 * Every request is checked, health and metrics included (a probe or Prometheus sends the
 * header too). A refusal is 401 with the schemes on offer, counted and logged without the
 * credential. Comparisons are constant-time on digests so the answer's timing tells nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { readSecretLine } from '../secrets.js';

export interface AdminAuthConfig {
  tokenFile?: string | undefined;
  basicFile?: string | undefined;
}

/** The digests of what a request may present; the secrets themselves are not kept. */
interface Credentials {
  bearer: Buffer | undefined;
  basic: Buffer | undefined;
}

const REALM = 'tsp-adaptor admin';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  return bare === '::1' || /^::ffff:127\./.test(bare);
}

/** Why the admin settings are unsafe, or undefined (the config's cross-check calls this). */
export function adminExposureProblem(host: string, auth: AdminAuthConfig): string | undefined {
  if (isLoopbackHost(host) || auth.tokenFile || auth.basicFile) return undefined;
  return `admin.host: ${host} is not a loopback address, so anyone who reaches it could read metrics and the live feed; ` +
    'set admin.auth.tokenFile or admin.auth.basicFile (a file of mode 600), or listen on 127.0.0.1';
}

export class AdminAuth {
  /** Requests refused since start, for the metrics layer. */
  refused = 0;
  #credentials: Credentials;
  #logger: Logger;

  private constructor(credentials: Credentials, logger: Logger) {
    this.#credentials = credentials;
    this.#logger = logger;
  }

  /** Reads the configured secret files; undefined when none is configured (loopback only). */
  static async load(auth: AdminAuthConfig, logger: Logger): Promise<AdminAuth | undefined> {
    if (!auth.tokenFile && !auth.basicFile) return undefined;
    const [token, basic] = await Promise.all([
      auth.tokenFile ? readSecretLine(auth.tokenFile, 'admin.auth.tokenFile') : undefined,
      auth.basicFile ? readSecretLine(auth.basicFile, 'admin.auth.basicFile') : undefined,
    ]);
    if (basic !== undefined && !basic.includes(':')) {
      throw new Error(`admin.auth.basicFile: ${auth.basicFile} must hold one line user:password`);
    }
    return new AdminAuth(
      {
        bearer: token === undefined ? undefined : digest(token),
        basic: basic === undefined ? undefined : digest(Buffer.from(basic, 'utf8').toString('base64')),
      },
      logger,
    );
  }

  /** Mount first on the admin router, so no route is reachable around it. */
  readonly handler: RequestHandler = (req, res, next) => {
    if (this.admits(req.headers.authorization)) {
      next();
      return;
    }
    this.refused += 1;
    this.#logger.warn({ source: req.socket.remoteAddress, method: req.method, url: req.originalUrl }, 'admin request refused: missing or wrong credentials');
    const schemes = [this.#credentials.bearer ? `Bearer realm="${REALM}"` : '', this.#credentials.basic ? `Basic realm="${REALM}"` : ''];
    res.status(401).setHeader('WWW-Authenticate', schemes.filter(Boolean).join(', ')).type('text/plain').send('authentication required\n');
  };

  /** Whether an Authorization header carries the credentials; also for the live feed's WebSocket upgrade, which express never sees. */
  admits(header: string | undefined): boolean {
    const match = /^(Bearer|Basic) +(\S+)\s*$/i.exec(header ?? '');
    if (!match) return false;
    const expected = match[1]!.toLowerCase() === 'bearer' ? this.#credentials.bearer : this.#credentials.basic;
    return expected !== undefined && timingSafeEqual(expected, digest(match[2]!));
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
