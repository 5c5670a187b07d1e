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
  // PASSIVE never waits for the daemon's writes. But SQLite writes the WAL from its start again
  // only once a checkpoint has copied every frame, and under writes without a pause a passive
  // one never has: frames are added while it copies. At 1,000 commands/s the file then reached
  // the TRUNCATE bound below two or three times in 10 s, and each copy of everything held the
  // writer off for 40-63 ms. So a passive checkpoint that copied all it saw is finished by RESTART, which holds
  // the write lock only for the frames added meanwhile (a few ms) and makes the next commit write
  // from the WAL's start, over blocks the file already has: no growth, and a cheaper fsync.
  let [row] = db.pragma('wal_checkpoint(PASSIVE)') as Row[];
  let restarted = false;
  if (row!.log > 0 && row!.checkpointed === row!.log) {
    [row] = db.pragma('wal_checkpoint(RESTART)') as Row[];
    restarted = row!.busy === 0;
  }
  // Past the bound (a reader kept the frames, the write lock could not be had, or the file grew
  // before), TRUNCATE waits for the writer (at most busyTimeoutMs), copies everything and
  // empties the file.
  const before = walBytes();
  let truncated = false;
  if (before > truncateAboveBytes) {
    [row] = db.pragma('wal_checkpoint(TRUNCATE)') as Row[];
    truncated = true;
  }
  port.postMessage({ type: 'checkpoint', walFrames: row!.log, checkpointed: row!.checkpointed, walBytes: before, restarted, truncated } satisfies CheckpointReport);
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
