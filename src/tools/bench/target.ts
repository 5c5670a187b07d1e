/**
 * The load generator's handle on a target process (target-process.ts): forks it with an IPC
 * channel, starts the daemon or the bare HTTPS server in it, reads its figures, stops it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetReady, TargetRequest, TargetStart, TargetStats } from './target-process.js';

const START_TIMEOUT_MS = 60_000;

/**
 * Which file runs the target. By default this module's sibling, through tsx from a checkout;
 * the benchmark points it at a compiled copy, since tsx's loader alone holds some 170 MB of
 * RSS for the WebAssembly libxml2 module it transforms: a deployed daemon runs compiled code.
 */
export interface TargetEntry {
  file: string;
  execArgv: string[];
}

export function defaultTargetEntry(): TargetEntry {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  return { file: path.join(path.dirname(here), `target-process${ext}`), execArgv: ext === '.ts' ? ['--import', 'tsx'] : [] };
}
const REPLY_TIMEOUT_MS = 30_000;
const HEAP_SNAPSHOT_TIMEOUT_MS = 120_000;

export class Target {
  readonly ready: TargetReady;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, ready: TargetReady) {
    this.#child = child;
    this.ready = ready;
  }

  static async start(start: TargetStart, entry: TargetEntry = defaultTargetEntry()): Promise<Target> {
    const child = fork(entry.file, [], { execArgv: [...entry.execArgv, '--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    try {
      const ready = await request<TargetReady>(child, { type: 'start', start }, 'ready', START_TIMEOUT_MS);
      return new Target(child, ready);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  stats(options: { gc?: boolean; resetLoop?: boolean } = {}): Promise<TargetStats> {
    return request<TargetStats>(this.#child, { type: 'stats', gc: options.gc ?? false, resetLoop: options.resetLoop ?? false }, 'stats', REPLY_TIMEOUT_MS);
  }

  /** A V8 heap snapshot of the process, written to `file` after a full collection (it blocks the process for seconds). */
  async heapSnapshot(file: string): Promise<string> {
    const answer = await request<{ file: string }>(this.#child, { type: 'heap-snapshot', file }, 'heap-snapshot', HEAP_SNAPSHOT_TIMEOUT_MS);
    return answer.file;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#child.send({ type: 'stop' } satisfies TargetRequest);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), REPLY_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

function request<T>(child: ChildProcess, message: TargetRequest, answer: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (reply: { type: string; message?: string }): void => {
      if (reply.type !== answer && reply.type !== 'error') return;
      done();
      if (reply.type === 'error') reject(new Error(`benchmark target: ${reply.message}`));
      else resolve(reply as T);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`benchmark target exited (${code}) before answering ${message.type}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`benchmark target: no ${answer} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send(message);
  });
}
