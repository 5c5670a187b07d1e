/**
 * `tsp-adaptor check-config FILE`: validates a configuration file (with the environment's
 * TSP_ overrides applied, as `serve` would) and prints OK or every problem. Nothing starts.
 * Exit 0 when valid, 1 when not, 2 on a usage error.
 */
import { ConfigError, loadConfig } from './config.js';

export async function run(args: string[]): Promise<number> {
  const [file, ...rest] = args;
  if (!file || rest.length > 0 || file.startsWith('-')) {
    process.stderr.write('usage: tsp-adaptor check-config FILE\n');
    return 2;
  }
  try {
    await loadConfig({ file });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  process.stdout.write(`OK: ${file}\n`);
  return 0;
}
