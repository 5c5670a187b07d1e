/**
 * The shared store for several instances: Redis (through Sentinel in production). Each unit
 * the Store interface names is ONE Lua script, so it is atomic for every instance; the TransID
 * journal is one hash for all instances, so a retry landing on another instance is recognised.
 *
 * Fencing: writes made by a bridge owner (command start and completion, state changes, the
 * outbox) carry the lease value the owner holds; the script refuses them when the lease moved
 * on, so an owner that was paused past its lease cannot write anything twice. Intake
 * (`recordTransaction`) is not fenced: any instance may record a command, the owner runs it.
 *
 * Durability: a write resolves once Redis applied it and, when `waitReplicas` is set, once
 * that many replicas acknowledged it (WAIT), so a Sentinel fail-over keeps it
 * (docs/high-availability.md).
 */
import type { Redis } from 'ioredis';
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import type { ConferenceState } from '../conference/state.js';
import { redisKeys, type RedisKeys } from './redis/keys.js';
import {
  APPLY_CHANGE, COMPACT, OUTBOX_DEAD_LETTER, OUTBOX_DELIVERED, OUTBOX_RETRY, RECORD_TRANSACTION,
} from './redis/scripts.js';
import type {
  CommandRecord, DeadLetter, OutboxInput, OutboxRecord, RecordOutcome, StateChange, Store, TransactionInput,
} from './store.js';

export interface RedisStoreOptions {
  /** Names the cluster: instances with the same group share state and one lease. */
  group: string;
  /**
   * The lease value this instance writes under, or undefined when the store is not fenced
   * (one instance, tests). Called at every owner write.
   */
  fence?: () => string;
  /** Replicas that must acknowledge each write before it counts as durable. */
  waitReplicas?: { replicas: number; timeoutMs: number };
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
  tspRecord: { numberOfKeys: 5, lua: RECORD_TRANSACTION },
  tspApply: { numberOfKeys: 7, lua: APPLY_CHANGE },
  tspDelivered: { numberOfKeys: 3, lua: OUTBOX_DELIVERED },
  tspRetry: { numberOfKeys: 3, lua: OUTBOX_RETRY },
  tspDeadLetter: { numberOfKeys: 4, lua: OUTBOX_DEAD_LETTER },
  tspCompact: { numberOfKeys: 4, lua: COMPACT },
} as const;

interface StoredCommand { transId: string; message: W2AMessage; receivedAt: number }

export class RedisStore implements Store {
  /** Owner writes refused by a fencing check, since start. */
  fencingRefusals = 0;
  readonly keys: RedisKeys;
  #redis: Redis;
  #options: RedisStoreOptions;
  #scripts: Record<keyof typeof SCRIPTS, ScriptFn>;

  /** `redis` is the caller's; `close()` leaves it open. */
  constructor(redis: Redis, options: RedisStoreOptions) {
    this.#redis = redis;
    this.#options = options;
    this.keys = redisKeys(options.group);
    for (const [name, def] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, def);
    }
    const r = redis as unknown as Record<string, ScriptFn>;
    this.#scripts = Object.fromEntries(Object.keys(SCRIPTS).map((n) => [n, r[n]!.bind(redis)])) as Record<keyof typeof SCRIPTS, ScriptFn>;
  }

  async recordTransaction(tx: TransactionInput): Promise<RecordOutcome> {
    const k = this.keys;
    const bodies = tx.messages.map((message) => JSON.stringify({ transId: tx.transId, message, receivedAt: tx.receivedAt } satisfies StoredCommand));
    const reply = await this.#scripts.tspRecord(k.transResults, k.transByTime, k.commands, k.commandSeq, k.handOff,
      tx.transId, tx.result, tx.receivedAt, ...bodies) as number[];
    if (reply[0] === 0) return { kind: 'repeat', result: Number(reply[1]) };
    await this.#durable();
    const commands = tx.messages.map((message, i): CommandRecord => ({
      id: Number(reply[i + 1]), transId: tx.transId, message, state: 'accepted', receivedAt: tx.receivedAt,
    }));
    return { kind: 'recorded', commands };
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
      .map(([id, body]): OutboxRecord => {
        const [attempts, nextAttemptAt] = (retry[id] ?? '0:0').split(':').map(Number);
        return { ...(JSON.parse(body) as OutboxInput), id: Number(id), attempts: attempts ?? 0, nextAttemptAt: nextAttemptAt ?? 0 };
      })
      .sort((a, b) => a.id - b.id);
  }

  async outboxDelivered(id: number): Promise<void> {
    const k = this.keys;
    await this.#fenced(() => this.#scripts.tspDelivered(k.lease, k.outbox, k.outboxRetry, this.#fence(), id));
  }

  async outboxRetryLater(id: number, attempts: number, nextAttemptAt: number): Promise<void> {
    const k = this.keys;
    await this.#fenced(() => this.#scripts.tspRetry(k.lease, k.outbox, k.outboxRetry, this.#fence(), id, `${attempts}:${nextAttemptAt}`));
  }

  async outboxDeadLetter(id: number, reason: string, at: number): Promise<void> {
    const k = this.keys;
    const [body, retry] = await Promise.all([this.#redis.hget(k.outbox, String(id)), this.#redis.hget(k.outboxRetry, String(id))]);
    if (body === null) return;
    const [attempts, nextAttemptAt] = (retry ?? '0:0').split(':').map(Number);
    const record: OutboxRecord = { ...(JSON.parse(body) as OutboxInput), id, attempts: attempts ?? 0, nextAttemptAt: nextAttemptAt ?? 0 };
    const dead: DeadLetter = { record, reason, at };
    await this.#fenced(() => this.#scripts.tspDeadLetter(k.lease, k.outbox, k.outboxRetry, k.deadLetters, this.#fence(), id, JSON.stringify(dead)));
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return Object.entries(await this.#redis.hgetall(this.keys.deadLetters))
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, s]) => JSON.parse(s) as DeadLetter);
  }

  async compact(transIdsBefore: number, endedBefore: number): Promise<number> {
    const k = this.keys;
    return Number(await this.#scripts.tspCompact(k.transResults, k.transByTime, k.conferences, k.conferencesEnded, transIdsBefore, endedBefore));
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
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('FENCED')) {
        this.fencingRefusals++;
        throw new FencedError(err);
      }
      throw err;
    }
    await this.#durable();
    return result;
  }

  async #durable(): Promise<void> {
    const want = this.#options.waitReplicas;
    if (!want || want.replicas === 0) return;
    const acked = await this.#redis.wait(want.replicas, want.timeoutMs);
    if (acked < want.replicas) {
      throw new Error(`only ${acked} of ${want.replicas} Redis replicas acknowledged a write within ${want.timeoutMs} ms; check the replicas (INFO replication)`);
    }
  }
}
