/**
 * The ioredis connection of a cluster member: to one URL, or to the master the Sentinels name
 * (after a fail-over ioredis asks them again and reconnects). Commands fail fast while Redis is
 * away (no offline queue, a command timeout) so intake answers Confirmation 7 at once instead
 * of holding WebEx; the connection keeps retrying on its own and intake recovers with it.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { readSecretLine } from '../secrets.js';

const RECONNECT_MAX_DELAY_MS = 2_000;
const RECONNECT_STEP_MS = 100;

export async function connectRedis(config: Config['store']['redis'], logger: Logger, name: string): Promise<Redis> {
  const password = config.passwordFile ? await readSecretLine(config.passwordFile, 'store.redis.passwordFile') : undefined;
  const common: RedisOptions = {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * RECONNECT_STEP_MS, RECONNECT_MAX_DELAY_MS),
    ...(password ? { password, sentinelPassword: password } : {}),
  };
  const redis = config.url
    ? new Redis(config.url, common)
    : new Redis({ ...common, sentinels: config.sentinels.map((s) => ({ host: s.host, port: s.port })), name: config.name });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.warn({ err, connection: name }, 'Redis unreachable; WebEx gets Confirmation 7 until it is back');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info({ connection: name }, 'Redis reachable again');
    down = false;
  });
  // Start-up waits a little for the first connection; without it the instance still starts,
  // answers 7 and recovers once Redis is up.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, config.commandTimeoutMs);
    redis.once('ready', () => { clearTimeout(timer); resolve(); });
  });
  return redis;
}
