/**
 * The embedded default store: one SQLite file in the data directory (better-sqlite3, WAL), and
 * no call settles before its write is fsynced, so a confirmed write survives power loss.
 *
 * The connection lives on a thread of its own (sqlite-store-thread.ts, over sqlite-database.ts):
 * the event loop only hands calls over, once per turn for everything queued in it, and settles
 * them from the thread's answers. The thread commits each batch in one transaction (a savepoint
 * per call, so one failure fails only its caller) and fsyncs the WAL once before answering;
 * calls arriving meanwhile form the next batch (group commit). Checkpoints (the WAL copied back
 * into the database) run on another thread, with another connection (wal-checkpointer.ts).
 *
 * Should the store's thread die, every call in flight and every later one fails with an error
 * saying so: the engine answers Confirmation 8 and WebEx retries elsewhere, and the daemon must
 * be restarted to store again.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { closeWorker, startWorker } from '../../common/worker-thread.js';
import type { ConferenceState } from '../conference/state.js';
import type { CallOutcome, StoreCall, StoreReplies } from './sqlite-database.js';
import type { CallEnvelope, FromStoreThread, StoreThreadData, ToStoreThread } from './sqlite-store-thread.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import type {
  CommandRecord, DeadLetter, OutboxInput, OutboxRecord, RecordOutcome, StateChange, Store, TransactionInput,
} from './store.js';

export const SQLITE_FILE_NAME = 'tsp-adaptor.sqlite';

/** SQLite's own automatic checkpoint, in WAL pages: what the store falls back to without its thread. */
const AUTO_CHECKPOINT_PAGES = 1_000;
const CLOSE_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface SqliteStoreEvents {
  /** Checkpoints fell back onto the store thread's commits (slower commits, never an unbounded WAL). */
  degraded?: (reason: string) => void;
  /** The WAL fsync failed and is retried; nothing durable is answered meanwhile. */
  syncFailed?: (message: string) => void;
}

/** Opens (creating if needed) the store in `dataDir`, once its thread has the database open. */
export async function openSqliteStore(dataDir: string, events: SqliteStoreEvents = {}): Promise<SqliteStore> {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SQLITE_FILE_NAME);
  const thread = startWorker(import.meta.url, 'sqlite-store-thread', { file } satisfies StoreThreadData);
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: FromStoreThread): void => {
      if (m.type !== 'ready' && m.type !== 'open-failed') return;
      thread.off('message', onMessage).off('error', onError);
      if (m.type === 'ready') resolve();
      else reject(new Error(`cannot open the SQLite store ${file}: ${m.message}; check the data directory's permissions and free space`));
    };
    const onError = (err: Error): void => {
      thread.off('message', onMessage).off('error', onError);
      reject(new Error(`the SQLite store's thread failed to start: ${err.message}`));
    };
    thread.on('message', onMessage).on('error', onError);
  });
  return new SqliteStore(file, thread, events);
}

export class SqliteStore implements Store {
  readonly #thread: Worker;
  readonly #checkpointer: WalCheckpointer;
  readonly #pending = new Map<number, Pending>();
  #outgoing: CallEnvelope[] = [];
  #postScheduled = false;
  #nextId = 0;
  #state: { kind: 'open' } | { kind: 'closing' } | { kind: 'closed' } | { kind: 'failed'; error: Error } = { kind: 'open' };
  readonly #post = (): void => {
    this.#postScheduled = false;
    const calls = this.#outgoing;
    this.#outgoing = [];
    try {
      this.#thread.postMessage({ type: 'calls', calls } satisfies ToStoreThread);
    } catch {
      // A call holds something that cannot be copied: the others go one by one, it fails alone.
      for (const c of calls) {
        try {
          this.#thread.postMessage({ type: 'calls', calls: [c] } satisfies ToStoreThread);
        } catch (err) {
          this.#settle([c.id], [{ ok: false, message: `cannot hand this call to the SQLite store's thread: ${(err as Error).message}` }]);
        }
      }
    }
  };

  /** Use `openSqliteStore`: it waits for the thread to have the database open. */
  constructor(file: string, thread: Worker, events: SqliteStoreEvents = {}) {
    this.#thread = thread;
    // The thread keeps the process alive only while a call waits for it (#call, #settle).
    thread.unref();
    thread.on('message', (m: FromStoreThread) => {
      if (m.type === 'settled') this.#settle(m.ids, m.outcomes);
      else if (m.type === 'sync-failed') events.syncFailed?.(m.message);
    });
    thread.on('error', (err) => this.#fail(`the SQLite store's thread failed: ${err.message}`));
    thread.on('exit', (code) => this.#fail(`the SQLite store's thread exited with code ${code}`));
    this.#checkpointer = new WalCheckpointer(file);
    this.#checkpointer.on('stopped', (reason) => {
      if (this.#state.kind !== 'open') return;
      this.#thread.postMessage({ type: 'checkpoint-automatically', pages: AUTO_CHECKPOINT_PAGES } satisfies ToStoreThread);
      events.degraded?.(`${reason}; SQLite checkpoints in the store's commits again (commits pause a few ms now and then) until the next start`);
    });
  }

  async recordTransaction(tx: TransactionInput): Promise<RecordOutcome> {
    const recorded = await this.#call({ op: 'recordTransaction', tx });
    if (recorded.kind === 'repeat') return recorded;
    const commands = recorded.commandIds.map((id, i): CommandRecord =>
      ({ id, transId: tx.transId, message: tx.messages[i]!, state: 'accepted', receivedAt: tx.receivedAt }));
    return { kind: 'recorded', commands };
  }

  unfinishedCommands(): Promise<CommandRecord[]> {
    return this.#call({ op: 'unfinishedCommands' });
  }

  startCommand(commandId: number, change?: StateChange): Promise<void> {
    return this.#call({ op: 'startCommand', commandId, change });
  }

  async completeCommand(commandId: number, change: StateChange): Promise<OutboxRecord[]> {
    // A completion that changed nothing may be lost in a crash: the command only runs again.
    const ids = await this.#call({ op: 'completeCommand', commandId, change }, isChange(change));
    return stored(change.outbox, ids);
  }

  async applyChange(change: StateChange): Promise<OutboxRecord[]> {
    return stored(change.outbox, await this.#call({ op: 'applyChange', change }));
  }

  loadConferences(): Promise<ConferenceState[]> {
    return this.#call({ op: 'loadConferences' });
  }

  pendingOutbox(): Promise<OutboxRecord[]> {
    return this.#call({ op: 'pendingOutbox' });
  }

  outboxBatch(members: readonly OutboxRecord[]): Promise<void> {
    return this.#call({ op: 'outboxBatch', members: members.map((m) => ({ id: m.id, transId: m.transId })) });
  }

  outboxDelivered(ids: readonly number[]): Promise<void> {
    // Lost in a crash, the messages are posted again under their TransID and WebEx ignores the
    // repeat: no fsync is waited for, nor started, for this write alone.
    return this.#call({ op: 'outboxDelivered', ids }, false);
  }

  outboxRetryLater(ids: readonly number[], attempts: number, nextAttemptAt: number): Promise<void> {
    return this.#call({ op: 'outboxRetryLater', ids, attempts, nextAttemptAt });
  }

  outboxDeadLetter(ids: readonly number[], reason: string, at: number): Promise<void> {
    return this.#call({ op: 'outboxDeadLetter', ids, reason, at });
  }

  deadLetters(): Promise<DeadLetter[]> {
    return this.#call({ op: 'deadLetters' });
  }

  compact(transIdsBefore: number, endedBefore: number): Promise<number> {
    return this.#call({ op: 'compact', transIdsBefore, endedBefore });
  }

  /** The thread that checkpoints this store's WAL; it reports each checkpoint it makes. */
  get checkpointer(): WalCheckpointer {
    return this.#checkpointer;
  }

  /** Lets every call made before it settle, then closes the checkpoint thread and the store's. */
  async close(): Promise<void> {
    if (this.#state.kind !== 'open') return;
    await this.#call({ op: 'barrier' }).catch(() => undefined);
    this.#state = { kind: 'closing' };
    await this.#checkpointer.close();
    await closeWorker(this.#thread, { type: 'close' } satisfies ToStoreThread, CLOSE_TIMEOUT_MS);
    this.#state = { kind: 'closed' };
    this.#rejectAll(new Error('the SQLite store closed before this call was answered'));
  }

  #call<C extends StoreCall>(call: C, durable = true): Promise<StoreReplies[C['op']]> {
    const state = this.#state;
    if (state.kind === 'failed') return Promise.reject(state.error);
    if (state.kind !== 'open') return Promise.reject(new Error('the SQLite store is closed; open a new one to continue'));
    const id = ++this.#nextId;
    if (this.#pending.size === 0) this.#thread.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#outgoing.push({ id, durable, call });
      // Everything queued in this turn crosses in one message.
      if (!this.#postScheduled) {
        this.#postScheduled = true;
        setImmediate(this.#post);
      }
    });
  }

  #settle(ids: number[], outcomes: CallOutcome[]): void {
    for (let i = 0; i < ids.length; i++) {
      const pending = this.#pending.get(ids[i]!);
      if (!pending) continue;
      this.#pending.delete(ids[i]!);
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(Object.assign(new Error(outcome.message), outcome.code ? { code: outcome.code } : {}));
    }
    if (this.#pending.size === 0) this.#thread.unref();
  }

  #fail(reason: string): void {
    if (this.#state.kind !== 'open') return;
    const error = new Error(`${reason}: nothing more can be stored; restart the daemon`);
    this.#state = { kind: 'failed', error };
    void this.#checkpointer.close();
    this.#rejectAll(error);
  }

  #rejectAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#thread.unref();
  }
}

function isChange(change: StateChange): boolean {
  return (change.conferences?.length ?? 0) > 0 || (change.outbox?.length ?? 0) > 0;
}

/** The outbox inputs of a change as stored records, given the ids the store gave them. */
function stored(outbox: OutboxInput[] | undefined, ids: number[]): OutboxRecord[] {
  return (outbox ?? []).map((o, i) => ({ ...o, id: ids[i]!, attempts: 0, nextAttemptAt: 0 }));
}
