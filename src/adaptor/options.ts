/**
 * The engine's tunables. Key names mirror the `conference`, `dialOut`, `outbox`, `admission`,
 * `webex`, `hybrid` sections and `transIdRetentionMs` of the YAML configuration, so the
 * configuration layer maps them one to one; `withDefaults` fills what a caller left out.
 */
export type OrphanPolicy = 'end' | 'adopt';

export interface ConferenceOptions {
  /** A conference with no keep-alive, no W2A message and no caller for this long is ended. */
  keepAliveTimeoutMs: number;
  /** A talking change must hold this long before it becomes a Speaking change. */
  speakingHoldOffMs: number;
  /** At most this many Speaking changes per conference per second; the rest wait their turn. */
  speakingMaxChangesPerSecond: number;
  /** What to do with a bridge conference the engine has no record of. */
  orphanPolicy: OrphanPolicy;
  /** How often every bridge is compared with the engine's state, besides after each resync. */
  reconcileIntervalMs: number;
  /** Deadline of one bridge command. */
  commandTimeoutMs: number;
}

export interface DialOutOptions {
  /** CountryCode of the provider's home country: decides domestic vs international call-back. */
  homeCountryCode: string;
  /** Number prefixes (`CountryCode,AreaCode...`) a dial-out may go to; empty = all. */
  allowedPrefixes: string[];
  /** Number prefixes never dialled (premium rate and the like); wins over allowedPrefixes. */
  blockedPrefixes: string[];
  maxConcurrentPerConference: number;
  maxPerMinutePerConference: number;
}

export interface OutboxOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** A message still undelivered this long after it was produced is dead-lettered. */
  maxAgeMs: number;
  requestTimeoutMs: number;
  /** Conferences whose head message may be in flight at once. */
  concurrency: number;
  /** At most this many messages waiting for one WebEx URL go in one POST (1: never batch). */
  batchMaxMessages: number;
  /** ... and a batch's body stays within this many bytes (a message alone is posted whatever its size). */
  batchMaxBytes: number;
}

export interface AdmissionOptions {
  /** A peer adaptor: when no bridge here can take a new conference, answer Result 50 with it. */
  redirectURL?: string;
}

export interface WebexOptions {
  /**
   * Where A2W posts may go: URL prefixes (`https://tsp.example.com/`) or host patterns
   * (`*.webex.com`, `127.0.0.1:9443`). A message for any other URL is dead-lettered.
   */
  allowedHosts: string[];
}

/** Hybrid Audio attributes sent on A2W_RspCreateConference (spec 3.6). */
export interface HybridOptions {
  enabled: boolean;
  sdkToken?: string;
  clientURL?: string;
  adhocInstall?: boolean;
  seamlessSwitchEnabled?: boolean;
  appDetection?: string;
}

/** Call-in numbers announced in A2W_RspCreateConference. */
export interface NumbersOptions {
  tollNumber?: string;
  tollFreeNumber?: string;
  globalNumberURL?: string;
}

export interface EngineOptions {
  conference: ConferenceOptions;
  dialOut: DialOutOptions;
  outbox: OutboxOptions;
  admission: AdmissionOptions;
  webex: WebexOptions;
  hybrid: HybridOptions;
  numbers: NumbersOptions;
  /** How long a TransID is remembered for de-duplication (spec 4: at least 24 h). */
  transIdRetentionMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  conference: {
    keepAliveTimeoutMs: 10 * MINUTE_MS,
    speakingHoldOffMs: 300,
    speakingMaxChangesPerSecond: 10,
    orphanPolicy: 'end',
    reconcileIntervalMs: MINUTE_MS,
    commandTimeoutMs: 5_000,
  },
  dialOut: {
    homeCountryCode: '1',
    allowedPrefixes: [],
    blockedPrefixes: ['1,900'],
    maxConcurrentPerConference: 5,
    maxPerMinutePerConference: 20,
  },
  outbox: {
    initialDelayMs: 500,
    maxDelayMs: 30_000,
    maxAgeMs: HOUR_MS,
    requestTimeoutMs: 10_000,
    concurrency: 16,
    batchMaxMessages: 20,
    batchMaxBytes: 32_768,
  },
  admission: {},
  webex: { allowedHosts: [] },
  hybrid: { enabled: false },
  numbers: {},
  transIdRetentionMs: 24 * HOUR_MS,
};

export type EngineOptionsInput = {
  [K in keyof EngineOptions]?: EngineOptions[K] extends object[] | string[]
    ? EngineOptions[K]
    : EngineOptions[K] extends object
      ? Partial<EngineOptions[K]>
      : EngineOptions[K];
};

/** Fills every key left out with its default; sections merge key by key. */
export function withDefaults(input: EngineOptionsInput = {}): EngineOptions {
  const d = DEFAULT_ENGINE_OPTIONS;
  return {
    conference: { ...d.conference, ...input.conference },
    dialOut: { ...d.dialOut, ...input.dialOut },
    outbox: { ...d.outbox, ...input.outbox },
    admission: { ...d.admission, ...input.admission },
    webex: { ...d.webex, ...input.webex },
    hybrid: { ...d.hybrid, ...input.hybrid },
    numbers: { ...d.numbers, ...input.numbers },
    transIdRetentionMs: input.transIdRetentionMs ?? d.transIdRetentionMs,
  };
}
