/**
 * The SQLite store's database, synchronous: the schema, the statements, and each store call as
 * a plain function of a request (`StoreCall`) to a small reply. It runs on the store's own
 * thread (sqlite-store-thread.ts), where blocking is harmless; the event loop only sees the
 * asynchronous facade (sqlite-store.ts).
 *
 * `commit` is the group commit: every call of a batch in ONE write transaction, each inside its
 * own savepoint so one failure fails only its caller. `syncWal` makes what was committed
 * durable: the connection runs at synchronous=NORMAL (no fsync inside a commit) and the WAL is
 * fsynced once per batch, before any durable call of it is answered.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import type { ConferenceState } from '../conference/state.js';
import type { CommandRecord, DeadLetter, OutboxRecord, StateChange, TransactionInput } from './store.js';

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

/**
 * One store call as it crosses to the thread (copied, as plain data: a structured copy of the
 * objects costs the event loop less than making their JSON there). Replies are kept small
 * (ids, not the records the caller already holds).
 */
export type StoreCall =
  | { op: 'recordTransaction'; tx: TransactionInput }
  | { op: 'unfinishedCommands' }
  | { op: 'startCommand'; commandId: number; change: StateChange | undefined }
  | { op: 'completeCommand'; commandId: number; change: StateChange }
  | { op: 'applyChange'; change: StateChange }
  | { op: 'loadConferences' }
  | { op: 'pendingOutbox' }
  | { op: 'outboxBatch'; members: { id: number; transId: string }[] }
  | { op: 'outboxDelivered'; ids: readonly number[] }
  | { op: 'outboxRetryLater'; ids: readonly number[]; attempts: number; nextAttemptAt: number }
  | { op: 'outboxDeadLetter'; ids: readonly number[]; reason: string; at: number }
  | { op: 'deadLetters' }
  | { op: 'compact'; transIdsBefore: number; endedBefore: number }
  /** Nothing, durably: settles once everything committed before it is on disk. */
  | { op: 'barrier' };

export type Recorded = { kind: 'recorded'; commandIds: number[] } | { kind: 'repeat'; result: number };

/** What each call answers; completeCommand and applyChange answer the ids given to `change.outbox`, in order. */
export interface StoreReplies {
  recordTransaction: Recorded;
  unfinishedCommands: CommandRecord[];
  startCommand: undefined;
  completeCommand: number[];
  applyChange: number[];
  loadConferences: ConferenceState[];
  pendingOutbox: OutboxRecord[];
  outboxBatch: undefined;
  outboxDelivered: undefined;
  outboxRetryLater: undefined;
  outboxDeadLetter: undefined;
  deadLetters: DeadLetter[];
  compact: number;
  barrier: undefined;
}

export type CallOutcome = { ok: true; value: unknown } | { ok: false; message: string; code?: string };

interface OutboxRow {
  id: number; order_key: string; url: string | null; trans_id: string; message: string;
  created_at: number; attempts: number; next_attempt_at: number;
}

export class StoreDatabase {
  readonly #db: Database.Database;
  readonly #walFd: number;
  /** Runs `work` in a transaction, or in a savepoint when one is open. */
  readonly #inTransaction: <T>(work: () => T) => T;
  readonly #stmt;

  constructor(file: string) {
    const db = (this.#db = new Database(file));
    db.pragma('journal_mode = WAL');
    // Durability comes from syncWal before any durable call is answered, once per batch.
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    // Checkpoints are the checkpoint thread's (wal-checkpointer.ts), unless it stops.
    db.pragma('wal_autocheckpoint = 0');
    this.#walFd = openSync(`${file}-wal`, 'r');
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

  /** The batch in one transaction, a savepoint per call; a failing transaction fails them all. */
  commit(calls: readonly StoreCall[]): CallOutcome[] {
    try {
      return this.#inTransaction(() => calls.map((call): CallOutcome => {
        try {
          return { ok: true, value: this.#inTransaction(() => this.#run(call)) };
        } catch (err) {
          return failure(err);
        }
      }));
    } catch (err) {
      const failed = failure(err);
      return calls.map(() => failed);
    }
  }

  /** Makes every commit so far durable; throws when the disk refused. */
  syncWal(): void {
    fsyncSync(this.#walFd);
  }

  /** Takes checkpoints back onto this connection (every `pages` WAL pages). */
  checkpointAutomatically(pages: number): void {
    this.#db.pragma(`wal_autocheckpoint = ${pages}`);
  }

  close(): void {
    this.#db.close();
    closeSync(this.#walFd);
  }

  #run(call: StoreCall): StoreReplies[StoreCall['op']] {
    const s = this.#stmt;
    switch (call.op) {
      case 'recordTransaction': {
        const { tx } = call;
        if (s.insertTrans.run(tx.transId, tx.result, tx.receivedAt).changes === 0) {
          return { kind: 'repeat', result: Number(s.transResult.get(tx.transId)) };
        }
        const commandIds = tx.messages.map((message) =>
          Number(s.insertCommand.run(tx.transId, JSON.stringify(message), 'accepted', tx.receivedAt).lastInsertRowid));
        return { kind: 'recorded', commandIds };
      }
      case 'unfinishedCommands':
        return (s.commands.all() as { id: number; trans_id: string; message: string; state: CommandRecord['state']; received_at: number }[])
          .map((r) => ({ id: r.id, transId: r.trans_id, message: JSON.parse(r.message) as W2AMessage, state: r.state, receivedAt: r.received_at }));
      case 'startCommand':
        s.startCommand.run(call.commandId);
        if (call.change) this.#apply(call.change);
        return undefined;
      case 'completeCommand':
        s.deleteCommand.run(call.commandId);
        return this.#apply(call.change);
      case 'applyChange':
        return this.#apply(call.change);
      case 'loadConferences':
        return (s.conferences.all() as string[]).map((state) => JSON.parse(state) as ConferenceState);
      case 'pendingOutbox':
        return (s.outbox.all() as OutboxRow[]).map(toOutboxRecord);
      case 'outboxBatch':
        for (const m of call.members) s.outboxBatch.run(m.transId, m.id);
        return undefined;
      case 'outboxDelivered':
        for (const id of call.ids) s.outboxDelete.run(id);
        return undefined;
      case 'outboxRetryLater':
        for (const id of call.ids) s.outboxRetry.run(call.attempts, call.nextAttemptAt, id);
        return undefined;
      case 'outboxDeadLetter':
        for (const id of call.ids) {
          const row = s.outboxOne.get(id) as OutboxRow | undefined;
          if (!row) continue;
          s.outboxDelete.run(id);
          s.insertDead.run(id, JSON.stringify(toOutboxRecord(row)), call.reason, call.at);
        }
        return undefined;
      case 'deadLetters':
        return (s.deadLetters.all() as { record: string; reason: string; at: number }[])
          .map((r) => ({ record: JSON.parse(r.record) as OutboxRecord, reason: r.reason, at: r.at }));
      case 'compact':
        s.compactConfs.run(call.endedBefore);
        return s.compactTrans.run(call.transIdsBefore).changes;
      case 'barrier':
        return undefined;
    }
  }

  #apply(change: StateChange): number[] {
    const s = this.#stmt;
    for (const conf of change.conferences ?? []) {
      s.putConference.run(conf.confId, JSON.stringify(conf), conf.endedAt ?? null);
    }
    return (change.outbox ?? []).map((o) =>
      Number(s.insertOutbox.run(o.orderKey, o.url ?? null, o.transId, JSON.stringify(o.message), o.createdAt).lastInsertRowid));
  }
}

function failure(err: unknown): CallOutcome & { ok: false } {
  const code = (err as { code?: unknown } | undefined)?.code;
  return { ok: false, message: err instanceof Error ? err.message : String(err), ...(typeof code === 'string' ? { code } : {}) };
}

function toOutboxRecord(r: OutboxRow): OutboxRecord {
  return {
    id: r.id, orderKey: r.order_key, url: r.url ?? undefined, transId: r.trans_id,
    message: JSON.parse(r.message) as A2WMessage, createdAt: r.created_at, attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
  };
}
