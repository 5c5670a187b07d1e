/**
 * Call detail records of a cluster (docs/high-availability.md): the buffer is in Redis, shared
 * by every instance, and the files are written by the instances that own bridges.
 *
 * `append` (called by an owner's engine before it keeps the change that ended the leg) adds each
 * record to the group's pending list unless its recordId was already seen, in one script, and
 * resolves once Redis has it. A change repeated after a take-over (the old owner wrote the record,
 * then died before keeping the change) brings the same recordId and is dropped there, whichever
 * instance repeats it. An owner that lost its lease appends nothing (`mayAct`). With
 * `store.redis.waitReplicas`, an append also waits for the replicas, as the store's writes do,
 * so a Sentinel fail-over loses no record the engine was told is kept.
 *
 * `drain` moves a batch from the pending list to this instance's in-flight list (atomically),
 * writes it to this instance's files (fsynced, CallRecordWriter), then drops the batch. A crash
 * in between leaves the batch in flight under this instance's id; the next start drains it first
 * and the writer drops the records its files already hold. So each record reaches the files
 * once, on one host: the owner's. Drained after each append and every `drainEveryMs`, only by
 * instances running an engine; records of an instance that never comes back stay in its
 * in-flight list (a handful at most) until an instance with its id starts.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CallRecord, CallRecordSink } from './call-record.js';
import { waitDurable, type Replicas } from '../store/redis/transaction-log.js';
import type { CallRecordWriter } from './call-record-writer.js';

/** How long a recordId is remembered: a repeat comes within a take-over, seconds later. */
export const RECORD_ID_MEMORY_MS = 2 * 86_400_000;
/** Records written per batch. */
const DRAIN_BATCH = 200;
/** Batches per drain, so one drain is bounded. */
const DRAIN_BATCHES_MAX = 50;
export const DRAIN_EVERY_MS = 1_000;

/** KEYS: seen, pending. ARGV: now, forgetBefore, then recordId, json pairs. Returns how many were new. */
const APPEND = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local added = 0
for i = 3, #ARGV, 2 do
  if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
    added = added + 1
  end
end
return added`;

/** KEYS: pending, inFlight. ARGV: batch. Moves up to a batch unless one is already in flight; returns the in-flight list. */
const CLAIM = `
if redis.call('LLEN', KEYS[2]) == 0 then
  for i = 1, tonumber(ARGV[1]) do
    if not redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') then break end
  end
end
return redis.call('LRANGE', KEYS[2], 0, -1)`;

export interface RedisCallRecordsDeps {
  redis: Redis;
  /** The cluster group: keys share its hash tag `{group}` as the store's do. */
  group: string;
  instanceId: string;
  /** This instance's files. */
  writer: Pick<CallRecordWriter, 'append' | 'digitsKept'>;
  logger: Logger;
  drainEveryMs?: number;
  waitReplicas?: Replicas;
}

export function callRecordKeys(group: string, instanceId: string): { seen: string; pending: string; inFlight: string } {
  const p = `tsp:{${group}}:call-records:`;
  return { seen: `${p}seen`, pending: `${p}pending`, inFlight: `${p}in-flight:${instanceId}` };
}

export class RedisCallRecords {
  #deps: RedisCallRecordsDeps;
  #keys: ReturnType<typeof callRecordKeys>;
  #draining: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  /** Whether this instance should drain now (it runs an engine). */
  #shouldDrain: () => boolean = () => false;
  #closed = false;

  constructor(deps: RedisCallRecordsDeps) {
    this.#deps = deps;
    this.#keys = callRecordKeys(deps.group, deps.instanceId);
  }

  /** What one engine appends through: refused once that engine's lease is gone. */
  sinkFor(mayAct: () => boolean): CallRecordSink {
    return {
      digitsKept: this.#deps.writer.digitsKept,
      append: async (records) => {
        if (records.length === 0) return;
        if (!mayAct()) throw new Error('call records not buffered: this instance no longer holds the bridge lease; the new owner records these legs');
        await this.append(records);
      },
    };
  }

  async append(records: readonly CallRecord[], now = Date.now()): Promise<number> {
    const args = records.flatMap((r) => [r.recordId, JSON.stringify(r)]);
    const added = await this.#deps.redis.eval(APPEND, 2, this.#keys.seen, this.#keys.pending, now, now - RECORD_ID_MEMORY_MS, ...args) as number;
    if (added > 0) await waitDurable(this.#deps.redis, this.#deps.waitReplicas);
    this.drain();
    return added;
  }

  /** Drains at once, then every `drainEveryMs` while `shouldDrain()`; what a previous life left in flight goes first. */
  start(shouldDrain: () => boolean): void {
    this.#shouldDrain = shouldDrain;
    this.#timer = setInterval(() => { if (this.#shouldDrain()) this.drain(); }, this.#deps.drainEveryMs ?? DRAIN_EVERY_MS);
    this.#timer.unref();
    this.drain();
  }

  /** Starts a drain, or asks the running one to go round again. */
  drain(): void {
    if (this.#closed) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drainLoop().finally(() => { this.#draining = undefined; });
  }

  /** Resolves once no drain is running. */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.settled();
  }

  async #drainLoop(): Promise<void> {
    try {
      for (let batch = 0; batch < DRAIN_BATCHES_MAX; batch++) {
        this.#again = false;
        const items = await this.#deps.redis.eval(CLAIM, 2, this.#keys.pending, this.#keys.inFlight, DRAIN_BATCH) as string[];
        if (items.length === 0) {
          if (this.#again) continue;
          return;
        }
        await this.#deps.writer.append(items.map((json) => JSON.parse(json) as CallRecord));
        await this.#deps.redis.ltrim(this.#keys.inFlight, items.length, -1);
      }
    } catch (err) {
      this.#deps.logger.warn({ err }, 'call records not drained from Redis to the files; they stay buffered and the next drain tries again');
    }
  }
}
