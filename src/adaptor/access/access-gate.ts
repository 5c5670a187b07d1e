/**
 * Who may hand the adaptor a W2A transaction, decided before a byte of its body is read
 * (spec 2.1: Confirmation 5 for a sender that is not authorised, 7 when it sends too fast):
 *   1. source address in `webex.allowedSources`               else 5
 *   2. a client certificate the configured CA verified         else 5 (only reached when
 *      `webex.tls.rejectUnauthorized` is false; otherwise the TLS handshake already failed)
 *   3. its subject (CN or a DNS/URI/email SAN) in `webex.tls.allowedClientSubjects`  else 5
 *   4. a token left in the source's rate bucket               else 7
 * Every refusal carries a reason for the log and the X-TSP-Reason header that tells the
 * operator which key to look at; the listener counts them by kind in `refusals` (metrics).
 */
import type { TLSSocket } from 'node:tls';
import { CONFIRMATION, type ConfirmationResult } from '../../protocol/index.js';
import { RateLimiter, type RateLimit } from './rate-limiter.js';
import { compileSourceAllowList } from './source-allow-list.js';

export type RefusalKind = 'source' | 'client-certificate' | 'client-subject' | 'rate' | 'connections' | 'tls-handshake';

export interface Refusal {
  kind: RefusalKind;
  result: ConfirmationResult;
  reason: string;
}

export interface AccessPolicy {
  allowedSources: readonly string[];
  /** True when client certificates are requested (`webex.tls.clientCaFile` is set). */
  verifyClients: boolean;
  /** Empty = any subject the CA verified. */
  allowedClientSubjects: readonly string[];
  rate: RateLimit;
}

export class AccessGate {
  /** Refusals since start, by kind; the listener adds the ones it sees below HTTP. */
  readonly refusals = new Map<RefusalKind, number>();
  #isAllowedSource: (address: string | undefined) => boolean;
  #subjects: ReadonlySet<string> | undefined;
  #clientCertificates: boolean;
  #limiter: RateLimiter;

  constructor(policy: AccessPolicy, clock?: () => number) {
    this.#isAllowedSource = compileSourceAllowList(policy.allowedSources);
    this.#clientCertificates = policy.verifyClients;
    const subjects = policy.allowedClientSubjects;
    this.#subjects = subjects.length > 0 ? new Set(subjects.map((s) => s.toLowerCase())) : undefined;
    this.#limiter = new RateLimiter(policy.rate, clock);
  }

  /** Every refusal, including those seen below HTTP (connection bound, TLS handshake). */
  count(kind: RefusalKind): void {
    this.refusals.set(kind, (this.refusals.get(kind) ?? 0) + 1);
  }

  /** Undefined when the request may go on; otherwise why not (the caller counts it). */
  check(socket: TLSSocket): Refusal | undefined {
    const source = socket.remoteAddress;
    if (!this.#isAllowedSource(source)) {
      return refuse('source', CONFIRMATION.UNAUTHORISED, `source address ${source ?? '?'} is not in webex.allowedSources`);
    }
    if (this.#clientCertificates) {
      if (!socket.authorized) {
        const why = socket.authorizationError ? String(socket.authorizationError) : 'no certificate sent';
        return refuse('client-certificate', CONFIRMATION.UNAUTHORISED, `client certificate not verified by webex.tls.clientCaFile: ${why}`);
      }
      if (this.#subjects) {
        const names = peerNames(socket);
        if (!names.some((name) => this.#subjects!.has(name.toLowerCase()))) {
          return refuse(
            'client-subject',
            CONFIRMATION.UNAUTHORISED,
            `client certificate subject (${names.join(', ') || 'none'}) is not in webex.tls.allowedClientSubjects`,
          );
        }
      }
    }
    if (!this.#limiter.take(source ?? '')) {
      return refuse('rate', CONFIRMATION.BUSY, 'too many transactions from this source (webex.limits.ratePerSecond): retry later');
    }
    return undefined;
  }
}

/** The certificate's CN and its DNS, URI and email subject alternative names. */
function peerNames(socket: TLSSocket): string[] {
  const peer = socket.getPeerCertificate();
  const names: string[] = [];
  const cn = peer.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...(cn as string[]));
  for (const entry of (peer.subjectaltname ?? '').split(/,\s*/)) {
    const match = /^(?:DNS|URI|email):(.+)$/.exec(entry);
    if (match) names.push(match[1]!);
  }
  return names;
}

function refuse(kind: RefusalKind, result: ConfirmationResult, reason: string): Refusal {
  return { kind, result, reason };
}
