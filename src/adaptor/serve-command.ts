/**
 * `tsp-adaptor serve [--config FILE]`: runs the daemon (main.ts; with store.kind redis, a cluster
 * member: cluster/cluster-daemon.ts) until SIGTERM or SIGINT, then stops it in order (a member
 * hands its bridges over at once) and exits 0. A second signal during the stop exits at once (1). Without
 * --config the embedded defaults apply (TSP_ variables still override them). SIGHUP re-reads
 * the file (reload.ts). Under systemd it reports READY=1, status, watchdog pings and STOPPING=1.
 */
import { ClusterDaemon } from './cluster/cluster-daemon.js';
import { ConfigError, loadConfig } from './config.js';
import type { Config } from './config.js';
import type { RootLogger } from './log.js';
import { Daemon } from './main.js';
import { Reloader, type ReloadablePart } from './reload.js';
import { SystemdNotifier } from './systemd/notify.js';
import { ServiceStatus, type ServiceCounts } from './systemd/service-status.js';

/** What `serve` runs: a single instance (main.ts) or a cluster member (cluster/cluster-daemon.ts). */
export interface ServedDaemon {
  readonly root: RootLogger;
  readonly config: Config;
  stop(reason: string): Promise<void>;
  reloadableParts(): ReloadablePart[];
  serviceCounts(): ServiceCounts;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** How long the process may linger once the daemon has stopped. */
const EXIT_GRACE_MS = 2_000;

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\nusage: tsp-adaptor serve [--config FILE]\n`);
    return 2;
  }
  // From the first moment: SIGHUP's default action would end the process. One that comes
  // during start-up reloads once the daemon is up.
  let reload: () => void = () => {
    reload = () => {};
    reloadWhenUp = true;
  };
  let reloadWhenUp = false;
  const onHangUp = (): void => reload();
  process.on('SIGHUP', onHangUp);
  // Likewise SIGTERM/SIGINT: their default action would kill the process mid-write, without the
  // ordered stop. One that comes during start-up stops the daemon as soon as it is up.
  let stopWhenUp: NodeJS.Signals | undefined;
  let requestStop = (signal: NodeJS.Signals): void => {
    stopWhenUp ??= signal;
  };
  const onStopSignal = (signal: NodeJS.Signals): void => requestStop(signal);
  const releaseSignals = (): void => {
    process.off('SIGHUP', onHangUp);
    for (const signal of STOP_SIGNALS) process.off(signal, onStopSignal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onStopSignal);
  let daemon: ServedDaemon;
  try {
    const config = await loadConfig(parsed.file ? { file: parsed.file } : {});
    // store.kind redis: a cluster member, run, reloaded and reported to systemd the same way.
    daemon = config.store.kind === 'redis' ? await ClusterDaemon.start(config) : await Daemon.start(config);
  } catch (err) {
    releaseSignals();
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    // Also logged by the daemon with its cause; this line is for the person at the terminal.
    process.stderr.write(`tsp-adaptor serve: start-up failed: ${(err as Error).message}\n`);
    return 1;
  }
  // No await from here to waitForStop: a SIGTERM right after start-up must find its handler.
  const served = daemon;
  const status = new ServiceStatus(SystemdNotifier.open(daemon.root.logger.child({ component: 'systemd' })), () => served.serviceCounts());
  const reloader = new Reloader(daemon.config, parsed.file, daemon.root.logger.child({ component: 'reload' }));
  for (const part of daemon.reloadableParts()) reloader.register(part);
  reload = () => void reloader.reload();
  if (reloadWhenUp) reload();
  const { stopped, stop } = waitForStop(daemon, status);
  requestStop = (signal) => stop(signal, 0);
  if (stopWhenUp) stop(stopWhenUp, 0);
  await status.ready();
  const code = await stopped;
  process.off('SIGHUP', onHangUp);
  status.close();
  return code;
}

/** Arms the stop (by signal, or on an uncaught error); `stop` begins it at most once. */
function waitForStop(
  daemon: ServedDaemon,
  status: ServiceStatus,
): { stopped: Promise<number>; stop: (reason: string, exitCode: number) => void } {
  let stop: (reason: string, exitCode: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    stop = (reason, exitCode) => {
      if (stopping) return;
      stopping = true;
      void status.stopping(reason);
      for (const signal of STOP_SIGNALS) {
        process.removeAllListeners(signal);
        process.once(signal, () => {
          daemon.root.logger.warn({ signal }, `second ${signal} during shutdown: exiting now`);
          process.exit(1);
        });
      }
      const exit = (code: number): void => {
        // Everything is closed; should a stray handle still hold the loop, exit regardless.
        setTimeout(() => {
          daemon.root.logger.warn({ afterMs: EXIT_GRACE_MS }, 'still running after the stop: exiting');
          process.exit(code);
        }, EXIT_GRACE_MS).unref();
        resolve(code);
      };
      daemon.stop(reason).then(
        () => exit(exitCode),
        () => exit(1),
      );
    };
    process.once('uncaughtException', (err) => {
      daemon.root.logger.fatal({ err }, 'uncaught exception');
      stop('uncaught exception', 1);
    });
    process.once('unhandledRejection', (err) => {
      daemon.root.logger.fatal({ err }, 'unhandled promise rejection');
      stop('unhandled promise rejection', 1);
    });
  });
  return { stopped, stop };
}

function parseArgs(args: string[]): { ok: true; file?: string } | { ok: false; error: string } {
  if (args.length === 0) return { ok: true };
  const [flag, file, ...rest] = args;
  if ((flag === '--config' || flag === '-c') && file && rest.length === 0) return { ok: true, file };
  return { ok: false, error: `unexpected arguments: ${args.join(' ')}` };
}
