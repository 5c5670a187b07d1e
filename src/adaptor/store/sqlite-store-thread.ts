/**
 * The SQLite store's thread: it owns the connection (sqlite-database.ts), commits what the
 * event loop hands it, fsyncs, and answers. Commits, statements, JSON of every conference and
 * the fsync wait were a fifth of the daemon's event loop under load; here they block nobody.
 *
 * Group commit falls out of the thread's own loop: calls that arrive while it commits or
 * fsyncs wait in the port and go into the next batch together, one transaction and one fsync.
 * A batch of only non-durable calls (delivery records) is answered at commit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StoreDatabase, type CallOutcome, type StoreCall } from './sqlite-database.js';

export interface StoreThreadData {
  file: string;
}

/** A call as it crosses: its id, for the answer, and whether it waits for the fsync. */
export interface CallEnvelope {
  id: number;
  durable: boolean;
  call: StoreCall;
}

export type ToStoreThread =
  | { type: 'calls'; calls: CallEnvelope[] }
  /** The checkpoint thread stopped: this connection checkpoints every `pages` WAL pages. */
  | { type: 'checkpoint-automatically'; pages: number }
  | { type: 'close' };

export type FromStoreThread =
  | { type: 'ready' }
  | { type: 'open-failed'; message: string }
  | { type: 'settled'; ids: number[]; outcomes: CallOutcome[] }
  /** The WAL fsync failed; answers wait and it is tried again (said once per run of failures). */
  | { type: 'sync-failed'; message: string };

const FSYNC_RETRY_MS = 100;

const port = parentPort!;
const { file } = workerData as StoreThreadData;

/** The database, or undefined (said, and the port closed, so the thread ends) when it cannot be opened. */
function open(): StoreDatabase | undefined {
  try {
    return new StoreDatabase(file);
  } catch (err) {
    port.postMessage({ type: 'open-failed', message: err instanceof Error ? err.message : String(err) } satisfies FromStoreThread);
    port.close();
    return undefined;
  }
}

const opened = open();
if (opened) serve(opened);

function serve(db: StoreDatabase): void {
  let queue: CallEnvelope[] = [];
  let scheduled = false;
  /** Committed, answered only once a fsync covers them (kept in commit order). */
  let unsynced: { ids: number[]; outcomes: CallOutcome[] } = { ids: [], outcomes: [] };
  let retry: NodeJS.Timeout | undefined;
  let failing = false;

  port.on('message', (m: ToStoreThread) => {
    if (m.type === 'calls') {
      for (const c of m.calls) queue.push(c);
      if (!scheduled) {
        scheduled = true;
        setImmediate(commitQueued);
      }
    } else if (m.type === 'checkpoint-automatically') {
      db.checkpointAutomatically(m.pages);
    } else {
      commitQueued();
      // After the last commit: a fsync failing then must not be retried on a closed database.
      clearTimeout(retry);
      db.close();
      port.close();
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromStoreThread);

  function commitQueued(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    const outcomes = db.commit(batch.map((c) => c.call));
    const ids = batch.map((c) => c.id);
    if (unsynced.ids.length === 0 && !batch.some((c) => c.durable)) {
      port.postMessage({ type: 'settled', ids, outcomes } satisfies FromStoreThread);
      return;
    }
    unsynced.ids.push(...ids);
    unsynced.outcomes.push(...outcomes);
    syncAndAnswer();
  }

  /** One fsync covers everything committed so far; nothing is answered before it succeeds. */
  function syncAndAnswer(): void {
    try {
      db.syncWal();
    } catch (err) {
      if (!failing) port.postMessage({ type: 'sync-failed', message: err instanceof Error ? err.message : String(err) } satisfies FromStoreThread);
      failing = true;
      retry ??= setTimeout(() => {
        retry = undefined;
        syncAndAnswer();
      }, FSYNC_RETRY_MS);
      return;
    }
    failing = false;
    const settled = unsynced;
    unsynced = { ids: [], outcomes: [] };
    if (settled.ids.length > 0) port.postMessage({ type: 'settled', ...settled } satisfies FromStoreThread);
  }
}
