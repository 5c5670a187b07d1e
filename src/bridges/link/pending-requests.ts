/**
 * Commands sent to a bridge and not yet answered, keyed by correlation id. Each one settles
 * exactly once: by its reply, by its own deadline (BRIDGE_ERR_TIMEOUT), or by link loss or
 * close. Whatever comes second finds the id gone and does nothing, which is what keeps a late
 * reply to a timed-out command from being applied.
 */
import type { BridgeCommand, BridgeOp } from '../driver.js';
import { BridgeError, type BridgeErrorCode } from '../errors.js';

interface Pending {
  command: BridgeCommand;
  resolve(value: unknown): void;
  reject(error: BridgeError): void;
  timer: NodeJS.Timeout;
}

export class PendingRequests {
  #pending = new Map<string, Pending>();
  #lastId = 0;

  get size(): number {
    return this.#pending.size;
  }

  /** Registers a command under a fresh id; the caller sends it. `reply` settles exactly once. */
  open(command: BridgeCommand, timeoutMs: number): { id: string; reply: Promise<unknown> } {
    this.#lastId += 1;
    const id = String(this.#lastId);
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reject(id, new BridgeError('BRIDGE_ERR_TIMEOUT', `${describe(command.op, id)} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { command, resolve, reject, timer });
    });
    return { id, reply };
  }

  /** The command waiting under `id`, if any (a reply decoder needs it to shape the reply). */
  commandOf(id: string): BridgeCommand | undefined {
    return this.#pending.get(id)?.command;
  }

  /** Returns false when `id` was not pending (late, duplicated or stray reply). */
  resolve(id: string, value: unknown): boolean {
    const pending = this.#take(id);
    if (!pending) return false;
    pending.resolve(value);
    return true;
  }

  reject(id: string, error: BridgeError): boolean {
    const pending = this.#take(id);
    if (!pending) return false;
    pending.reject(error);
    return true;
  }

  /** Fails everything in flight, naming each command's op and id. */
  rejectAll(code: BridgeErrorCode, why: string): void {
    for (const [id, pending] of [...this.#pending]) {
      this.reject(id, new BridgeError(code, `${describe(pending.command.op, id)} was in flight: ${why}`));
    }
  }

  #take(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending || !this.#pending.delete(id)) return undefined;
    clearTimeout(pending.timer);
    return pending;
  }
}

function describe(op: BridgeOp, id: string): string {
  return `${op} (id ${id})`;
}
