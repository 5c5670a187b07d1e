/**
 * Delivers A2W messages (issue 4, spec 3.5 and 4). Every message is in the store before its
 * first attempt; each has its own TransID, reused on every retry; messages of one conference go
 * one at a time in the order produced (a message waits while the one before it is retried);
 * conferences proceed in parallel up to `concurrency` posts. A message that cannot be delivered
 * (URL not allowed, rejected as invalid, too old) is dead-lettered: kept, logged and counted.
 */
import type { Logger } from 'pino';
import type { TspCodec } from '../../protocol/index.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { EngineCounters } from '../counters.js';
import { withContext } from '../log.js';
import type { A2WPoster } from '../engine.js';
import type { OutboxOptions } from '../options.js';
import type { OutboxRecord, Store } from '../store/store.js';
import { RetryPolicy, type PostOutcome, type Verdict } from './retry-policy.js';

export interface OutboxDeps {
  store: Store;
  codec: TspCodec;
  post: A2WPoster;
  clock: Clock;
  logger: Logger;
  counters: EngineCounters;
  options: OutboxOptions;
  /** `webex.allowedHosts`, compiled: the only URLs a message may be posted to. */
  isAllowedUrl: (url: string) => boolean;
  policy?: RetryPolicy;
  /** Told each post's outcome (for the live feed's timelines). */
  observe?: (record: OutboxRecord, outcome: 'delivered' | 'retry' | 'dead-letter') => void;
}

interface Lane {
  records: OutboxRecord[];
  /** A post in flight or a retry timer running for the head record. */
  busy: boolean;
  timer?: TimerHandle;
}

export class Outbox {
  #deps: OutboxDeps;
  #policy: RetryPolicy;
  #lanes = new Map<string, Lane>();
  #inFlight = 0;
  /** Posts under way with the recording of their outcome (a delivery's record may outlive its post). */
  #sending = new Set<Promise<void>>();
  #state: 'running' | 'closed' = 'running';
  #abort = new AbortController();
  #idleWaiters: (() => void)[] = [];

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
    this.#policy = deps.policy ?? new RetryPolicy(deps.options);
  }

  /** Takes up what the store still holds (after a restart). */
  async start(): Promise<void> {
    this.add(await this.#deps.store.pendingOutbox());
  }

  /** Records already in the store, in id order within a lane. */
  add(records: readonly OutboxRecord[]): void {
    for (const record of records) {
      let lane = this.#lanes.get(record.orderKey);
      if (!lane) this.#lanes.set(record.orderKey, (lane = { records: [], busy: false }));
      lane.records.push(record);
    }
    this.#pump();
  }

  /** Messages waiting, and the age of the oldest (ms), for metrics. */
  depth(): { messages: number; oldestAgeMs: number } {
    let messages = 0;
    let oldest = Infinity;
    for (const lane of this.#lanes.values()) {
      messages += lane.records.length;
      if (lane.records[0]) oldest = Math.min(oldest, lane.records[0].createdAt);
    }
    return { messages, oldestAgeMs: messages === 0 ? 0 : this.#deps.clock.now() - oldest };
  }

  /** Resolves once nothing is waiting or in flight, or after `timeoutMs`; says which. */
  whenEmpty(timeoutMs: number): Promise<boolean> {
    if (this.#lanes.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimer(timeoutMs, () => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        resolve(false);
      });
      const done = (): void => {
        timer.cancel();
        resolve(true);
      };
      this.#idleWaiters.push(done);
    });
  }

  /** Posts under way (retries waiting for their time are not). */
  inFlight(): Promise<void>[] {
    return [...this.#sending];
  }

  /** Stops posting: timers cancelled, posts in flight aborted; what is left stays in the store. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#abort.abort(new Error('the outbox is closing'));
    for (const lane of this.#lanes.values()) lane.timer?.cancel();
  }

  #pump(): void {
    if (this.#state === 'closed') return;
    for (const [key, lane] of this.#lanes) {
      if (this.#inFlight >= this.#deps.options.concurrency) return;
      if (lane.busy) continue;
      const head = lane.records[0];
      if (!head) {
        this.#lanes.delete(key);
        continue;
      }
      const wait = head.nextAttemptAt - this.#deps.clock.now();
      lane.busy = true;
      if (wait > 0) {
        lane.timer = this.#deps.clock.setTimer(wait, () => this.#retryDue(lane));
        continue;
      }
      this.#track(this.#send(key, lane, head));
    }
    if (this.#lanes.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #track(work: Promise<void>): void {
    this.#sending.add(work);
    void work.finally(() => this.#sending.delete(work));
  }

  #retryDue(lane: Lane): void {
    delete lane.timer;
    lane.busy = false;
    this.#pump();
  }

  async #send(key: string, lane: Lane, record: OutboxRecord): Promise<void> {
    const { clock, store, logger, counters } = this.#deps;
    this.#inFlight++;
    let verdict: Verdict;
    try {
      verdict = await this.#attempt(record);
    } finally {
      this.#inFlight--;
    }
    // Closing: what happened to this post is decided again after the restart.
    if (this.#state === 'closed') return;
    // Made on first use: a pino child with redaction costs ~0.25 ms, and most posts log nothing.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= withContext(logger, { TransID: record.transId, MsgID: record.message.MsgID, ExtConfID: record.message.ExtConfID, ExtCallID: 'ExtCallID' in record.message ? record.message.ExtCallID : undefined }).child({ orderKey: key, msgType: record.message.type }));
    this.#deps.observe?.(record, verdict.kind);
    try {
      if (verdict.kind === 'retry') {
        record.attempts++;
        record.nextAttemptAt = clock.now() + verdict.delayMs;
        counters.outboxRetries++;
        log().warn({ attempts: record.attempts, delayMs: verdict.delayMs, reason: verdict.reason }, 'A2W post failed; will retry');
        await store.outboxRetryLater([record.id], record.attempts, record.nextAttemptAt);
      } else {
        lane.records.shift();
        if (verdict.kind === 'delivered') {
          counters.outboxDelivered++;
          // The lane goes on without waiting for this write's fsync: if it is lost in a crash,
          // the message is posted again with its TransID and WebEx ignores the repeat. The write
          // is still tracked, so `inFlight()` (settled, drain) covers it.
          this.#track(store.outboxDelivered([record.id]).catch((err: unknown) =>
            log().error({ err }, 'could not record an A2W message as delivered; it may be posted again after a restart')));
        } else {
          counters.deadLetters++;
          log().error({ url: record.url, attempts: record.attempts + 1, reason: verdict.reason, message: record.message },
            'A2W message dead-lettered: WebEx will not get it; see the dead letters in the store');
          await store.outboxDeadLetter([record.id], verdict.reason, clock.now());
        }
      }
    } catch (err) {
      log().error({ err }, 'could not record the outcome of an A2W post; it may be posted again after a restart');
    }
    lane.busy = false;
    // Round robin: a lane just served goes behind the others, so conferences with a backlog
    // (a bridge filling with callers) cannot starve a new conference's RspCreateConference.
    if (this.#lanes.get(key) === lane) {
      this.#lanes.delete(key);
      this.#lanes.set(key, lane);
    }
    this.#pump();
  }

  async #attempt(record: OutboxRecord): Promise<Verdict> {
    const { clock, codec, options, isAllowedUrl } = this.#deps;
    const ageMs = clock.now() - record.createdAt;
    if (record.url === undefined) return { kind: 'dead-letter', reason: 'no WebEx URL is known for this message' };
    if (!isAllowedUrl(record.url)) return { kind: 'dead-letter', reason: `URL ${record.url} is not in webex.allowedHosts` };
    if (ageMs > options.maxAgeMs) return { kind: 'dead-letter', reason: `older than outbox.maxAgeMs (${options.maxAgeMs} ms)` };
    let body: string;
    try {
      body = codec.encode(record.transId, [record.message]);
    } catch (err) {
      return { kind: 'dead-letter', reason: `cannot be encoded: ${String(err)}` };
    }
    let outcome: PostOutcome;
    try {
      const reply = await this.#deps.post(record.url, body, { timeoutMs: options.requestTimeoutMs, signal: this.#abort.signal });
      outcome = { kind: 'answered', status: reply.status, confirmation: codec.decodeConfirmation(reply.body) };
      if (reply.retryAfterMs !== undefined) outcome.retryAfterMs = reply.retryAfterMs;
    } catch (err) {
      outcome = { kind: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
    return this.#policy.classify(outcome, record.transId, record.attempts + 1, ageMs);
  }
}
