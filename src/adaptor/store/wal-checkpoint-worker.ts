/**
 * The WAL checkpointer's thread (wal-checkpointer.ts): its own connection to the store's file,
 * copying the WAL back into the database at a steady pace, so that neither the copy nor the
 * database fsync that ends it ever runs on the daemon's event loop.
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointReport, CheckpointWorkerData, CheckpointerRequest } from './wal-checkpointer.js';

const { file, intervalMs, truncateAboveBytes, busyTimeoutMs } = workerData as CheckpointWorkerData;
const port = parentPort!;
const db = new Database(file, { timeout: busyTimeoutMs });
// A checkpoint fsyncs the database before the WAL may be reused, at NORMAL as at FULL.
db.pragma('synchronous = NORMAL');

interface Row { busy: number; log: number; checkpointed: number }

function walBytes(): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

function checkpoint(): void {
  // PASSIVE never waits for the daemon's writes. Under writes without a pause it may never
  // catch up, and the WAL file is only reused once it does: past the bound, TRUNCATE waits for
  // the writer (at most busyTimeoutMs), copies everything and empties the file.
  let [row] = db.pragma('wal_checkpoint(PASSIVE)') as Row[];
  const before = walBytes();
  let truncated = false;
  if (before > truncateAboveBytes) {
    [row] = db.pragma('wal_checkpoint(TRUNCATE)') as Row[];
    truncated = true;
  }
  port.postMessage({ type: 'checkpoint', walFrames: row!.log, checkpointed: row!.checkpointed, walBytes: before, truncated } satisfies CheckpointReport);
}

const timer = setInterval(() => {
  try {
    checkpoint();
  } catch (err) {
    port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies CheckpointReport);
  }
}, intervalMs);

port.on('message', (m: CheckpointerRequest) => {
  if (m.type !== 'close') return;
  clearInterval(timer);
  db.close();
  port.close();
});
