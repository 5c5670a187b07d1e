/**
 * One cluster member as a child process, for the kill runs: reads its configuration as JSON
 * from TSP_HA_CONFIG, prints `READY <url>` once it listens and `STATUS <json>` every
 * STATUS_INTERVAL_MS (role, each bridge's role and lease, take-overs, fencing refusals), stops on SIGTERM.
 */
import { ClusterDaemon } from '../../src/adaptor/cluster/cluster-daemon.js';
import { parseConfig } from '../../src/adaptor/config.js';

const STATUS_INTERVAL_MS = 50;

// The run may end (and close the pipe) while this process still reports: nothing to tell then.
process.stdout.on('error', () => {});

const config = parseConfig(JSON.parse(process.env.TSP_HA_CONFIG ?? '{}') as unknown, { source: 'TSP_HA_CONFIG', env: {} });
const daemon = await ClusterDaemon.start(config);
process.stdout.write(`READY ${daemon.webexUrl}\n`);
const timer = setInterval(() => {
  const { peers: _peers, ...status } = daemon.member.status();
  process.stdout.write(`STATUS ${JSON.stringify({ ...status, at: Date.now() })}\n`);
}, STATUS_INTERVAL_MS);
process.once('SIGTERM', () => {
  clearInterval(timer);
  void daemon.stop('SIGTERM').then(() => process.exit(0));
});
