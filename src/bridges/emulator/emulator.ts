/**
 * The whole emulated bridge, composed: one bridge model, the endpoint that applies faults,
 * both protocol servers (Voyant 2035 on one port, Voyant 2313 on a request and a notification
 * port), the traffic generator and the HTTP control interface. Started by
 * `tsp-adaptor emulator` as its own process, and in-process by tests and the benchmark, where
 * every port is 0 (ephemeral) and `start()` says which ports were bound.
 */
import { BridgeModel, type BridgeModelOptions } from './model.js';
import { BridgeEndpoint, type ProtocolServer } from './endpoint.js';
import { systemClock, type Clock } from './clock.js';
import { seededRandom } from './random.js';
import { TrafficGenerator } from './traffic.js';
import { ControlServer } from './control.js';
import { startVoyant2035Server } from './server-2035.js';
import { startVoyant2313Server } from './server-2313.js';

/** The ports `tsp-adaptor emulator` listens on unless told otherwise. */
export const DEFAULT_EMULATOR_PORTS: Readonly<EmulatorPorts> = Object.freeze({
  control: 7300,
  voyant2035: 7035,
  voyant2313Request: 7313,
  voyant2313Notify: 7314,
});

export interface EmulatorPorts {
  control: number;
  voyant2035: number;
  voyant2313Request: number;
  voyant2313Notify: number;
}

export interface EmulatorOptions {
  /** Interface for every listener; 127.0.0.1 by default. */
  host?: string;
  /** Each 0 (the default here) binds an ephemeral port. */
  ports?: Partial<EmulatorPorts>;
  username?: string;
  password?: string;
  heartbeatIntervalMs?: number;
  /** Chassis, call-in numbers, key attempts, ring time, sub-conferences. */
  bridge?: Omit<BridgeModelOptions, 'clock' | 'random'>;
  /** Seeds dial-out odds. */
  seed?: number;
  clock?: Clock;
}

type State =
  | { kind: 'idle' }
  | { kind: 'running'; ports: EmulatorPorts; servers: ProtocolServer[]; control: ControlServer }
  | { kind: 'closed' };

export class Emulator {
  readonly model: BridgeModel;
  readonly endpoint: BridgeEndpoint;
  readonly traffic: TrafficGenerator;
  readonly #options: EmulatorOptions;
  #state: State = { kind: 'idle' };

  constructor(options: EmulatorOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.#options = options;
    this.model = new BridgeModel({ ...options.bridge, clock, random: seededRandom(options.seed ?? 1) });
    this.endpoint = new BridgeEndpoint(this.model, {
      clock,
      ...(options.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.username !== undefined && { username: options.username }),
      ...(options.password !== undefined && { password: options.password }),
    });
    this.traffic = new TrafficGenerator(this.model, clock);
  }

  /** Binds every listener and starts heartbeats; resolves with the bound ports. */
  async start(): Promise<EmulatorPorts> {
    if (this.#state.kind !== 'idle') throw new Error(`emulator is ${this.#state.kind}`);
    const host = this.#options.host ?? '127.0.0.1';
    const wanted = this.#options.ports ?? {};
    const servers: ProtocolServer[] = [];
    let control: ControlServer | undefined;
    try {
      servers.push(await startVoyant2035Server(this.endpoint, { host, port: wanted.voyant2035 ?? 0 }));
      servers.push(
        await startVoyant2313Server(this.endpoint, {
          host,
          requestPort: wanted.voyant2313Request ?? 0,
          notifyPort: wanted.voyant2313Notify ?? 0,
        }),
      );
      control = await ControlServer.start(
        { model: this.model, endpoint: this.endpoint, traffic: this.traffic },
        { host, port: wanted.control ?? 0 },
      );
    } catch (err) {
      await Promise.all([...servers.map((s) => s.close()), control?.close()]);
      throw err;
    }
    const bound = Object.assign({}, ...servers.map((s) => s.ports)) as Record<string, number>;
    const ports: EmulatorPorts = {
      control: control.port,
      voyant2035: requirePort(bound, 'voyant2035'),
      voyant2313Request: requirePort(bound, 'voyant2313Request'),
      voyant2313Notify: requirePort(bound, 'voyant2313Notify'),
    };
    this.#state = { kind: 'running', ports, servers, control };
    this.endpoint.start();
    return { ...ports };
  }

  get ports(): EmulatorPorts | undefined {
    return this.#state.kind === 'running' ? { ...this.#state.ports } : undefined;
  }

  /** Stops traffic and heartbeats, closes every listener and connection. Idempotent. */
  async close(): Promise<void> {
    const state = this.#state;
    this.#state = { kind: 'closed' };
    this.traffic.close();
    this.endpoint.close();
    this.model.close();
    if (state.kind !== 'running') return;
    // The protocol servers destroy their sockets on drop; closing alone would wait for peers.
    this.endpoint.dropConnections();
    await Promise.all([...state.servers.map((s) => s.close()), state.control.close()]);
  }
}

function requirePort(bound: Record<string, number>, name: string): number {
  const port = bound[name];
  if (port === undefined) throw new Error(`protocol server did not report its ${name} port`);
  return port;
}
