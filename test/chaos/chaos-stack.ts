/**
 * What the soak runs against: the emulator in this process (it must outlive the daemon), the
 * daemon as a `serve` child process on SQLite (so it can be SIGKILLed and restarted), reaching
 * the emulator over TCP through the voyant2313 driver, and the WebEx simulator. Every command
 * the bridge carried out is recorded: the ground truth for "carried out once".
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BridgeCommand } from '../../src/bridges/driver.js';
import { Emulator } from '../../src/bridges/emulator/emulator.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { testKeyPair } from '../shell/support.js';
import { ServeProcess } from '../e2e/serve-process.js';
import { freePort } from '../ha/redis-server.js';
import { EmulatorClient } from '../e2e/support.js';

const LOGIN = { username: 'tsp', password: 'soak-test' };
/** Attempts of one W2A transaction while the daemon is down or busy (the simulator's retries). */
const SEND_RETRIES = 120;
const START_ATTEMPTS = 4;

export interface ExitRecord {
  code: number | null;
  signal: NodeJS.Signals | null;
  deliberate: boolean;
}

export class ChaosStack {
  readonly emulator: Emulator;
  readonly control: EmulatorClient;
  readonly sim: WebexSim;
  /** Bridge commands carried out, in order (snapshots left out). */
  readonly executed: BridgeCommand[] = [];
  readonly exits: ExitRecord[] = [];
  /** Starts given up on as not ready in time and tried again. */
  slowStarts = 0;
  readonly dataDir: string;
  readonly #dir: string;
  readonly #configFile: string;
  #daemon: ServeProcess | undefined;
  readonly #daemons: ServeProcess[] = [];

  private constructor(dir: string, emulator: Emulator, control: EmulatorClient, sim: WebexSim, configFile: string) {
    this.#dir = dir;
    this.dataDir = path.join(dir, 'var');
    this.emulator = emulator;
    this.control = control;
    this.sim = sim;
    this.#configFile = configFile;
  }

  static async start(): Promise<ChaosStack> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-soak-'));
    const emulator = new Emulator({ ...LOGIN, heartbeatIntervalMs: 200 });
    const ports = await emulator.start();
    const keyPair = await testKeyPair();
    await mkdir(path.join(dir, 'var', 'tls'), { recursive: true });
    await writeFile(path.join(dir, 'var', 'tls', 'webex-cert.pem'), keyPair.cert);
    await writeFile(path.join(dir, 'var', 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
    const webexPort = await freePort();
    const configFile = path.join(dir, 'soak.yaml');
    await writeFile(configFile, JSON.stringify({
      webex: { port: webexPort },
      store: { kind: 'sqlite', dataDir: path.join(dir, 'var') },
      emulator: { enabled: false },
      bridges: [{
        id: 'bridge-a', driver: 'voyant2313', host: '127.0.0.1', port: ports.voyant2313Request, notifyPort: ports.voyant2313Notify,
        ...LOGIN, heartbeatIntervalMs: 200, reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500,
      }],
      outbox: { initialDelayMs: 50, maxDelayMs: 500 },
      conference: { speakingHoldOffMs: 0 },
      // Probe conferences would show up among the soak's own on the bridge.
      deepCheck: { enabled: false },
      // Info: the ready line is how a start is recognised.
      log: { level: 'info' },
    }));
    const sim = new WebexSim({ adaptorUrl: `https://127.0.0.1:${webexPort}/tsp`, adaptorCa: keyPair.cert, keyPair, answerRetries: SEND_RETRIES });
    await sim.start();
    const stack = new ChaosStack(dir, emulator, new EmulatorClient(`http://127.0.0.1:${ports.control}`), sim, configFile);
    const execute = emulator.endpoint.execute.bind(emulator.endpoint);
    emulator.endpoint.execute = async (command) => {
      const reply = await execute(command);
      if (command.op !== 'snapshot') stack.executed.push(command);
      return reply;
    };
    await stack.startDaemon();
    return stack;
  }

  get sendRetries(): number {
    return SEND_RETRIES;
  }

  /**
   * Starts `serve`; a start that is not ready in time (a loaded machine: recovery of hundreds of
   * callers behind a TypeScript compile) is killed and tried again, and counted.
   */
  async startDaemon(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const daemon = new ServeProcess();
      this.#daemon = daemon;
      this.#daemons.push(daemon);
      try {
        await daemon.start(this.#configFile);
        return;
      } catch (err) {
        await daemon.stop('SIGKILL');
        if (attempt >= START_ATTEMPTS) throw err;
        this.slowStarts++;
      }
    }
  }

  /** SIGKILL now and start again; an exit before the kill is recorded as a crash. */
  async killAndRestart(): Promise<void> {
    const exit = await this.#daemon!.stop('SIGKILL');
    this.exits.push({ ...exit, deliberate: exit.signal === 'SIGKILL' });
    await this.startDaemon();
  }

  /** SIGTERM: the daemon drains its outbox to the simulator and exits. */
  async stopDaemon(): Promise<ExitRecord> {
    const exit = await this.#daemon!.stop('SIGTERM');
    const record = { ...exit, deliberate: exit.code === 0 };
    this.exits.push(record);
    this.#daemon = undefined;
    return record;
  }

  /** Log lines of every daemon started at error level or above (pino: 50 error, 60 fatal). */
  get errorLines(): Record<string, unknown>[] {
    return this.#daemons.flatMap((d) => d.lines).filter((l) => typeof l.level === 'number' && l.level >= 50);
  }

  async close(): Promise<void> {
    if (this.#daemon) await this.#daemon.stop('SIGKILL');
    this.emulator.traffic.stop();
    await this.sim.close();
    await this.emulator.close();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
