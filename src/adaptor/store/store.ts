/**
 * What the engine keeps durably, as a few atomic units named by what they mean. Every method is
 * async and carries no query language, so an embedded store (SQLite) and a networked shared one
 * (Redis, for several instances) implement the same interface. An implementation resolves a
 * write only once it is durable: the engine answers Confirmation 0 and posts A2W messages on
 * that promise.
 */
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import type { ConferenceState } from '../conference/state.js';

/** A W2A command accepted under a TransID, waiting to be carried out or being carried out. */
export interface CommandRecord {
  /** Store-assigned, increasing in acceptance order. */
  id: number;
  transId: string;
  message: W2AMessage;
  /** `started`: sent to the bridge may have begun; after a crash its effect must be checked. */
  state: 'accepted' | 'started';
  receivedAt: number;
}

export interface TransactionInput {
  transId: string;
  messages: W2AMessage[];
  receivedAt: number;
  /** The Confirmation Result answered, repeated to a retry of the same TransID. */
  result: number;
}

export type RecordOutcome =
  | { kind: 'recorded'; commands: CommandRecord[] }
  | { kind: 'repeat'; result: number };

/** An A2W message to deliver, before the store gave it an id. */
export interface OutboxInput {
  /** Messages of one key are delivered one at a time, in id order (one key per conference). */
  orderKey: string;
  /** Undefined when no URL is known: the outbox dead-letters it, logged and counted. */
  url: string | undefined;
  message: A2WMessage;
  /** The TransID of this message's POST, fixed before first storage and reused on every retry. */
  transId: string;
  createdAt: number;
}

export interface OutboxRecord extends OutboxInput {
  id: number;
  attempts: number;
  /** ms since epoch; 0 = as soon as possible. */
  nextAttemptAt: number;
}

/** Everything one command or one bridge event changed, written at once. */
export interface StateChange {
  conferences?: ConferenceState[];
  outbox?: OutboxInput[];
}

export interface DeadLetter {
  record: OutboxRecord;
  reason: string;
  at: number;
}

export interface Store {
  /**
   * Remembers `transId` with its commands, atomically; a TransID seen before (within retention)
   * is not recorded again and its earlier result comes back instead.
   */
  recordTransaction(tx: TransactionInput): Promise<RecordOutcome>;
  /** Commands accepted and not completed, in acceptance order: what a restart must finish. */
  unfinishedCommands(): Promise<CommandRecord[]>;
  /** Journals that the command is about to reach the bridge (and the conference as it then is). */
  startCommand(commandId: number, change?: StateChange): Promise<void>;
  /**
   * The command is done: its state changes and A2W messages are kept, all or nothing. A command
   * that changed nothing (a keep-alive) may be settled before its completion is durable: lost in
   * a crash, it only runs again, to the same end.
   */
  completeCommand(commandId: number, change: StateChange): Promise<OutboxRecord[]>;
  /** A change not caused by a command (bridge event, reconciliation, timers). */
  applyChange(change: StateChange): Promise<OutboxRecord[]>;

  /** Every conference not yet compacted away (ended ones stay a while to answer Result 13). */
  loadConferences(): Promise<ConferenceState[]>;

  /** Undelivered A2W messages, in id order; messages sharing a TransID are one batch (one POST). */
  pendingOutbox(): Promise<OutboxRecord[]>;
  /**
   * Keeps the TransID these pending messages now share (each record's `transId`): they are one
   * batch from now on. Resolves once durable, so a batch is known before its first POST and a
   * retry after a restart or a take-over posts the same set under the same TransID.
   */
  outboxBatch(members: readonly OutboxRecord[]): Promise<void>;
  /** The messages of one POST (a batch) went through. */
  outboxDelivered(ids: readonly number[]): Promise<void>;
  outboxRetryLater(ids: readonly number[], attempts: number, nextAttemptAt: number): Promise<void>;
  /** Each message becomes a dead letter with `reason`. */
  outboxDeadLetter(ids: readonly number[], reason: string, at: number): Promise<void>;
  deadLetters(): Promise<DeadLetter[]>;

  /**
   * Forgets TransIDs older than `transIdsBefore` and conferences ended before `endedBefore`.
   * Returns how many TransIDs were forgotten.
   */
  compact(transIdsBefore: number, endedBefore: number): Promise<number>;
  close(): Promise<void>;
}
