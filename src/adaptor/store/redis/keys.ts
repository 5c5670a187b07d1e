/**
 * Where the shared state lives in Redis. Every key of one cluster shares the hash tag
 * `{group}`, so a Redis Cluster would keep them in one slot, which the multi-key scripts need.
 */
export interface RedisKeys {
  lease: string;
  leaseToken: string;
  transResults: string;
  transByTime: string;
  commands: string;
  commandsStarted: string;
  commandSeq: string;
  handOff: string;
  conferences: string;
  conferencesEnded: string;
  outbox: string;
  outboxRetry: string;
  outboxSeq: string;
  deadLetters: string;
  instances: string;
}

export function redisKeys(group: string): RedisKeys {
  const p = `tsp:{${group}}:`;
  return {
    lease: `${p}lease`,
    leaseToken: `${p}lease-token`,
    transResults: `${p}trans`,
    transByTime: `${p}trans-by-time`,
    commands: `${p}commands`,
    commandsStarted: `${p}commands-started`,
    commandSeq: `${p}command-seq`,
    handOff: `${p}hand-off`,
    conferences: `${p}conferences`,
    conferencesEnded: `${p}conferences-ended`,
    outbox: `${p}outbox`,
    outboxRetry: `${p}outbox-retry`,
    outboxSeq: `${p}outbox-seq`,
    deadLetters: `${p}dead-letters`,
    instances: `${p}instances`,
  };
}
