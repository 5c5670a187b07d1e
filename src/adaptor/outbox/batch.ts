/**
 * The outbox's batches (issue 7): the messages of one POST under one TransID, and the rules that
 * fix one before its first POST. Pure bookkeeping over the outbox's lanes; the outbox decides
 * when a batch is formed, stored and posted (outbox.ts, docs/engine.md).
 */
import type { TspCodec } from '../../protocol/index.js';
import type { TimerHandle } from '../clock.js';
import type { OutboxRecord } from '../store/store.js';

/** A message waiting in its lane; once given to a POST it belongs to that batch for good. */
export interface Entry {
  record: OutboxRecord;
  lane: Lane;
  batch?: Batch;
}

/** The messages of one conference to one WebEx URL, in the order produced. */
export interface Lane {
  entries: Entry[];
  /** Its first entries' batch is being posted or waits for its retry. */
  held: boolean;
}

export interface Batch {
  transId: string;
  url: string | undefined;
  /** Id order: each lane's members are the first entries of that lane, in its order. */
  members: Entry[];
  /** The store holds the members' shared TransID (always, for a batch of one). */
  recorded: boolean;
  attempts: number;
  nextAttemptAt: number;
  /** Of the oldest member: the batch is as old as it. */
  createdAt: number;
  /** Encoded once, posted byte for byte the same on every retry. */
  body?: string;
  timer?: TimerHandle;
}

/** A batch about to take `first` and maybe more; `recorded` when it is read back from the store. */
export function startBatch(first: OutboxRecord, recorded: boolean): Batch {
  return { transId: first.transId, url: first.url, members: [], recorded, attempts: first.attempts, nextAttemptAt: first.nextAttemptAt, createdAt: first.createdAt };
}

/** Whether each member is among the first entries of its lane (none waits behind another message). */
export function atHeads(batch: Batch): boolean {
  const taken = new Map<Lane, number>();
  for (const m of batch.members) {
    const i = taken.get(m.lane) ?? 0;
    if (m.lane.entries[i] !== m) return false;
    taken.set(m.lane, i + 1);
  }
  return true;
}

/**
 * Fixes a new batch before its first POST: id order, the body within `maxBytes` (the last
 * members go back to their lanes' heads when it is over), the first member's TransID for all.
 */
export function seal(batch: Batch, codec: TspCodec, maxBytes: number): Batch {
  if (batch.members.length > 1) batch.members.sort((a, b) => a.record.id - b.record.id);
  batch.transId = batch.members[0]!.record.transId;
  while (batch.members.length > 1) {
    let body: string;
    try {
      body = codec.encode(batch.transId, batch.members.map((m) => m.record.message));
    } catch {
      // One member cannot be encoded: the first goes alone, the culprit is found when its turn comes.
      putBack(batch, 1);
      break;
    }
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes <= maxBytes) {
      batch.body = body;
      break;
    }
    putBack(batch, Math.max(1, Math.min(batch.members.length - 1, Math.floor(batch.members.length * maxBytes / bytes))));
  }
  batch.recorded = batch.members.length === 1;
  for (const m of batch.members) m.record.transId = batch.transId;
  return batch;
}

/** Keeps the first `keep` members; the others are waiting, never-posted messages again. */
function putBack(batch: Batch, keep: number): void {
  for (const m of batch.members.splice(keep)) {
    delete m.batch;
    m.lane.held = m.lane.entries[0]?.batch === batch;
  }
  batch.createdAt = Math.min(...batch.members.map((m) => m.record.createdAt));
}
