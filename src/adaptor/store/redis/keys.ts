/**
 * Where the shared state lives in Redis. What all instances of a cluster share whatever the
 * bridge (the TransID journal, the conference routes, the heartbeats, the command ids) sits
 * under the group; each bridge has its own partition (its lease and fencing token, its
 * commands, hand-off stream, conferences and outbox), so each bridge can have its own owner.
 *
 * Every key of one cluster shares the hash tag `{group}`: the routing script writes into the
 * partition of the bridge it chooses, so all keys must live on one Redis (master + replicas
 * under Sentinel; a Redis Cluster would at least keep them in one slot).
 */
export interface GroupKeys {
  transResults: string;
  transByTime: string;
  /** ExtConfID and ConfKey -> the bridge their conference lives on. */
  routes: string;
  commandSeq: string;
  instances: string;
  /** Prefix of every bridge partition: `<prefix><bridgeId>:<name>`. */
  bridgePrefix: string;
}

export interface BridgeKeys {
  lease: string;
  leaseToken: string;
  commands: string;
  commandsStarted: string;
  handOff: string;
  conferences: string;
  conferencesEnded: string;
  outbox: string;
  outboxRetry: string;
  outboxSeq: string;
  deadLetters: string;
}

export function groupKeys(group: string): GroupKeys {
  const p = `tsp:{${group}}:`;
  return {
    transResults: `${p}trans`,
    transByTime: `${p}trans-by-time`,
    routes: `${p}routes`,
    commandSeq: `${p}command-seq`,
    instances: `${p}instances`,
    bridgePrefix: `${p}bridge:`,
  };
}

/** The names the routing script builds in Lua from `bridgePrefix` must match these two. */
export const COMMANDS_SUFFIX = ':commands';
export const HAND_OFF_SUFFIX = ':hand-off';

export function bridgeKeys(group: string, bridgeId: string): BridgeKeys {
  const p = `${groupKeys(group).bridgePrefix}${bridgeId}`;
  return {
    lease: `${p}:lease`,
    leaseToken: `${p}:lease-token`,
    commands: `${p}${COMMANDS_SUFFIX}`,
    commandsStarted: `${p}:commands-started`,
    handOff: `${p}${HAND_OFF_SUFFIX}`,
    conferences: `${p}:conferences`,
    conferencesEnded: `${p}:conferences-ended`,
    outbox: `${p}:outbox`,
    outboxRetry: `${p}:outbox-retry`,
    outboxSeq: `${p}:outbox-seq`,
    deadLetters: `${p}:dead-letters`,
  };
}
