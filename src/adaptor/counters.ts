/**
 * Counters the engine keeps for metrics: plain numbers and maps that the metrics layer reads
 * (`engine.counters`) and turns into Prometheus series. Nothing here is persisted; a restart
 * starts from zero, as Prometheus counters expect.
 */
export type CorrectionKind =
  | 'caller-joined-unreported'
  | 'caller-left-unreported'
  | 'mute-reapplied'
  | 'mute-reported'
  | 'sub-conference-reported'
  | 'lock-reapplied'
  | 'mute-all-reapplied'
  | 'dial-out-outcome-lost'
  | 'dial-out-joined-unreported'
  | 'conference-lost'
  | 'conference-ended-unreported'
  | 'orphan-ended'
  | 'orphan-adopted';

export type UnroutableKind = 'unknown-conference' | 'unknown-caller' | 'unknown-bridge-conference';

export class EngineCounters {
  /**
   * `W2A_MuteUser:0` -> count: commands carried out, by element and response Result (`-` when
   * the element has no response). Admission refusals are `W2A_CreateConference:30|31|50`.
   */
  readonly commands = new Map<string, number>();
  readonly corrections = new Map<CorrectionKind, number>();
  /** W2A messages without a response message that named an unknown conference or caller. */
  readonly unroutable = new Map<UnroutableKind, number>();
  /** Dial-outs refused by policy (Result 44), by rule. */
  readonly dialOutRefusals = new Map<string, number>();
  transIdRepeats = 0;
  transactionsAccepted = 0;
  /** Commands found in flight at start-up and finished by recovery. */
  commandsRecovered = 0;
  outboxDelivered = 0;
  outboxRetries = 0;
  /** A2W POSTs made (retries included) and the messages they carried: their ratio is the batching. */
  outboxPosts = 0;
  outboxPostedMessages = 0;
  deadLetters = 0;

  bump<K>(map: Map<K, number>, key: K, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }
}
