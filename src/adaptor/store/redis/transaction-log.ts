/**
 * The cluster's intake journal: records a WebEx transaction once for all instances (the TransID
 * journal is shared) and files each of its commands in the partition of its conference's bridge,
 * where that bridge's owner picks it up (the hand-off stream wakes it). One Lua script, so the
 * TransID, the routes and the commands are written together or not at all.
 *
 * Routing: a command follows the bridge its ExtConfID (or a CreateConference's ConfKey) was
 * routed to; a command of an unknown conference goes to the bridge the caller proposes
 * (bridge-choice.ts decides which). Durable as the store's writes are (WAIT, see redis-store.ts).
 */
import type { Redis } from 'ioredis';
import type { W2AMessage } from '../../../protocol/index.js';
import type { CommandRecord, TransactionInput } from '../store.js';
import { groupKeys, type GroupKeys } from './keys.js';
import { RECORD_TRANSACTION } from './scripts.js';

export interface Replicas { replicas: number; timeoutMs: number }

/** A command as recorded, with the bridge whose owner carries it out. */
export interface RoutedCommand extends CommandRecord { bridgeId: string }

export type RoutedOutcome =
  | { kind: 'recorded'; commands: RoutedCommand[] }
  | { kind: 'repeat'; result: number };

/** What the router needs of a command: its conference's ExtConfID and, for a create, its ConfKey. */
export function routeKeys(message: W2AMessage): { extConfID: string; confKey: string } {
  return { extConfID: message.ExtConfID, confKey: message.type === 'W2A_CreateConference' ? message.ConfKey : '' };
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;
const SCRIPT_NAME = 'tspRecordRouted';

export class TransactionLog {
  readonly keys: GroupKeys;
  #redis: Redis;
  #replicas: Replicas | undefined;
  #record: ScriptFn;

  constructor(redis: Redis, options: { group: string; waitReplicas?: Replicas }) {
    this.#redis = redis;
    this.#replicas = options.waitReplicas;
    this.keys = groupKeys(options.group);
    if (!(SCRIPT_NAME in redis)) redis.defineCommand(SCRIPT_NAME, { numberOfKeys: 4, lua: RECORD_TRANSACTION });
    this.#record = (redis as unknown as Record<string, ScriptFn>)[SCRIPT_NAME]!.bind(redis);
  }

  /** `propose` names the bridge for a command whose conference has no route yet. */
  async record(tx: TransactionInput, propose: (message: W2AMessage) => string): Promise<RoutedOutcome> {
    const k = this.keys;
    const args = tx.messages.flatMap((message) => {
      const { extConfID, confKey } = routeKeys(message);
      return [extConfID, confKey, propose(message), JSON.stringify({ transId: tx.transId, message, receivedAt: tx.receivedAt })];
    });
    const reply = await this.#record(k.transResults, k.transByTime, k.routes, k.commandSeq,
      tx.transId, tx.result, tx.receivedAt, k.bridgePrefix, ...args) as (number | string)[];
    if (Number(reply[0]) === 0) return { kind: 'repeat', result: Number(reply[1]) };
    await waitDurable(this.#redis, this.#replicas);
    const commands = tx.messages.map((message, i): RoutedCommand => ({
      id: Number(reply[1 + 2 * i]), bridgeId: String(reply[2 + 2 * i]), transId: tx.transId, message, state: 'accepted', receivedAt: tx.receivedAt,
    }));
    return { kind: 'recorded', commands };
  }
}

/** Resolves once `want.replicas` replicas acknowledged every write so far on this connection. */
export async function waitDurable(redis: Redis, want: Replicas | undefined): Promise<void> {
  if (!want || want.replicas === 0) return;
  const acked = await redis.wait(want.replicas, want.timeoutMs);
  if (acked < want.replicas) {
    throw new Error(`only ${acked} of ${want.replicas} Redis replicas acknowledged a write within ${want.timeoutMs} ms; check the replicas (INFO replication)`);
  }
}
