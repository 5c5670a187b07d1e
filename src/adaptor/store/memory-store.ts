/**
 * The store in process memory: for tests, and for running without a data directory. Records
 * are copied in and out, so the engine can never change a stored record by holding a reference,
 * as it could not with a real store.
 */
import type { ConferenceState } from '../conference/state.js';
import type {
  CommandRecord, DeadLetter, OutboxRecord, RecordOutcome, StateChange, Store, TransactionInput,
} from './store.js';

export class MemoryStore implements Store {
  #transactions = new Map<string, { result: number; receivedAt: number }>();
  #commands = new Map<number, CommandRecord>();
  #conferences = new Map<string, ConferenceState>();
  #outbox = new Map<number, OutboxRecord>();
  #deadLetters: DeadLetter[] = [];
  #nextCommandId = 1;
  #nextOutboxId = 1;

  async recordTransaction(tx: TransactionInput): Promise<RecordOutcome> {
    const seen = this.#transactions.get(tx.transId);
    if (seen) return { kind: 'repeat', result: seen.result };
    this.#transactions.set(tx.transId, { result: tx.result, receivedAt: tx.receivedAt });
    const commands = tx.messages.map((message): CommandRecord => ({
      id: this.#nextCommandId++,
      transId: tx.transId,
      message,
      state: 'accepted',
      receivedAt: tx.receivedAt,
    }));
    for (const c of commands) this.#commands.set(c.id, structuredClone(c));
    return { kind: 'recorded', commands };
  }

  async unfinishedCommands(): Promise<CommandRecord[]> {
    return [...this.#commands.values()].sort((a, b) => a.id - b.id).map((c) => structuredClone(c));
  }

  async startCommand(commandId: number, change?: StateChange): Promise<void> {
    const c = this.#commands.get(commandId);
    if (c) c.state = 'started';
    if (change) this.#apply(change);
  }

  async completeCommand(commandId: number, change: StateChange): Promise<OutboxRecord[]> {
    this.#commands.delete(commandId);
    return this.#apply(change);
  }

  async applyChange(change: StateChange): Promise<OutboxRecord[]> {
    return this.#apply(change);
  }

  async loadConferences(): Promise<ConferenceState[]> {
    return [...this.#conferences.values()].map((c) => structuredClone(c));
  }

  async pendingOutbox(): Promise<OutboxRecord[]> {
    return [...this.#outbox.values()].sort((a, b) => a.id - b.id).map((r) => structuredClone(r));
  }

  async outboxBatch(members: readonly OutboxRecord[]): Promise<void> {
    for (const m of members) {
      const r = this.#outbox.get(m.id);
      if (r) r.transId = m.transId;
    }
  }

  async outboxDelivered(ids: readonly number[]): Promise<void> {
    for (const id of ids) this.#outbox.delete(id);
  }

  async outboxRetryLater(ids: readonly number[], attempts: number, nextAttemptAt: number): Promise<void> {
    for (const id of ids) {
      const r = this.#outbox.get(id);
      if (r) Object.assign(r, { attempts, nextAttemptAt });
    }
  }

  async outboxDeadLetter(ids: readonly number[], reason: string, at: number): Promise<void> {
    for (const id of ids) {
      const record = this.#outbox.get(id);
      if (!record) continue;
      this.#outbox.delete(id);
      this.#deadLetters.push({ record, reason, at });
    }
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return structuredClone(this.#deadLetters);
  }

  async compact(transIdsBefore: number, endedBefore: number): Promise<number> {
    let forgotten = 0;
    for (const [id, t] of this.#transactions) {
      if (t.receivedAt < transIdsBefore) {
        this.#transactions.delete(id);
        forgotten++;
      }
    }
    for (const [id, c] of this.#conferences) {
      if (c.endedAt !== undefined && c.endedAt < endedBefore) this.#conferences.delete(id);
    }
    return forgotten;
  }

  async close(): Promise<void> {}

  #apply(change: StateChange): OutboxRecord[] {
    for (const conf of change.conferences ?? []) this.#conferences.set(conf.confId, structuredClone(conf));
    return (change.outbox ?? []).map((input) => {
      const record: OutboxRecord = { ...structuredClone(input), id: this.#nextOutboxId++, attempts: 0, nextAttemptAt: 0 };
      this.#outbox.set(record.id, structuredClone(record));
      return record;
    });
  }
}
