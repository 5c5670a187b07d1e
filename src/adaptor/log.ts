/**
 * The daemon's logger: pino JSON lines on stdout (journald keeps them), one root per process,
 * child loggers per transaction, conference, call and bridge so that one `grep` on a TransID
 * or ExtConfID follows a command end to end.
 *
 * Nothing sensitive leaves in clear: secrets (passwords, keys, tokens) are replaced, and phone
 * numbers keep only their last digits. Both are done by pino's `redact` (paths compiled once at
 * start-up), so call sites cannot forget them.
 *
 * The level can change while running (`setLevel`). pino children copy their parent's level
 * when created, so the level is enforced in one `logMethod` hook shared by every child instead.
 */
import pino, { type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger };
export type LogLevel = Level | 'silent';

/** The ids a log line of the TSP path carries, spelled as in the spec. */
export interface LogContext {
  TransID?: string;
  MsgID?: string;
  ExtConfID?: string;
  ExtCallID?: string;
  bridge?: string;
}

/** How many trailing digits of a phone number stay readable. */
export const PHONE_DIGITS_KEPT = 4;

/** Field names that hold phone numbers, in the spec's spelling and the driver contract's. */
const PHONE_KEYS = [
  'PhoneNumber', 'CallerID', 'DialedNumber', 'NBRNumber', 'TollNumber', 'TollFreeNumber',
  'callerId', 'dialledNumber', 'number', 'phoneNumber',
];
const SECRET_KEYS = [
  'password', 'passphrase', 'key', 'privateKey', 'token', 'secret', 'credentials', 'authorization',
  'cookie', 'HybridSDKToken', 'sdkToken',
];
/** Nesting depths at which the fields above are found (messages inside a transaction etc.). */
const REDACT_PREFIXES = ['', '*.', '*.*.', '*.*.*.'];
const SECRET_CENSOR = '[redacted]';

const PHONE_KEY_SET = new Set(PHONE_KEYS);

/** `1,408,5550100` -> `*,***,***0100`: the shape stays, only the last digits are readable. */
export function maskPhoneNumber(value: string, keep = PHONE_DIGITS_KEPT): string {
  let kept = 0;
  const out = [...value].reverse().map((ch) => {
    if (ch < '0' || ch > '9') return ch;
    kept += 1;
    return kept <= keep ? ch : '*';
  });
  return out.reverse().join('');
}

function censor(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1] ?? '';
  if (PHONE_KEY_SET.has(key)) return typeof value === 'string' ? maskPhoneNumber(value) : value;
  return SECRET_CENSOR;
}

export interface RootLogger {
  logger: Logger;
  readonly level: LogLevel;
  setLevel(level: LogLevel): void;
}

export interface CreateLoggerOptions {
  level: LogLevel;
  /** Where lines go; stdout by default. Tests pass a stream they read. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. the instance id. */
  base?: Record<string, unknown>;
}

export function createLogger(options: CreateLoggerOptions): RootLogger {
  let threshold = levelValue(options.level);
  const paths = REDACT_PREFIXES.flatMap((prefix) => [...PHONE_KEYS, ...SECRET_KEYS].map((k) => `${prefix}${k}`));
  const logger = pino(
    {
      // Everything reaches the hook; the hook applies the run-time level.
      level: 'trace',
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths, censor },
      hooks: {
        logMethod(args, method, level) {
          if (level >= threshold) method.apply(this, args);
        },
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
  return {
    logger,
    get level() {
      return levelName(threshold);
    },
    setLevel(level: LogLevel) {
      threshold = levelValue(level);
    },
  };
}

/** A child carrying the TSP ids that are known; undefined ids are left out of the line. */
export function withContext(logger: Logger, context: LogContext): Logger {
  const bindings: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) if (value !== undefined && value !== '') bindings[key] = value;
  return logger.child(bindings);
}

function levelValue(level: LogLevel): number {
  return level === 'silent' ? Infinity : pino.levels.values[level]!;
}

function levelName(value: number): LogLevel {
  return value === Infinity ? 'silent' : (pino.levels.labels[value] as Level);
}
