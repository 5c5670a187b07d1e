/**
 * Delivers A2W messages (issues 4 and 7, spec 2, 3.5 and 4). Every message is in the store before
 * its first attempt; the messages of one lane (one conference and WebEx URL) go in the order
 * produced, a lane waiting while its head is retried; lanes proceed in parallel up to
 * `concurrency` posts. A message that cannot be delivered (URL not allowed, rejected as
 * invalid, too old) is dead-lettered: kept, logged and counted.
 *
 * Batching: the messages already waiting for one WebEx URL when a post can start go in ONE POST
 * under one TransID (the envelope carries several elements; WebEx confirms the transaction as a
 * whole), at most `batchMaxMessages` and `batchMaxBytes`, in id order, which is each lane's
 * order. Nothing waits for a batch to fill: at low load a message goes out alone at once.
 *
 * Exactly-once holds batch by batch: a retry, also after a restart or a take-over, posts the same
 * set under the same TransID. So a batch is in the store before its first POST: its members take
 * the TransID of its first member (never posted, so unknown to WebEx) in one durable write
 * (`Store.outboxBatch`); a message posted alone keeps the TransID it was stored with and needs no
 * write. Only a message this process has never posted may join a batch: one read back at start
 * may have gone out alone just before a crash, so it keeps its TransID, or the batch it was
 * stored in; and until the read at start is through, nothing is batched, since that read may
 * return a message posted meanwhile under its own TransID. A batch is delivered, retried and
 * dead-lettered as one (docs/engine.md says why it is formed at post time, not at commit time).
 */
import type { Logger } from 'pino';
import type { TspCodec } from '../../protocol/index.js';
import type { Clock } from '../clock.js';
import type { EngineCounters } from '../counters.js';
import { withContext } from '../log.js';
import type { A2WPoster } from '../engine.js';
import type { OutboxOptions } from '../options.js';
import type { OutboxRecord, Store } from '../store/store.js';
import { atHeads, seal, startBatch, type Batch, type Entry, type Lane } from './batch.js';
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
  /** Told each post's outcome for each message in it (for the live feed's timelines). */
  observe?: (record: OutboxRecord, outcome: 'delivered' | 'retry' | 'dead-letter') => void;
}

export class Outbox {
  #deps: OutboxDeps;
  #policy: RetryPolicy;
  #lanes = new Map<string, Lane>();
  /** Every message waiting, by id: the read at start and the engine's hand-over may both name one. */
  #entries = new Map<number, Entry>();
  #inFlight = 0;
  /** Posts under way with the recording of their outcome (a delivery's record may outlive its post). */
  #sending = new Set<Promise<void>>();
  /** Batches whose retry timer runs. */
  #waiting = new Set<Batch>();
  /** Batches are formed only once `start` has read what the store holds. */
  #state: 'starting' | 'running' | 'closed' = 'starting';
  #abort = new AbortController();
  #idleWaiters: (() => void)[] = [];
  #pumpQueued = false;

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
    this.#policy = deps.policy ?? new RetryPolicy(deps.options);
  }

  /**
   * Takes up what the store still holds (after a restart or a take-over): records sharing a
   * TransID are one batch again; each other record stays alone, under its own TransID.
   */
  async start(): Promise<void> {
    const batches = new Map<string, Batch>();
    for (const record of await this.#deps.store.pendingOutbox()) {
      const entry = this.#enter(record);
      if (!entry) continue;
      let batch = batches.get(record.transId);
      if (!batch) batches.set(record.transId, (batch = startBatch(record, true)));
      batch.members.push(entry);
      batch.attempts = Math.max(batch.attempts, record.attempts);
      batch.nextAttemptAt = Math.max(batch.nextAttemptAt, record.nextAttemptAt);
      batch.createdAt = Math.min(batch.createdAt, record.createdAt);
      entry.batch = batch;
    }
    if (this.#state === 'starting') this.#state = 'running';
    this.#pump();
  }

  /** Records just stored (never posted), in id order within a lane. */
  add(records: readonly OutboxRecord[]): void {
    for (const record of records) this.#enter(record);
    this.#pumpSoon();
  }

  /** Messages waiting, and the age of the oldest (ms), for metrics. */
  depth(): { messages: number; oldestAgeMs: number } {
    let messages = 0;
    let oldest = Infinity;
    for (const lane of this.#lanes.values()) {
      messages += lane.entries.length;
      if (lane.entries[0]) oldest = Math.min(oldest, lane.entries[0].record.createdAt);
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
    for (const batch of this.#waiting) batch.timer?.cancel();
    this.#waiting.clear();
  }

  /**
   * Pumps once the current job's microtasks ran: the commits one group commit (SQLite) or one
   * socket read (Redis) settles hand their messages over one after another in the same job, and
   * they are waiting together when the pump runs. No timer is involved: nothing waits to fill.
   */
  #pumpSoon(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #enter(record: OutboxRecord): Entry | undefined {
    if (this.#entries.has(record.id)) return undefined;
    let lane = this.#lanes.get(record.orderKey);
    if (!lane) this.#lanes.set(record.orderKey, (lane = { entries: [], held: false }));
    const entry: Entry = { record, lane };
    lane.entries.push(entry);
    this.#entries.set(record.id, entry);
    return entry;
  }

  /**
   * One round over the lanes: a lane whose head already belongs to a batch (read back, or being
   * retried) sends it once every member is at the head of its lane; lanes with never-posted
   * heads fill one new batch per URL with what they hold.
   */
  #pump(): void {
    if (this.#state === 'closed') return;
    const { concurrency } = this.#deps.options;
    const batchMaxMessages = this.#state === 'running' ? this.#deps.options.batchMaxMessages : 1;
    const filling = new Map<string | undefined, Batch>();
    for (const [key, lane] of this.#lanes) {
      if (lane.held) continue;
      const head = lane.entries[0];
      if (!head) {
        this.#lanes.delete(key);
        continue;
      }
      if (head.batch) {
        if (this.#inFlight + filling.size >= concurrency) break;
        if (atHeads(head.batch)) this.#launch(head.batch);
        continue;
      }
      let batch = filling.get(head.record.url);
      if (!batch) {
        if (this.#inFlight + filling.size >= concurrency) break;
        filling.set(head.record.url, (batch = startBatch(head.record, false)));
      }
      for (const entry of lane.entries) {
        if (entry.batch || batch.members.length >= batchMaxMessages) break;
        entry.batch = batch;
        batch.members.push(entry);
        batch.createdAt = Math.min(batch.createdAt, entry.record.createdAt);
      }
      lane.held = true;
      if (batch.members.length >= batchMaxMessages) {
        filling.delete(head.record.url);
        this.#launch(seal(batch, this.#deps.codec, this.#deps.options.batchMaxBytes));
      }
    }
    for (const batch of filling.values()) this.#launch(seal(batch, this.#deps.codec, this.#deps.options.batchMaxBytes));
    if (this.#lanes.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #launch(batch: Batch): void {
    for (const m of batch.members) m.lane.held = true;
    const wait = batch.nextAttemptAt - this.#deps.clock.now();
    if (wait <= 0) {
      this.#track(this.#send(batch));
      return;
    }
    this.#waiting.add(batch);
    batch.timer = this.#deps.clock.setTimer(wait, () => {
      this.#waiting.delete(batch);
      delete batch.timer;
      this.#release(batch);
      this.#pump();
    });
  }

  /** Lets the batch's lanes go on; each goes behind the others (round robin). */
  #release(batch: Batch): void {
    for (const m of batch.members) {
      const lane = m.lane;
      if (!lane.held) continue;
      lane.held = false;
      // A lane just served goes behind the others, so conferences with a backlog (a bridge
      // filling with callers) cannot starve a new conference's RspCreateConference.
      const key = m.record.orderKey;
      if (this.#lanes.get(key) === lane) {
        this.#lanes.delete(key);
        this.#lanes.set(key, lane);
      }
    }
  }

  #track(work: Promise<void>): void {
    this.#sending.add(work);
    void work.finally(() => this.#sending.delete(work));
  }

  async #send(batch: Batch): Promise<void> {
    const { clock, store, logger, counters, observe } = this.#deps;
    this.#inFlight++;
    let verdict: Verdict;
    try {
      verdict = await this.#attempt(batch);
    } finally {
      this.#inFlight--;
    }
    // Closing: what happened to this post is decided again after the restart.
    if (this.#state === 'closed') return;
    const records = batch.members.map((m) => m.record);
    const ids = records.map((r) => r.id);
    // Made on first use: a pino child with redaction costs ~0.25 ms, and most posts log nothing.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= withContext(logger, { TransID: batch.transId, ...messageContext(records[0]!) })
      .child({ orderKey: records[0]!.orderKey, msgType: records[0]!.message.type, ...(records.length > 1 ? { batch: records.length } : {}) }));
    for (const record of records) observe?.(record, verdict.kind);
    try {
      if (verdict.kind === 'retry') {
        batch.attempts++;
        batch.nextAttemptAt = clock.now() + verdict.delayMs;
        for (const r of records) Object.assign(r, { attempts: batch.attempts, nextAttemptAt: batch.nextAttemptAt });
        counters.outboxRetries++;
        log().warn({ attempts: batch.attempts, delayMs: verdict.delayMs, reason: verdict.reason }, 'A2W post failed; will retry');
        await store.outboxRetryLater(ids, batch.attempts, batch.nextAttemptAt);
      } else {
        for (const m of batch.members) {
          m.lane.entries.splice(m.lane.entries.indexOf(m), 1);
          this.#entries.delete(m.record.id);
        }
        if (verdict.kind === 'delivered') {
          counters.outboxDelivered += records.length;
          // The lanes go on without waiting for this write's fsync: if it is lost in a crash,
          // the batch is posted again with its TransID and WebEx ignores the repeat. The write
          // is still tracked, so `inFlight()` (settled, drain) covers it.
          this.#track(store.outboxDelivered(ids).catch((err: unknown) =>
            log().error({ err }, 'could not record an A2W post as delivered; it may be posted again after a restart')));
        } else {
          counters.deadLetters += records.length;
          for (const record of records) {
            withContext(logger, { TransID: batch.transId, ...messageContext(record) }).error(
              { url: record.url, attempts: batch.attempts + 1, reason: verdict.reason, message: record.message },
              'A2W message dead-lettered: WebEx will not get it; see the dead letters in the store');
          }
          await store.outboxDeadLetter(ids, verdict.reason, clock.now());
        }
      }
    } catch (err) {
      log().error({ err }, 'could not record the outcome of an A2W post; it may be posted again after a restart');
    }
    this.#release(batch);
    this.#pumpSoon();
  }

  async #attempt(batch: Batch): Promise<Verdict> {
    const { clock, codec, options, isAllowedUrl, store, counters } = this.#deps;
    const ageMs = clock.now() - batch.createdAt;
    if (batch.url === undefined) return { kind: 'dead-letter', reason: 'no WebEx URL is known for this message' };
    if (!isAllowedUrl(batch.url)) return { kind: 'dead-letter', reason: `URL ${batch.url} is not in webex.allowedHosts` };
    if (ageMs > options.maxAgeMs) return { kind: 'dead-letter', reason: `older than outbox.maxAgeMs (${options.maxAgeMs} ms)` };
    const messages = batch.members.map((m) => m.record.message);
    try {
      batch.body ??= codec.encode(batch.transId, messages);
    } catch (err) {
      return { kind: 'dead-letter', reason: `cannot be encoded: ${String(err)}` };
    }
    let outcome: PostOutcome;
    try {
      if (!batch.recorded) {
        await store.outboxBatch(batch.members.map((m) => m.record));
        batch.recorded = true;
      }
      counters.outboxPosts++;
      counters.outboxPostedMessages += messages.length;
      const reply = await this.#deps.post(batch.url, batch.body, { timeoutMs: options.requestTimeoutMs, signal: this.#abort.signal });
      outcome = { kind: 'answered', status: reply.status, confirmation: codec.decodeConfirmation(reply.body) };
      if (reply.retryAfterMs !== undefined) outcome.retryAfterMs = reply.retryAfterMs;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      outcome = { kind: 'failed', error: batch.recorded ? reason : `the batch could not be stored before its first post: ${reason}` };
    }
    return this.#policy.classify(outcome, batch.transId, batch.attempts + 1, ageMs);
  }
}

function messageContext(record: OutboxRecord): Record<string, string | undefined> {
  const m = record.message;
  return { MsgID: m.MsgID, ExtConfID: m.ExtConfID, ExtCallID: 'ExtCallID' in m ? m.ExtCallID : undefined };
}
