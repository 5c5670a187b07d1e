/**
 * Keeps the SQLite store's write-ahead log short without stalling the event loop. SQLite's own
 * automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages, on the committing
 * thread: there it copied the pages back and fsynced the database, 9-15 ms with nothing else
 * running (p999 of a commit 8.9 ms against 0.3 ms without it), every few hundred commands. The
 * store turns it off and this runs it instead, on a worker thread with its own connection.
 *
 * If the thread dies, the store's connection gets its automatic checkpoint back (`onStopped`):
 * slower commits, never an unbounded WAL.
 */
import type { Worker } from 'node:worker_threads';
import { TypedEmitter } from '../../common/typed-emitter.js';
import { closeWorker, startWorker } from '../../common/worker-thread.js';

export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
  /** A WAL file larger than this after a passive checkpoint is copied whole and emptied. */
  truncateAboveBytes: number;
  busyTimeoutMs: number;
}

export type CheckpointReport =
  /** `restarted`: every frame was copied and the next commit writes the WAL from its start. */
  | { type: 'checkpoint'; walFrames: number; checkpointed: number; walBytes: number; restarted: boolean; truncated: boolean }
  | { type: 'failed'; message: string };

export type CheckpointerRequest = { type: 'close' };

const CHECKPOINT_INTERVAL_MS = 250;
const TRUNCATE_ABOVE_BYTES = 64 * 1024 * 1024;
/** How long a truncating checkpoint waits for the daemon's write in progress, and it for the checkpoint. */
const BUSY_TIMEOUT_MS = 5_000;
const CLOSE_TIMEOUT_MS = 5_000;

type CheckpointerEvents = {
  checkpoint: [report: CheckpointReport & { type: 'checkpoint' }];
  /** The thread is gone before `close()`: why. */
  stopped: [reason: string];
};

export class WalCheckpointer extends TypedEmitter<CheckpointerEvents> {
  readonly #worker: Worker;
  #closing = false;

  constructor(file: string, options: { intervalMs?: number; truncateAboveBytes?: number } = {}) {
    super();
    const data: CheckpointWorkerData = {
      file,
      intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      truncateAboveBytes: options.truncateAboveBytes ?? TRUNCATE_ABOVE_BYTES,
      busyTimeoutMs: BUSY_TIMEOUT_MS,
    };
    this.#worker = startWorker(import.meta.url, 'wal-checkpoint-worker', data);
    this.#worker.unref();
    this.#worker.on('message', (report: CheckpointReport) => {
      if (report.type === 'checkpoint') this.emit('checkpoint', report);
      else this.#stop(`a checkpoint failed: ${report.message}`);
    });
    this.#worker.on('error', (err) => this.#stop(`the checkpoint thread failed: ${err.message}`));
    this.#worker.on('exit', (code) => this.#stop(`the checkpoint thread exited with code ${code}`));
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await closeWorker(this.#worker, { type: 'close' } satisfies CheckpointerRequest, CLOSE_TIMEOUT_MS);
  }

  #stop(reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    void this.#worker.terminate();
    this.emit('stopped', reason);
  }
}
