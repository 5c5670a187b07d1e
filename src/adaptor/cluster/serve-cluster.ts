/**
 * `tsp-adaptor serve` when store.kind is redis: runs this instance as a cluster member until
 * SIGTERM or SIGINT, then hands the bridges over at once (the lease is released) and exits 0.
 * A second signal exits at once (1). Reload (SIGHUP) and systemd notification belong to the
 * single-instance daemon and are not offered here yet.
 */
import type { Config } from '../config.js';
import { ClusterDaemon } from './cluster-daemon.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export async function serveCluster(config: Config): Promise<number> {
  let daemon: ClusterDaemon;
  try {
    daemon = await ClusterDaemon.start(config);
  } catch (err) {
    process.stderr.write(`tsp-adaptor serve: start-up failed: ${(err as Error).message}\n`);
    return 1;
  }
  return new Promise((resolve) => {
    for (const signal of STOP_SIGNALS) {
      process.once(signal, () => {
        for (const again of STOP_SIGNALS) process.once(again, () => process.exit(1));
        daemon.stop(signal).then(() => resolve(0), () => resolve(1));
      });
    }
  });
}
