/**
 * What the soak runs against: the emulator in this process (it must outlive the daemon), the
 * daemon as a `serve` child process on SQLite (so it can be SIGKILLed and restarted), reaching
 * the emulator over TCP through the voyant2313 driver, and the WebEx simulator. Every command
 * the bridge carried out is recorded: the ground truth for "carried out once". The bridge and
 * WebEx ends and the restartable `serve` process are shared with the HA setup (ha-chaos-stack.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BridgeCommand } from '../../src/bridges/driver.js';
import { Emulator, type EmulatorPorts } from '../../src/bridges/emulator/emulator.js';
import { openSqliteStore } from '../../src/adaptor/store/sqlite-store.js';
import type { Store } from '../../src/adaptor/store/store.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import type { KeyPair } from '../../src/adaptor/tls.js';
import { testKeyPair } from '../shell/support.js';
import { ServeProcess } from '../e2e/serve-process.js';
import { freePort } from '../ha/redis-server.js';
import { EmulatorClient, emulatorBridge, writeWebexTls } from '../e2e/support.js';

export const LOGIN = { username: 'tsp', password: 'soak-test' };
/** Attempts of one W2A transaction while the adaptor is down or busy (WebEx's retries). */
export const SEND_RETRIES = 120;
const START_ATTEMPTS = 4;

export interface ExitRecord {
  code: number | null;
  signal: NodeJS.Signals | null;
  deliberate: boolean;
}

/** The bridge (emulator, every command it carries out recorded) and WebEx's TLS identity. */
export interface SoakEnds {
  dir: string;
  emulator: Emulator;
  ports: EmulatorPorts;
  control: EmulatorClient;
  executed: BridgeCommand[];
  keyPair: KeyPair;
}

export async function startEnds(prefix: string): Promise<SoakEnds> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const emulator = new Emulator({ ...LOGIN, heartbeatIntervalMs: 200 });
  const ports = await emulator.start();
  const executed: BridgeCommand[] = [];
  const execute = emulator.endpoint.execute.bind(emulator.endpoint);
  emulator.endpoint.execute = async (command) => {
    const reply = await execute(command);
    if (command.op !== 'snapshot') executed.push(command);
    return reply;
  };
  return { dir, emulator, ports, control: new EmulatorClient(`http://127.0.0.1:${ports.control}`), executed, keyPair: await testKeyPair() };
}

/** The WebEx listener's certificate and key where the default configuration looks for them. */
/** The bridge as every soak configuration names it: fast heartbeats and reconnects. */
export function soakBridge(ports: EmulatorPorts) {
  return emulatorBridge(ports, LOGIN);
}

/**
 * One adaptor instance as a `serve` child process that can be SIGKILLed and started again on the
 * same configuration. A start that is not ready in time (a loaded machine: recovery of hundreds
 * of callers behind a TypeScript compile) is killed and tried again, and counted.
 */
export class RestartableServe {
  readonly #configFile: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #readyLine: string | undefined;
  #current: ServeProcess | undefined;
  readonly #all: ServeProcess[] = [];
  slowStarts = 0;

  /** `readyLine`: the log line that says the instance is ready, when not the single daemon's. */
  constructor(configFile: string, env: NodeJS.ProcessEnv = {}, readyLine?: string) {
    this.#configFile = configFile;
    this.#env = env;
    this.#readyLine = readyLine;
  }

  get running(): boolean {
    return this.#current !== undefined;
  }

  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const serve = new ServeProcess();
      this.#current = serve;
      this.#all.push(serve);
      // `start` resolves on the single daemon's ready line and rejects on an exit or after its
      // own deadline; a cluster member's ready line is waited for beside it.
      const started = serve.start(this.#configFile, this.#env);
      try {
        await (this.#readyLine === undefined ? started : Promise.race([started, serve.waitForLine(this.#readyLine)]));
        return;
      } catch (err) {
        await serve.stop('SIGKILL');
        if (attempt >= START_ATTEMPTS) throw err;
        this.slowStarts++;
      }
    }
  }

  /** Sends `signal` to the running process; the exit is deliberate when it is what `signal` asks. */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<ExitRecord> {
    const exit = await this.#current!.stop(signal);
    this.#current = undefined;
    return { ...exit, deliberate: signal === 'SIGKILL' ? exit.signal === 'SIGKILL' : exit.code === 0 };
  }

  get errorLines(): Record<string, unknown>[] {
    return this.#all.flatMap((d) => d.lines).filter((l) => typeof l.level === 'number' && l.level >= 50);
  }
}

export class ChaosStack {
  readonly emulator: Emulator;
  readonly control: EmulatorClient;
  readonly sim: WebexSim;
  readonly executed: BridgeCommand[];
  readonly exits: ExitRecord[] = [];
  readonly ownFaults: readonly string[] = [];
  readonly #ends: SoakEnds;
  readonly #daemon: RestartableServe;

  private constructor(ends: SoakEnds, sim: WebexSim, daemon: RestartableServe) {
    this.#ends = ends;
    this.emulator = ends.emulator;
    this.control = ends.control;
    this.executed = ends.executed;
    this.sim = sim;
    this.#daemon = daemon;
  }

  static async start(): Promise<ChaosStack> {
    const ends = await startEnds('tsp-soak-');
    const dataDir = path.join(ends.dir, 'var');
    await writeWebexTls(dataDir, ends.keyPair);
    const webexPort = await freePort();
    const configFile = path.join(ends.dir, 'soak.yaml');
    await writeFile(configFile, JSON.stringify({
      webex: { port: webexPort },
      store: { kind: 'sqlite', dataDir },
      emulator: { enabled: false },
      bridges: [soakBridge(ends.ports)],
      outbox: { initialDelayMs: 50, maxDelayMs: 500 },
      conference: { speakingHoldOffMs: 0 },
      // Probe conferences would show up among the soak's own on the bridge.
      deepCheck: { enabled: false },
      // Info: the ready line is how a start is recognised.
      log: { level: 'info' },
    }));
    const sim = new WebexSim({ adaptorUrl: `https://127.0.0.1:${webexPort}/tsp`, adaptorCa: ends.keyPair.cert, keyPair: ends.keyPair, answerRetries: SEND_RETRIES });
    await sim.start();
    const stack = new ChaosStack(ends, sim, new RestartableServe(configFile));
    await stack.#daemon.start();
    return stack;
  }

  get slowStarts(): number {
    return this.#daemon.slowStarts;
  }

  async send(message: W2AMessage): Promise<number | undefined> {
    return (await this.sim.send([message], { retries: SEND_RETRIES })).result;
  }

  inject(fault: string): Promise<void> {
    return Promise.reject(new Error(`the single-instance soak has no fault ${fault}`));
  }

  /** SIGKILL now and start again; an exit before the kill is recorded as a crash. */
  async killAndRestart(): Promise<string> {
    this.exits.push(await this.#daemon.stop('SIGKILL'));
    await this.#daemon.start();
    return 'the daemon';
  }

  /** SIGTERM: the daemon drains its outbox to the simulator and exits. */
  async stop(): Promise<ExitRecord[]> {
    const exit = await this.#daemon.stop('SIGTERM');
    this.exits.push(exit);
    return [exit];
  }

  get errorLines(): Record<string, unknown>[] {
    return this.#daemon.errorLines;
  }

  readonly toleratedErrorLines = 0;

  openStore(): Promise<Store> {
    return openSqliteStore(path.join(this.#ends.dir, 'var'));
  }

  async close(): Promise<void> {
    if (this.#daemon.running) await this.#daemon.stop('SIGKILL');
    this.emulator.traffic.stop();
    await this.sim.close();
    await this.emulator.close();
    await rm(this.#ends.dir, { recursive: true, force: true });
  }
}
