/**
 * One queue per key (an ExtConfID): tasks of one key run one at a time in the order given,
 * tasks of different keys run in parallel (spec 3.5). A failing task is logged and the queue
 * moves on.
 */
import type { Logger } from 'pino';

export class SerialQueues {
  #queues = new Map<string, { tail: Promise<void>; length: number }>();
  #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Resolves when `task` has run (never rejects). */
  enqueue(key: string, task: () => Promise<void>): Promise<void> {
    const queue = this.#queues.get(key) ?? { tail: Promise.resolve(), length: 0 };
    queue.length++;
    const run = queue.tail.then(task).catch((err: unknown) => this.#log.error({ err, queue: key }, 'conference task failed'));
    queue.tail = run.finally(() => {
      if (--queue.length === 0 && this.#queues.get(key) === queue) this.#queues.delete(key);
    });
    this.#queues.set(key, queue);
    return queue.tail;
  }

  /** Whether `key` has a task queued or running. */
  busy(key: string): boolean {
    return this.#queues.has(key);
  }

  /** The last task of every busy queue, to wait for. */
  tails(): Promise<void>[] {
    return [...this.#queues.values()].map((q) => q.tail);
  }
}
