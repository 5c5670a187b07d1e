/**
 * The embedded default store: one SQLite file in the data directory (better-sqlite3, WAL), and
 * no call settles before its write is fsynced, so a confirmed write survives power loss.
 *
 * Group commit: every call queues its work, and all work queued in one event-loop turn (or, while
 * an fsync runs, until it ends) runs in ONE write transaction, each call inside its own savepoint
 * so one failure fails only its caller. The WAL is then fsynced off the event loop, one fsync at
 * a time covering every transaction committed before it: under load, concurrent `accept`s share
 * the commit and the fsync instead of paying one each, and the loop keeps taking requests while
 * the disk works. Checkpoints (the
 * WAL copied back into the database) run on a thread of their own (wal-checkpointer.ts).
 */
import { closeSync, fsync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import type { ConferenceState } from '../conference/state.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import type {
  CommandRecord, DeadLetter, OutboxRecord, RecordOutcome, StateChange, Store, TransactionInput,
} from './store.js';

export const SQLITE_FILE_NAME = 'tsp-adaptor.sqlite';
const FSYNC_RETRY_MS = 100;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS transactions (
  trans_id TEXT PRIMARY KEY, result INTEGER NOT NULL, received_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS transactions_received_at ON transactions(received_at);
CREATE TABLE IF NOT EXISTS commands (
  id INTEGER PRIMARY KEY AUTOINCREMENT, trans_id TEXT NOT NULL, message TEXT NOT NULL,
  state TEXT NOT NULL, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS conferences (
  conf_id TEXT PRIMARY KEY, state TEXT NOT NULL, ended_at INTEGER);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, order_key TEXT NOT NULL, url TEXT, trans_id TEXT NOT NULL,
  message TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY, record TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);
`;

interface Pending {
  work: () => unknown;
  /** False for a write whose loss in a crash is harmless: it settles at commit, without an fsync. */
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface OutboxRow {
  id: number; order_key: string; url: string | null; trans_id: string; message: string;
  created_at: number; attempts: number; next_attempt_at: number;
}

/** SQLite's own automatic checkpoint, in WAL pages: what the store falls back to without its thread. */
const AUTO_CHECKPOINT_PAGES = 1_000;

/**
 * Opens (creating if needed) the store in `dataDir`. `degraded` hears why, should checkpoints
 * fall back onto the event loop.
 */
export async function openSqliteStore(dataDir: string, degraded?: (reason: string) => void): Promise<SqliteStore> {
  mkdirSync(dataDir, { recursive: true });
  return new SqliteStore(join(dataDir, SQLITE_FILE_NAME), degraded);
}

export class SqliteStore implements Store {
  #db: Database.Database;
  #queue: Pending[] = [];
  #flushScheduled = false;
  /** Settlements of committed batches waiting for the WAL fsync that makes them durable. */
  #unsynced: (() => void)[] = [];
  #syncing = false;
  readonly #walFd: number;
  #closed = false;
  /** Runs `work` in a transaction, or in a savepoint when one is open. */
  readonly #inTransaction: <T>(work: () => T) => T;
  readonly #checkpointer: WalCheckpointer;
  #stmt;

  constructor(file: string, degraded?: (reason: string) => void) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    // Durability comes from our own fsync of the WAL before any promise settles (#sync), done
    // on libuv's pool: SQLite's FULL would fsync on the event loop, blocking it ~5 ms a commit.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    this.#db.pragma('wal_autocheckpoint = 0');
    this.#checkpointer = new WalCheckpointer(file);
    this.#checkpointer.on('stopped', (reason) => {
      if (this.#closed) return;
      this.#db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
      degraded?.(`${reason}; SQLite checkpoints on the daemon's thread again (commits pause a few ms now and then) until the next start`);
    });
    this.#walFd = openSync(`${file}-wal`, 'r');
    const db = this.#db;
    // Wrapped once: better-sqlite3 builds four wrappers per `transaction()`, ~0.05 ms a call.
    this.#inTransaction = db.transaction((work: () => unknown) => work()) as <T>(work: () => T) => T;
    this.#stmt = {
      insertTrans: db.prepare('INSERT OR IGNORE INTO transactions (trans_id, result, received_at) VALUES (?, ?, ?)'),
      transResult: db.prepare('SELECT result FROM transactions WHERE trans_id = ?').pluck(),
      insertCommand: db.prepare('INSERT INTO commands (trans_id, message, state, received_at) VALUES (?, ?, ?, ?)'),
      startCommand: db.prepare("UPDATE commands SET state = 'started' WHERE id = ?"),
      deleteCommand: db.prepare('DELETE FROM commands WHERE id = ?'),
      commands: db.prepare('SELECT id, trans_id, message, state, received_at FROM commands ORDER BY id'),
      putConference: db.prepare('INSERT OR REPLACE INTO conferences (conf_id, state, ended_at) VALUES (?, ?, ?)'),
      conferences: db.prepare('SELECT state FROM conferences').pluck(),
      insertOutbox: db.prepare(
        'INSERT INTO outbox (order_key, url, trans_id, message, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, 0, 0)'),
      outbox: db.prepare('SELECT * FROM outbox ORDER BY id'),
      outboxOne: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      outboxDelete: db.prepare('DELETE FROM outbox WHERE id = ?'),
      outboxRetry: db.prepare('UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?'),
      outboxBatch: db.prepare('UPDATE outbox SET trans_id = ? WHERE id = ?'),
      insertDead: db.prepare('INSERT INTO dead_letters (id, record, reason, at) VALUES (?, ?, ?, ?)'),
      deadLetters: db.prepare('SELECT record, reason, at FROM dead_letters ORDER BY id'),
      compactTrans: db.prepare('DELETE FROM transactions WHERE received_at < ?'),
      compactConfs: db.prepare('DELETE FROM conferences WHERE ended_at IS NOT NULL AND ended_at < ?'),
    };
  }

  recordTransaction(tx: TransactionInput): Promise<RecordOutcome> {
    return this.#enqueue((): RecordOutcome => {
      const s = this.#stmt;
      if (s.insertTrans.run(tx.transId, tx.result, tx.receivedAt).changes === 0) {
        return { kind: 'repeat', result: Number(s.transResult.get(tx.transId)) };
      }
      const commands = tx.messages.map((message): CommandRecord => {
        const id = Number(s.insertCommand.run(tx.transId, JSON.stringify(message), 'accepted', tx.receivedAt).lastInsertRowid);
        return { id, transId: tx.transId, message, state: 'accepted', receivedAt: tx.receivedAt };
      });
      return { kind: 'recorded', commands };
    });
  }

  unfinishedCommands(): Promise<CommandRecord[]> {
    return this.#enqueue(() =>
      (this.#stmt.commands.all() as { id: number; trans_id: string; message: string; state: CommandRecord['state']; received_at: number }[])
        .map((r) => ({ id: r.id, transId: r.trans_id, message: JSON.parse(r.message) as W2AMessage, state: r.state, receivedAt: r.received_at })));
  }

  startCommand(commandId: number, change?: StateChange): Promise<void> {
    return this.#enqueue(() => {
      this.#stmt.startCommand.run(commandId);
      if (change) this.#apply(change);
    });
  }

  completeCommand(commandId: number, change: StateChange): Promise<OutboxRecord[]> {
    return this.#enqueue(() => {
      this.#stmt.deleteCommand.run(commandId);
      return this.#apply(change);
    }, isChange(change));
  }

  applyChange(change: StateChange): Promise<OutboxRecord[]> {
    return this.#enqueue(() => this.#apply(change));
  }

  loadConferences(): Promise<ConferenceState[]> {
    return this.#enqueue(() => (this.#stmt.conferences.all() as string[]).map((s) => JSON.parse(s) as ConferenceState));
  }

  pendingOutbox(): Promise<OutboxRecord[]> {
    return this.#enqueue(() => (this.#stmt.outbox.all() as OutboxRow[]).map(toOutboxRecord));
  }

  outboxBatch(members: readonly OutboxRecord[]): Promise<void> {
    return this.#enqueue(() => {
      for (const m of members) this.#stmt.outboxBatch.run(m.transId, m.id);
    });
  }

  outboxDelivered(ids: readonly number[]): Promise<void> {
    // Lost in a crash, the messages are posted again under their TransID and WebEx ignores the
    // repeat: no fsync is waited for, nor started, for this write alone.
    return this.#enqueue(() => {
      for (const id of ids) this.#stmt.outboxDelete.run(id);
    }, false);
  }

  outboxRetryLater(ids: readonly number[], attempts: number, nextAttemptAt: number): Promise<void> {
    return this.#enqueue(() => {
      for (const id of ids) this.#stmt.outboxRetry.run(attempts, nextAttemptAt, id);
    });
  }

  outboxDeadLetter(ids: readonly number[], reason: string, at: number): Promise<void> {
    return this.#enqueue(() => {
      for (const id of ids) {
        const row = this.#stmt.outboxOne.get(id) as OutboxRow | undefined;
        if (!row) continue;
        this.#stmt.outboxDelete.run(id);
        this.#stmt.insertDead.run(id, JSON.stringify(toOutboxRecord(row)), reason, at);
      }
    });
  }

  deadLetters(): Promise<DeadLetter[]> {
    return this.#enqueue(() =>
      (this.#stmt.deadLetters.all() as { record: string; reason: string; at: number }[])
        .map((r) => ({ record: JSON.parse(r.record) as OutboxRecord, reason: r.reason, at: r.at })));
  }

  compact(transIdsBefore: number, endedBefore: number): Promise<number> {
    return this.#enqueue(() => {
      this.#stmt.compactConfs.run(endedBefore);
      return this.#stmt.compactTrans.run(transIdsBefore).changes;
    });
  }

  /** The thread that checkpoints this store's WAL; it reports each checkpoint it makes. */
  get checkpointer(): WalCheckpointer {
    return this.#checkpointer;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#enqueue(() => undefined);
    this.#closed = true;
    await this.#checkpointer.close();
    this.#db.close();
    closeSync(this.#walFd);
  }

  #apply(change: StateChange): OutboxRecord[] {
    const s = this.#stmt;
    for (const conf of change.conferences ?? []) {
      s.putConference.run(conf.confId, JSON.stringify(conf), conf.endedAt ?? null);
    }
    return (change.outbox ?? []).map((o) => {
      const id = Number(s.insertOutbox.run(o.orderKey, o.url ?? null, o.transId, JSON.stringify(o.message), o.createdAt).lastInsertRowid);
      return { ...o, id, attempts: 0, nextAttemptAt: 0 };
    });
  }

  #enqueue<T>(work: () => T, durable = true): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('the SQLite store is closed; open a new one to continue'));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, durable, resolve: resolve as (v: unknown) => void, reject });
      // While an fsync runs, work waits for it and is committed when it ends (#sync): no caller
      // settles before the next fsync anyway, and one commit for all of it writes each hot page
      // to the WAL once instead of once per event-loop turn.
      if (!this.#flushScheduled && !this.#syncing) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    let outcomes: { ok: boolean; value: unknown }[];
    try {
      // A nested transaction is a savepoint: a failing call rolls back only its own work.
      outcomes = this.#inTransaction(() => batch.map((p) => {
        try {
          return { ok: true, value: this.#inTransaction(p.work) };
        } catch (err) {
          return { ok: false, value: err };
        }
      }));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const settle = (): void =>
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.value);
      });
    // Each fsync taken by a batch that needs none delays the next Confirmation's by a whole one.
    if (!batch.some((p) => p.durable)) return settle();
    this.#unsynced.push(settle);
    this.#sync();
  }

  /**
   * Group commit: one WAL fsync at a time covers every batch committed before it started;
   * batches committed meanwhile wait for the next. Nothing is answered before it is on disk.
   */
  #sync(): void {
    if (this.#syncing || this.#unsynced.length === 0) return;
    const settling = this.#unsynced;
    this.#unsynced = [];
    this.#syncing = true;
    fsync(this.#walFd, (err) => {
      this.#syncing = false;
      if (err) {
        // Retried with the next: a commit is never reported durable before it is.
        this.#unsynced.unshift(...settling);
        setTimeout(() => this.#sync(), FSYNC_RETRY_MS);
        return;
      }
      for (const settle of settling) settle();
      this.#flush();
      this.#sync();
    });
  }
}

function isChange(change: StateChange): boolean {
  return (change.conferences?.length ?? 0) > 0 || (change.outbox?.length ?? 0) > 0;
}

function toOutboxRecord(r: OutboxRow): OutboxRecord {
  return {
    id: r.id, orderKey: r.order_key, url: r.url ?? undefined, transId: r.trans_id,
    message: JSON.parse(r.message) as A2WMessage, createdAt: r.created_at, attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
  };
}
