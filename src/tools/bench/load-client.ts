/**
 * The command-throughput client: posts W2A bodies over kept-alive HTTPS at a set rate (open
 * loop: a slow answer does not slow the sending) and times each Confirmation. The sending runs
 * in a worker thread (load-worker.ts) over a minimal HTTP/1.1 client (http1-pool.ts), so the
 * client is not what a run measures: the same client drives the adaptor and the bare server,
 * and their ratio compares servers only.
 */
import type { Worker } from 'node:worker_threads';
import { closeWorker, startWorker } from '../../common/worker-thread.js';

export interface StepResult {
  offeredPerSecond: number;
  /** Confirmations with Result 0 per second of the step. */
  achievedPerSecond: number;
  /** Confirmations with Result 0 in the step. */
  confirmed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than HTTP 200 + Confirmation 0, and requests that failed. */
  failed: number;
  /** Sends skipped because too many were waiting for a connection: the target could not keep up. */
  skipped: number;
}

/** In a template, replaced by a fresh TransID and MsgID on each send. */
export const TRANS_SLOT = 'TRANSSLOT';
export const MSG_SLOT = 'MSGSLOT';

/** What each send posts: the templates in turn, their slots filled with ids unique to `tag`. */
export interface Bodies {
  templates: string[];
  tag: string;
}

export interface LoadWorkerData {
  url: string;
  ca?: string;
  connections: number;
}

export type StepRequest = { type: 'step'; perSecond: number; seconds: number } & Bodies;
export type WorkerRequest = StepRequest | { type: 'close' };
export type WorkerReply = { type: 'result'; result: StepResult } | { type: 'error'; message: string };

/** Kept-alive connections: enough that a few ms of answer time never caps the offered rate. */
export const CONNECTIONS = 64;
const CLOSE_TIMEOUT_MS = 5_000;

export class LoadClient {
  readonly #worker: Worker;

  constructor(url: string, ca?: string, connections = CONNECTIONS) {
    const data: LoadWorkerData = { url, connections, ...(ca ? { ca } : {}) };
    this.#worker = startWorker(import.meta.url, 'load-worker', data);
  }

  /** One step at `perSecond` for `seconds`. */
  step(perSecond: number, seconds: number, bodies: Bodies): Promise<StepResult> {
    return new Promise((resolve, reject) => {
      const onReply = (reply: WorkerReply): void => {
        done();
        if (reply.type === 'result') resolve(reply.result);
        else reject(new Error(`load client: ${reply.message}`));
      };
      const onError = (err: Error): void => {
        done();
        reject(err);
      };
      const done = (): void => {
        this.#worker.off('message', onReply);
        this.#worker.off('error', onError);
      };
      this.#worker.on('message', onReply);
      this.#worker.on('error', onError);
      this.#worker.postMessage({ type: 'step', perSecond, seconds, ...bodies } satisfies StepRequest);
    });
  }

  close(): Promise<void> {
    return closeWorker(this.#worker, { type: 'close' } satisfies WorkerRequest, CLOSE_TIMEOUT_MS);
  }
}
