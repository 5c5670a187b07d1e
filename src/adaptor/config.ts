/**
 * The daemon's configuration: one YAML file (optional), overridden key by key from the
 * environment, validated once at start-up against one schema, then frozen.
 *
 * The schema is the single home of every default (the "embedded defaults" that let `npm start`
 * run with no file at all), of every key's type and limits, and of the key list that
 * deploy/config.example.yaml and docs/configuration.md must cover (a test keeps them in step).
 *
 * Environment overrides: `TSP_` + the key path in capitals, `__` between levels, e.g.
 * `TSP_WEBEX__PORT=18443` or `TSP_OUTBOX__MAX_AGE_MS=600000` (underscores inside a level are
 * ignored when matching, so `MAXAGEMS` works too). A value for a string key is taken as is;
 * any other value is read as JSON (numbers, booleans, arrays, objects).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import cron from 'node-cron';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { cidrProblem } from './access/source-allow-list.js';
import { adminExposureProblem } from './admin/auth.js';
import { allowedHostProblem } from './http/allowed-hosts.js';
import { DEFAULT_ENGINE_OPTIONS as ENGINE } from './options.js';

const PORT = z.number().int().min(0).max(65_535);
const MS = z.number().int().min(0);
const POSITIVE_MS = z.number().int().min(1);
const HOST = z.string().min(1);
/** An absolute URL path for the WebEx endpoint. */
const URL_PATH = z.string().regex(/^\/[A-Za-z0-9._~\/-]*$/, 'must be an absolute path such as /tsp');
/** A URL prefix or a host pattern; the grammar and its checks live in http/allowed-hosts.ts. */
const ALLOWED_HOST = z.string().superRefine((entry, ctx) => {
  const problem = allowedHostProblem(entry);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: entry });
});
/** An IPv4 or IPv6 address or CIDR block; the grammar lives in access/source-allow-list.ts. */
const CIDR = z.string().superRefine((entry, ctx) => {
  const problem = cidrProblem(entry);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: entry });
});
/** `CountryCode,AreaCode,LocalNumber` (spec 3), at most 63 characters. */
const PHONE_NUMBER = z.string().max(63).regex(/^[0-9]+,[0-9]*,[0-9]+$/, 'must be CountryCode,AreaCode,LocalNumber such as 1,408,5550100');
/** `CountryCode,AreaCode,LocalNumber` prefixes, digits and commas only. */
const NUMBER_PREFIX = z.string().regex(/^[0-9,]+$/, 'must be digits (and commas) such as 1,900 or 44');

/** A node-cron expression. */
const CRON = z.string().refine((v) => cron.validate(v), 'must be a cron expression of five fields, or six with seconds first, such as "*/30 * * * * *"');

/** Loopback WebEx servers: what a newcomer's simulator and the tests run on. */
export const LOOPBACK_WEBEX_HOSTS: readonly string[] = [
  'https://127.0.0.1',
  'https://localhost',
  'https://[::1]',
  'http://127.0.0.1',
  'http://localhost',
  'http://[::1]',
];

/** A section of keys that is filled from its own defaults when absent. */
const section = <S extends z.ZodRawShape>(shape: S) => {
  const object = z.strictObject(shape);
  // Every key of a section has a default or is optional, so {} is a valid input.
  return object.prefault({} as z.input<typeof object>);
};

/** One bridge; the shape is the driver contract's DriverConfig. */
export const BRIDGE_SCHEMA = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, _ . or -'),
  driver: z.string().min(1),
  host: HOST,
  port: PORT.min(1),
  notifyPort: PORT.min(1).optional(),
  username: z.string(),
  /** The login password, or `passwordFile` naming a file only its owner can read. */
  password: z.string().optional(),
  passwordFile: z.string().min(1).optional(),
  heartbeatIntervalMs: POSITIVE_MS.default(5_000),
  missedHeartbeats: z.number().int().min(1).default(3),
  commandTimeoutMs: POSITIVE_MS.default(5_000),
  reconnectInitialDelayMs: POSITIVE_MS.default(500),
  reconnectMaxDelayMs: POSITIVE_MS.default(30_000),
});

const CONFIG_SCHEMA = z.strictObject({
  instance: section({
    /** Names this adaptor in logs, metrics and a shared store. */
    id: z.string().min(1).default(os.hostname()),
  }),
  webex: section({
    host: HOST.default('127.0.0.1'),
    port: PORT.default(8_443),
    path: URL_PATH.default('/tsp'),
    tls: section({
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      caFile: z.string().min(1).optional(),
      trustLoopbackPeers: z.boolean().default(true),
      /** Mutual TLS: client certificates must chain to this CA (docs/security.md). */
      clientCaFile: z.string().min(1).optional(),
      rejectUnauthorizedClients: z.boolean().default(true),
      allowedClientSubjects: z.array(z.string().min(1)).default([]),
    }),
    /** CIDR blocks WebEx may connect from; empty = any source. */
    allowedSources: z.array(CIDR).default([]),
    limits: section({
      ratePerSecond: z.number().min(0.001).default(200),
      burst: z.number().int().min(1).default(400),
      maxConnections: z.number().int().min(1).default(256),
    }),
    allowedHosts: z.array(ALLOWED_HOST).min(1).default([...LOOPBACK_WEBEX_HOSTS]),
    maxBodyBytes: z.number().int().min(512).max(16 * 1024 * 1024).default(65_536),
    maxCommands: z.number().int().min(1).max(10_000).default(100),
    /** Our [modeled] names -> the provider's, for elements and attributes (spec: "dialect"). */
    dialect: z
      .strictObject({
        elements: z.record(z.string().min(1), z.string().min(1)).optional(),
        attributes: z.record(z.string().min(1), z.string().min(1)).optional(),
      })
      .optional(),
    timeouts: section({
      headersMs: POSITIVE_MS.default(10_000),
      requestMs: POSITIVE_MS.default(30_000),
      keepAliveMs: POSITIVE_MS.default(30_000),
    }),
    client: section({
      maxSockets: z.number().int().min(1).default(64),
      keepAliveMs: POSITIVE_MS.default(30_000),
    }),
  }),
  admin: section({
    host: HOST.default('127.0.0.1'),
    port: PORT.default(9_464),
    /** Required when `host` is not loopback (admin/auth.ts). */
    auth: section({
      tokenFile: z.string().min(1).optional(),
      basicFile: z.string().min(1).optional(),
    }),
  }),
  store: section({
    kind: z.enum(['sqlite', 'memory', 'redis']).default('sqlite'),
    dataDir: z.string().min(1).default('./var'),
    /** The shared store of several instances (docs/high-availability.md); used when kind is redis. */
    redis: section({
      url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
      sentinels: z.array(z.strictObject({ host: HOST, port: PORT.min(1) })).default([]),
      name: z.string().min(1).default('tsp'),
      passwordFile: z.string().min(1).optional(),
      waitReplicas: z.number().int().min(0).default(0),
      waitTimeoutMs: POSITIVE_MS.default(1_000),
      commandTimeoutMs: POSITIVE_MS.default(2_000),
    }),
  }),
  /** Several instances on one Redis store: one owns the bridges by a lease (docs/high-availability.md). */
  cluster: section({
    group: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, _ . or -').default('tsp'),
    leaseMs: POSITIVE_MS.default(10_000),
    renewMs: POSITIVE_MS.default(2_000),
  }),
  transIdRetentionMs: POSITIVE_MS.default(ENGINE.transIdRetentionMs),
  bridges: z.array(BRIDGE_SCHEMA).default([]),
  emulator: section({
    enabled: z.boolean().optional(),
    host: HOST.default('127.0.0.1'),
    ports: section({
      voyant2035: PORT.default(0),
      voyant2313Request: PORT.default(0),
      voyant2313Notify: PORT.default(0),
      control: PORT.default(0),
    }),
    login: section({
      username: z.string().min(1).default('tsp'),
      password: z.string().min(1).default('tsp-emulator'),
    }),
  }),
  conference: section({
    keepAliveTimeoutMs: POSITIVE_MS.default(ENGINE.conference.keepAliveTimeoutMs),
    speakingHoldOffMs: MS.default(ENGINE.conference.speakingHoldOffMs),
    speakingMaxChangesPerSecond: z.number().int().min(1).default(ENGINE.conference.speakingMaxChangesPerSecond),
    orphanPolicy: z.enum(['end', 'adopt']).default(ENGINE.conference.orphanPolicy),
    reconcileIntervalMs: POSITIVE_MS.default(ENGINE.conference.reconcileIntervalMs),
    commandTimeoutMs: POSITIVE_MS.default(ENGINE.conference.commandTimeoutMs),
  }),
  dialOut: section({
    homeCountryCode: z.string().regex(/^[0-9]{1,4}$/, 'must be 1 to 4 digits').default(ENGINE.dialOut.homeCountryCode),
    allowedPrefixes: z.array(NUMBER_PREFIX).default([...ENGINE.dialOut.allowedPrefixes]),
    blockedPrefixes: z.array(NUMBER_PREFIX).default([...ENGINE.dialOut.blockedPrefixes]),
    maxConcurrentPerConference: z.number().int().min(0).default(ENGINE.dialOut.maxConcurrentPerConference),
    maxPerMinutePerConference: z.number().int().min(0).default(ENGINE.dialOut.maxPerMinutePerConference),
  }),
  outbox: section({
    initialDelayMs: POSITIVE_MS.default(ENGINE.outbox.initialDelayMs),
    maxDelayMs: POSITIVE_MS.default(ENGINE.outbox.maxDelayMs),
    maxAgeMs: POSITIVE_MS.default(ENGINE.outbox.maxAgeMs),
    requestTimeoutMs: POSITIVE_MS.default(ENGINE.outbox.requestTimeoutMs),
    concurrency: z.number().int().min(1).default(ENGINE.outbox.concurrency),
    batchMaxMessages: z.number().int().min(1).max(1_000).default(ENGINE.outbox.batchMaxMessages),
    batchMaxBytes: z.number().int().min(1_024).max(16 * 1024 * 1024).default(ENGINE.outbox.batchMaxBytes),
  }),
  admission: section({
    redirectURL: z.url({ protocol: /^https?$/ }).optional(),
  }),
  numbers: section({
    tollNumber: PHONE_NUMBER.optional(),
    tollFreeNumber: PHONE_NUMBER.optional(),
    globalNumberURL: z.url({ protocol: /^https?$/ }).optional(),
  }),
  hybrid: section({
    enabled: z.boolean().default(ENGINE.hybrid.enabled),
    sdkToken: z.string().max(128).optional(),
    clientURL: z.url({ protocol: /^https?$/ }).max(1_024).optional(),
    adhocInstall: z.boolean().optional(),
    seamlessSwitchEnabled: z.boolean().optional(),
    appDetection: z.string().optional(),
  }),
  log: section({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }),
  /** Scheduled jobs (docs/operations.md): node-cron expressions, six fields put seconds first. */
  jobs: section({
    /** Default: every half keep-alive timeout, at most every minute. */
    keepAliveSweep: CRON.optional(),
    /** Default: every conference.reconcileIntervalMs. */
    reconcile: CRON.optional(),
    compaction: CRON.default('0 7 * * * *'),
    deepCheck: CRON.default('30 * * * * *'),
  }),
  /** The deep health check (docs/operations.md): a probe conference on each bridge. */
  deepCheck: section({
    enabled: z.boolean().default(true),
    confKeyPrefix: z.string().regex(/^[0-9]{1,10}$/, 'must be 1 to 10 digits').default('9999'),
    stepTimeoutMs: POSITIVE_MS.default(5_000),
    answerTimeoutMs: POSITIVE_MS.default(30_000),
    loopbackNumber: PHONE_NUMBER.optional(),
  }),
  /** Call detail records (docs/call-records.md). */
  callRecords: section({
    enabled: z.boolean().default(true),
    /** Default: `call-records` in store.dataDir. */
    dir: z.string().min(1).optional(),
    format: z.enum(['jsonl', 'csv']).default('jsonl'),
    keepDays: z.number().int().min(1).default(90),
    digitsKept: z.number().int().min(0).max(15).default(4),
    /** node-cron expression of the daily rotation. */
    rotateSchedule: z.string().min(1).default('5 0 * * *'),
  }),
});

type ParsedConfig = z.output<typeof CONFIG_SCHEMA>;
export type BridgeConfig = z.output<typeof BRIDGE_SCHEMA>;
export type LogLevel = ParsedConfig['log']['level'];

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The validated, frozen configuration; `emulator.enabled` is decided (never undefined). */
export type Config = DeepReadonly<
  Omit<ParsedConfig, 'emulator'> & { emulator: ParsedConfig['emulator'] & { enabled: boolean } }
>;

/** Every problem found, each naming the key path (and the variable, for env overrides). */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(source: string, problems: string[]) {
    super(`invalid configuration (${source}):\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** YAML file; without it only the embedded defaults and the environment apply. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const { file, env = process.env } = options;
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
    }
    raw = parseYaml(file, text);
  }
  return parseConfig(raw, { env, source: file ?? 'embedded defaults' });
}

function parseYaml(file: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  }
  return doc.toJS() ?? {};
}

/** Validates an already-read document plus env overrides; the seam the tests use. */
export function parseConfig(raw: unknown, options: { env?: NodeJS.ProcessEnv; source?: string } = {}): Config {
  const source = options.source ?? 'inline';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['(top level): must be a mapping of sections such as webex: and store:']);
  }
  const envProblems: string[] = [];
  const document = structuredClone(raw) as Record<string, unknown>;
  const fromEnv = applyEnvOverrides(document, options.env ?? {}, envProblems);
  if (envProblems.length > 0) throw new ConfigError(source, envProblems);

  const result = CONFIG_SCHEMA.safeParse(document, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(source, result.error.issues.map((issue) => describeIssue(issue, fromEnv)));
  }
  const parsed = result.data;
  const enabled = parsed.emulator.enabled ?? parsed.bridges.length === 0;
  const problems = crossCheck(parsed, enabled);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze({ ...parsed, emulator: { ...parsed.emulator, enabled } });
}

/** Rules between keys, which the per-key schema cannot say. */
function crossCheck(config: ParsedConfig, emulatorEnabled: boolean): string[] {
  const problems: string[] = [];
  if (config.bridges.length === 0 && !emulatorEnabled) {
    problems.push('bridges: no bridge configured and emulator.enabled is false; add a bridge or enable the emulator');
  }
  const seen = new Set<string>();
  config.bridges.forEach((bridge, i) => {
    if (seen.has(bridge.id)) problems.push(`bridges.${i}.id: "${bridge.id}" is used by an earlier bridge; ids must be unique`);
    seen.add(bridge.id);
    if (bridge.reconnectMaxDelayMs < bridge.reconnectInitialDelayMs) {
      problems.push(`bridges.${i}.reconnectMaxDelayMs: must be at least reconnectInitialDelayMs (${bridge.reconnectInitialDelayMs})`);
    }
    if ((bridge.password === undefined) === (bridge.passwordFile === undefined)) {
      problems.push(`bridges.${i}: set exactly one of password and passwordFile`);
    }
  });
  if (config.webex.tls.allowedClientSubjects.length > 0 && !config.webex.tls.clientCaFile) {
    problems.push('webex.tls.allowedClientSubjects: needs webex.tls.clientCaFile (subjects are only known from verified client certificates)');
  }
  const { redis } = config.store;
  if (config.store.kind === 'redis' && (redis.url === undefined) === (redis.sentinels.length === 0)) {
    problems.push('store.redis: with kind redis, set exactly one of url and sentinels');
  }
  if (config.cluster.renewMs * 2 > config.cluster.leaseMs) {
    problems.push(`cluster.renewMs: must be at most half of cluster.leaseMs (${config.cluster.leaseMs}) so one late renewal does not lose the lease`);
  }
  const adminProblem = adminExposureProblem(config.admin.host, config.admin.auth);
  if (adminProblem) problems.push(adminProblem);
  const { certFile, keyFile } = config.webex.tls;
  if (Boolean(certFile) !== Boolean(keyFile)) {
    problems.push('webex.tls: set both certFile and keyFile, or neither (a self-signed certificate is then generated)');
  }
  if (config.webex.timeouts.headersMs > config.webex.timeouts.requestMs) {
    problems.push(`webex.timeouts.headersMs: must not exceed webex.timeouts.requestMs (${config.webex.timeouts.requestMs})`);
  }
  if (config.outbox.maxDelayMs < config.outbox.initialDelayMs) {
    problems.push(`outbox.maxDelayMs: must be at least outbox.initialDelayMs (${config.outbox.initialDelayMs})`);
  }
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue, fromEnv: ReadonlyMap<string, string>): string {
  const path = issue.path.join('.') || '(top level)';
  const envName = [...fromEnv].find(([keyPath]) => path === keyPath || path.startsWith(`${keyPath}.`))?.[1];
  const origin = envName ? ` (from ${envName})` : '';
  const got = 'input' in issue && issue.input !== undefined && (issue.input === null || typeof issue.input !== 'object')
    ? `, got ${JSON.stringify(issue.input)}`
    : '';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(issue.path);
      return issue.keys
        .map((k) => `${issue.path.length ? `${path}.` : ''}${k}: unknown key${origin}; known keys here: ${known.join(', ')}`)
        .join('\n  ');
    }
    case 'invalid_type':
      return issue.input === undefined
        ? `${path}: required (${issue.expected})${origin}`
        : `${path}: expected ${issue.expected}${got}${origin}`;
    case 'too_small':
      return `${path}: must be at least ${String(issue.minimum)}${got}${origin}`;
    case 'too_big':
      return `${path}: must be at most ${String(issue.maximum)}${got}${origin}`;
    case 'invalid_value':
      return `${path}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}${origin}`;
    default:
      return `${path}: ${issue.message}${got}${origin}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Schema walking: env overrides, "unknown key" hints and the documented key list share it.
// ---------------------------------------------------------------------------------------------

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
}

const def = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** Strips default/prefault/optional wrappers down to the schema that says the value's kind. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let d = def(current); d.innerType; d = def(current)) current = d.innerType;
  return current;
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  return def(unwrap(schema)).shape;
}

function schemaAt(path: readonly PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = CONFIG_SCHEMA;
  for (const key of path) {
    if (!schema) return undefined;
    const inner = unwrap(schema);
    const d = def(inner);
    schema = typeof key === 'number' && d.element ? d.element : d.shape?.[String(key)];
  }
  return schema;
}

function knownKeys(path: readonly PropertyKey[]): string[] {
  const schema = schemaAt(path);
  return schema ? Object.keys(shapeOf(schema) ?? {}) : [];
}

/**
 * Every key path of the schema, arrays shown as `bridges[]`: the list that the example file
 * and the docs must cover.
 */
export function configKeyPaths(): string[] {
  const paths: string[] = [];
  const walk = (schema: z.ZodType, prefix: string): void => {
    const inner = unwrap(schema);
    const d = def(inner);
    if (d.type === 'array' && d.element && shapeOf(d.element)) {
      walk(d.element, `${prefix}[]`);
      return;
    }
    for (const [key, child] of Object.entries(d.type === 'object' ? d.shape ?? {} : {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.push(path);
      walk(child, path);
    }
  };
  walk(CONFIG_SCHEMA, '');
  return paths;
}

const ENV_PREFIX = 'TSP_';

/**
 * Writes every `TSP_*` variable into `raw` at its key path. Returns key path -> variable name
 * so validation errors can say where a bad value came from.
 */
function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[]): Map<string, string> {
  const applied = new Map<string, string>();
  const names = Object.keys(env).filter((n) => n.startsWith(ENV_PREFIX)).sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const segments = name.slice(ENV_PREFIX.length).split('__');
    const path: string[] = [];
    let schema: z.ZodType = CONFIG_SCHEMA;
    let failed = false;
    for (const segment of segments) {
      const shape = shapeOf(schema);
      const wanted = segment.replace(/_/g, '');
      const key = shape && Object.keys(shape).find((k) => k.toUpperCase() === wanted);
      if (!shape || !key) {
        const at = path.length ? path.join('.') : 'the top level';
        const known = shape ? `; known keys at ${at}: ${Object.keys(shape).join(', ')}` : ` (${at} takes a whole value, as JSON)`;
        problems.push(`${name}: no key "${segment.toLowerCase()}" under ${at}${known}`);
        failed = true;
        break;
      }
      path.push(key);
      schema = shape[key]!;
    }
    if (failed) continue;
    const decoded = decodeEnvValue(value, unwrap(schema));
    if (!decoded.ok) {
      problems.push(`${name}: ${path.join('.')} takes JSON here (${decoded.reason})`);
      continue;
    }
    setPath(raw, path, decoded.value);
    applied.set(path.join('.'), name);
  }
  return applied;
}

function decodeEnvValue(value: string, schema: z.ZodType): { ok: true; value: unknown } | { ok: false; reason: string } {
  const type = def(schema).type;
  if (type === 'string' || type === 'enum') return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
