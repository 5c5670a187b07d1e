/**
 * The shared store of ONE bridge's partition, for several instances: Redis (through Sentinel in
 * production). The owner of a bridge runs an engine on its bridge's store: its commands,
 * conferences and outbox. Each unit the Store interface names is ONE Lua script, so it is
 * atomic for every instance; the TransID journal is shared by all bridges and instances
 * (transaction-log.ts), so a retry landing on another instance is recognised.
 *
 * Fencing: writes made by a bridge's owner (command start and completion, state changes, the
 * outbox) carry the value of THAT bridge's lease the owner holds; the script refuses them when
 * the lease moved on, so an owner that was paused past its lease cannot write anything twice.
 * Each engine writes through its own view (`under`), bound to the lease value it started
 * under, so an engine this instance has closed cannot write under a lease taken after it.
 * Intake (`recordTransaction`) is not fenced: any instance may record a command, the owner
 * runs it.
 *
 * Durability: a write resolves once Redis applied it and, when `waitReplicas` is set, once
 * that many replicas acknowledged it (WAIT), so a Sentinel fail-over keeps it
 * (docs/high-availability.md).
 */
import type { Redis } from 'ioredis';
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import type { ConferenceState } from '../conference/state.js';
import { bridgeKeys, type BridgeKeys } from './redis/keys.js';
import {
  APPLY_CHANGE, COMPACT, OUTBOX_BATCH, OUTBOX_DEAD_LETTER, OUTBOX_DELIVERED, OUTBOX_RETRY,
} from './redis/scripts.js';
import { TransactionLog, waitDurable, type Replicas } from './redis/transaction-log.js';
import type {
  CommandRecord, DeadLetter, OutboxInput, OutboxRecord, RecordOutcome, StateChange, Store, TransactionInput,
} from './store.js';

export interface RedisStoreOptions {
  /** Names the cluster: instances with the same group share state. */
  group: string;
  /** The bridge whose partition this store is: one lease, one owner. */
  bridgeId: string;
  /**
   * The value of this bridge's lease this store writes under, or undefined when the store is
   * not fenced (tests). Called at every owner write.
   */
  fence?: () => string;
  /** Told when an owner write fails for any reason but fencing (see `under`). */
  onWriteFailure?: (err: unknown) => void;
  /** Replicas that must acknowledge each write before it counts as durable. */
  waitReplicas?: Replicas;
}

/** A write refused because the writer's lease is no longer the current one. */
export class FencedError extends Error {
  readonly code = 'TSP_ERR_FENCED';
  constructor(cause: unknown) {
    super('write refused: this instance no longer holds the bridge lease (another instance took over)', { cause });
  }
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

const SCRIPTS = {
  tspApply: { numberOfKeys: 7, lua: APPLY_CHANGE },
  tspBatch: { numberOfKeys: 2, lua: OUTBOX_BATCH },
  tspDelivered: { numberOfKeys: 3, lua: OUTBOX_DELIVERED },
  tspRetry: { numberOfKeys: 3, lua: OUTBOX_RETRY },
  tspDeadLetter: { numberOfKeys: 4, lua: OUTBOX_DEAD_LETTER },
  tspCompact: { numberOfKeys: 5, lua: COMPACT },
} as const;

interface StoredCommand { transId: string; message: W2AMessage; receivedAt: number }

/** What every view of one bridge's store counts together. */
interface Tally { fencingRefusals: number }

export class RedisStore implements Store {
  readonly keys: BridgeKeys;
  readonly bridgeId: string;
  #redis: Redis;
  #options: RedisStoreOptions;
  #log: TransactionLog;
  #scripts: Record<keyof typeof SCRIPTS, ScriptFn>;
  #tally: Tally;

  /** `redis` is the caller's; `close()` leaves it open. */
  constructor(redis: Redis, options: RedisStoreOptions, tally: Tally = { fencingRefusals: 0 }) {
    this.#redis = redis;
    this.#options = options;
    this.#tally = tally;
    this.bridgeId = options.bridgeId;
    this.keys = bridgeKeys(options.group, options.bridgeId);
    this.#log = new TransactionLog(redis, { group: options.group, ...(options.waitReplicas ? { waitReplicas: options.waitReplicas } : {}) });
    for (const [name, def] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, def);
    }
    const r = redis as unknown as Record<string, ScriptFn>;
    this.#scripts = Object.fromEntries(Object.keys(SCRIPTS).map((n) => [n, r[n]!.bind(redis)])) as Record<keyof typeof SCRIPTS, ScriptFn>;
  }

  /** Owner writes refused by a fencing check since start, over every view of this store. */
  get fencingRefusals(): number {
    return this.#tally.fencingRefusals;
  }

  /**
   * The same partition, writing under the fixed lease value `fence`: what one engine gets for
   * its whole life. Its failed writes (but fencing refusals) go to `onWriteFailure`.
   */
  under(fence: string, onWriteFailure: (err: unknown) => void): RedisStore {
    return new RedisStore(this.#redis, { ...this.#options, fence: () => fence, onWriteFailure }, this.#tally);
  }

  /** Records for this bridge unless the conference is routed to another already (a test path: intake routes in cluster-member.ts). */
  async recordTransaction(tx: TransactionInput): Promise<RecordOutcome> {
    const outcome = await this.#log.record(tx, () => this.#options.bridgeId);
    if (outcome.kind === 'repeat') return outcome;
    return { kind: 'recorded', commands: outcome.commands.map(({ bridgeId: _bridge, ...c }) => c) };
  }

  async unfinishedCommands(): Promise<CommandRecord[]> {
    const [all, started] = await Promise.all([
      this.#redis.hgetall(this.keys.commands), this.#redis.smembers(this.keys.commandsStarted),
    ]);
    const isStarted = new Set(started);
    return Object.entries(all)
      .map(([id, body]): CommandRecord => {
        const c = JSON.parse(body) as StoredCommand;
        return { id: Number(id), transId: c.transId, message: c.message, state: isStarted.has(id) ? 'started' : 'accepted', receivedAt: c.receivedAt };
      })
      .sort((a, b) => a.id - b.id);
  }

  async startCommand(commandId: number, change?: StateChange): Promise<void> {
    await this.#apply('start', commandId, change ?? {});
  }

  completeCommand(commandId: number, change: StateChange): Promise<OutboxRecord[]> {
    return this.#apply('complete', commandId, change);
  }

  applyChange(change: StateChange): Promise<OutboxRecord[]> {
    return this.#apply('apply', 0, change);
  }

  async loadConferences(): Promise<ConferenceState[]> {
    return Object.values(await this.#redis.hgetall(this.keys.conferences)).map((s) => JSON.parse(s) as ConferenceState);
  }

  async pendingOutbox(): Promise<OutboxRecord[]> {
    const [all, retry] = await Promise.all([this.#redis.hgetall(this.keys.outbox), this.#redis.hgetall(this.keys.outboxRetry)]);
    return Object.entries(all)
      .map(([id, body]) => toOutboxRecord(Number(id), body, retry[id] ?? null))
      .sort((a, b) => a.id - b.id);
  }

  async outboxBatch(members: readonly OutboxRecord[]): Promise<void> {
    const k = this.keys;
    // The body as `#apply` wrote it, with the batch's TransID: pendingOutbox reads it back whole.
    const pairs = members.flatMap(({ id, orderKey, url, message, transId, createdAt }) =>
      [id, JSON.stringify({ orderKey, url, message, transId, createdAt } satisfies OutboxInput)]);
    await this.#fenced(() => this.#scripts.tspBatch(k.lease, k.outbox, this.#fence(), ...pairs));
  }

  async outboxDelivered(ids: readonly number[]): Promise<void> {
    const k = this.keys;
    await this.#fenced(() => this.#scripts.tspDelivered(k.lease, k.outbox, k.outboxRetry, this.#fence(), ...ids));
  }

  async outboxRetryLater(ids: readonly number[], attempts: number, nextAttemptAt: number): Promise<void> {
    const k = this.keys;
    await this.#fenced(() => this.#scripts.tspRetry(k.lease, k.outbox, k.outboxRetry, this.#fence(), `${attempts}:${nextAttemptAt}`, ...ids));
  }

  async outboxDeadLetter(ids: readonly number[], reason: string, at: number): Promise<void> {
    const k = this.keys;
    const keys = ids.map(String);
    const [bodies, retries] = await Promise.all([this.#redis.hmget(k.outbox, ...keys), this.#redis.hmget(k.outboxRetry, ...keys)]);
    const pairs = ids.flatMap((id, i) => {
      const body = bodies[i];
      if (body === null || body === undefined) return [];
      const dead: DeadLetter = { record: toOutboxRecord(id, body, retries[i] ?? null), reason, at };
      return [id, JSON.stringify(dead)];
    });
    if (pairs.length === 0) return;
    await this.#fenced(() => this.#scripts.tspDeadLetter(k.lease, k.outbox, k.outboxRetry, k.deadLetters, this.#fence(), ...pairs));
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return Object.entries(await this.#redis.hgetall(this.keys.deadLetters))
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, s]) => JSON.parse(s) as DeadLetter);
  }

  async compact(transIdsBefore: number, endedBefore: number): Promise<number> {
    const k = this.keys;
    const g = this.#log.keys;
    return Number(await this.#scripts.tspCompact(g.transResults, g.transByTime, k.conferences, k.conferencesEnded, g.routes, transIdsBefore, endedBefore));
  }

  /** The connection is the caller's: it may be shared with the lease and the heartbeats. */
  async close(): Promise<void> {}

  async #apply(op: 'start' | 'complete' | 'apply', commandId: number, change: StateChange): Promise<OutboxRecord[]> {
    const k = this.keys;
    const confArgs = (change.conferences ?? []).flatMap((c) => [c.confId, JSON.stringify(c), c.endedAt ?? '']);
    const outbox = change.outbox ?? [];
    const ids = await this.#fenced(() => this.#scripts.tspApply(
      k.lease, k.commands, k.commandsStarted, k.conferences, k.conferencesEnded, k.outbox, k.outboxSeq,
      this.#fence(), op, commandId, (change.conferences ?? []).length, ...confArgs, ...outbox.map((o) => JSON.stringify(o)),
    )) as number[];
    return outbox.map((o, i) => ({ ...o, id: Number(ids[i]), attempts: 0, nextAttemptAt: 0 }));
  }

  #fence(): string {
    return this.#options.fence?.() ?? '';
  }

  async #fenced<T>(write: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await write();
      await this.#durable();
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('FENCED')) {
        this.#tally.fencingRefusals++;
        throw new FencedError(err);
      }
      // Redis away, a fail-over, too few replicas: the command that made this write stays
      // unfinished in Redis, where only a fresh engine looks again (bridge-ownership.ts).
      this.#options.onWriteFailure?.(err);
      throw err;
    }
    return result;
  }

  #durable(): Promise<void> {
    return waitDurable(this.#redis, this.#options.waitReplicas);
  }
}

/** A stored outbox body with its retry state ("attempts:nextAttemptAt", absent before the first retry). */
function toOutboxRecord(id: number, body: string, retry: string | null): OutboxRecord {
  const [attempts, nextAttemptAt] = (retry ?? '0:0').split(':').map(Number);
  return { ...(JSON.parse(body) as OutboxInput), id, attempts: attempts ?? 0, nextAttemptAt: nextAttemptAt ?? 0 };
}
