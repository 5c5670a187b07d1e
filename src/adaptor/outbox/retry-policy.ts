/**
 * When a failed A2W post is tried again (spec 4): capped exponential back-off with jitter,
 * Retry-After honoured; a Confirmation Result 1-4 means WebEx will never take the message
 * (dead-letter at once); a message older than the maximum age is dead-lettered.
 */
import type { ConfirmationDecodeResult } from '../../protocol/index.js';
import type { OutboxOptions } from '../options.js';

export type PostOutcome =
  | { kind: 'answered'; status: number; confirmation: ConfirmationDecodeResult; retryAfterMs?: number }
  /** Timeout, connection refused, TLS failure... */
  | { kind: 'failed'; error: string };

export type Verdict =
  | { kind: 'delivered' }
  | { kind: 'retry'; delayMs: number; reason: string }
  | { kind: 'dead-letter'; reason: string };

/** Confirmation Results saying the body itself is unacceptable: sending it again cannot help. */
const NEVER_ACCEPTED = new Set([1, 2, 3, 4]);

export class RetryPolicy {
  #options: OutboxOptions;
  #random: () => number;

  constructor(options: OutboxOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** `attempts`: how many posts were made, this one included; `ageMs`: since the message was produced. */
  classify(outcome: PostOutcome, transId: string, attempts: number, ageMs: number): Verdict {
    const failure = this.#failure(outcome, transId);
    if (failure === undefined) return { kind: 'delivered' };
    if (failure.final) return { kind: 'dead-letter', reason: failure.reason };
    const delayMs = this.delayMs(attempts, outcome.kind === 'answered' ? outcome.retryAfterMs : undefined);
    if (ageMs + delayMs > this.#options.maxAgeMs) {
      return { kind: 'dead-letter', reason: `undelivered after ${attempts} attempts within the maximum age (last: ${failure.reason})` };
    }
    return { kind: 'retry', delayMs, reason: failure.reason };
  }

  /** Delay before attempt `attempts + 1`: half fixed, half random, so retries never stampede. */
  delayMs(attempts: number, retryAfterMs?: number): number {
    const { initialDelayMs, maxDelayMs } = this.#options;
    const cap = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(Math.max(0, attempts - 1), 30));
    const delay = cap / 2 + this.#random() * (cap / 2);
    return Math.round(Math.max(delay, Math.min(retryAfterMs ?? 0, maxDelayMs)));
  }

  #failure(outcome: PostOutcome, transId: string): { reason: string; final: boolean } | undefined {
    if (outcome.kind === 'failed') return { reason: outcome.error, final: false };
    if (outcome.status < 200 || outcome.status > 299) return { reason: `HTTP ${outcome.status}`, final: false };
    const c = outcome.confirmation;
    if (!c.ok) return { reason: `unreadable Confirmation: ${c.reason}`, final: false };
    if (c.transId !== transId) return { reason: `Confirmation for TransID ${c.transId}, expected ${transId}`, final: false };
    if (c.result === 0) return undefined;
    return { reason: `Confirmation Result ${c.result}`, final: NEVER_ACCEPTED.has(c.result) };
  }
}
