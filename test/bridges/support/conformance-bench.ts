/**
 * One driver under test, connected through `createDriver` to a real in-process emulator on
 * ephemeral ports, with everything a conformance scenario needs: the driver's events in the
 * order it delivered them, the bridge's true event stream beside them, waits that name what
 * they waited for when they fail, and shortcuts for the caller actions only the bridge can do.
 */
import pino from 'pino';
import type { BridgeDriver, BridgeEvent, BridgeSnapshot, ConferenceOptions, DriverConfig, PortId } from '../../../src/bridges/driver.js';
import { Emulator, type EmulatorPorts } from '../../../src/bridges/emulator/emulator.js';
import { DEFAULT_PASSWORD, DEFAULT_USERNAME, type SequencedEvent } from '../../../src/bridges/emulator/endpoint.js';
import { createDriver } from '../../../src/bridges/registry.js';

/** How a driver reaches the emulator: its registry name and which emulator ports it uses. */
export interface DriverUnderTest {
  driver: string;
  ports(emulator: EmulatorPorts): Pick<DriverConfig, 'port' | 'notifyPort'>;
}

export const HEARTBEAT_INTERVAL_MS = 25;
/** Generous for two loaded cores; the silent-heartbeat scenario still ends in a fraction of a second. */
const MISSED_HEARTBEATS = 6;
const COMMAND_TIMEOUT_MS = 2_000;
const RING_MS = 20;
/** A wait that takes this long has failed; the message says what was awaited. */
const WAIT_LIMIT_MS = 5_000;

interface Waiter {
  what: string;
  from: number;
  predicate: (event: BridgeEvent) => boolean;
  resolve: (event: BridgeEvent) => void;
}

export class ConformanceBench {
  readonly emulator: Emulator;
  readonly driver: BridgeDriver;
  /** Every event the driver delivered, in delivery order. */
  readonly events: BridgeEvent[] = [];
  /** Every event the bridge model emitted, in its own order. */
  readonly truth: SequencedEvent[] = [];
  readonly resyncs: BridgeSnapshot[] = [];
  #waiters = new Set<Waiter>();

  private constructor(emulator: Emulator, driver: BridgeDriver) {
    this.emulator = emulator;
    this.driver = driver;
    emulator.model.on('event', (e) => this.truth.push(e));
    driver.on('resync', (snapshot) => this.resyncs.push(snapshot));
    driver.on('event', (event) => {
      this.events.push(event);
      for (const waiter of [...this.#waiters]) {
        if (this.events.length > waiter.from && waiter.predicate(event)) {
          this.#waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    });
  }

  static async start(under: DriverUnderTest): Promise<ConformanceBench> {
    const emulator = new Emulator({ heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, bridge: { ringMs: RING_MS } });
    const ports = await emulator.start();
    const driver = createDriver(
      {
        id: `conformance-${under.driver}`,
        driver: under.driver,
        host: '127.0.0.1',
        ...under.ports(ports),
        username: DEFAULT_USERNAME,
        password: DEFAULT_PASSWORD,
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        missedHeartbeats: MISSED_HEARTBEATS,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        reconnectInitialDelayMs: 10,
        reconnectMaxDelayMs: 50,
      },
      { logger: pino({ level: 'silent' }) },
    );
    const bench = new ConformanceBench(emulator, driver);
    await driver.connect();
    return bench;
  }

  async close(): Promise<void> {
    await this.driver.close();
    await this.emulator.close();
  }

  /** Where "from now on" starts, for `waitFor`. */
  mark(): number {
    return this.events.length;
  }

  /** The first delivered event at or after `from` that matches; fails after WAIT_LIMIT_MS naming `what`. */
  waitFor(what: string, predicate: (event: BridgeEvent) => boolean, from = 0): Promise<BridgeEvent> {
    const seen = this.events.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no event: ${what}; delivered: ${JSON.stringify(this.events.slice(from))}`));
      }, WAIT_LIMIT_MS);
      const waiter: Waiter = {
        what,
        from,
        predicate,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  async createConference(confKey: string, options: Partial<ConferenceOptions> = {}): Promise<string> {
    const { bridgeConfId } = await this.driver.execute({
      op: 'createConference',
      options: { confKey, entryTone: 'beep', silentJoin: false, muteOnEntry: false, ...options },
    });
    return bridgeConfId;
  }

  /** A caller dials in, keys `confKey#`, and the driver reports the join. */
  async callIn(confKey: string, callerId = '4085550001'): Promise<{ port: PortId; joined: BridgeEvent }> {
    const from = this.mark();
    const [dialledNumber = ''] = this.emulator.model.callInNumbers;
    const result = this.emulator.model.callIn({ dialledNumber, digits: `${confKey}#`, callerId });
    const port = result.port;
    const joined = await this.waitFor(`caller on ${port} joined`, (e) => e.type === 'callerJoined' && e.port === port, from);
    return { port, joined };
  }

  /** The bridge's own snapshot, without the clock reading (which differs by construction). */
  trueSnapshot(): Omit<BridgeSnapshot, 'takenAt'> {
    const { takenAt: _, ...rest } = this.emulator.model.snapshot();
    return rest;
  }

  /** Resolves with the next resync the driver reports. */
  nextResync(predicate: (s: BridgeSnapshot) => boolean = () => true): Promise<BridgeSnapshot> {
    const from = this.resyncs.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no resync')), WAIT_LIMIT_MS);
      const check = (snapshot: BridgeSnapshot): void => {
        if (this.resyncs.length <= from || !predicate(snapshot)) return;
        clearTimeout(timer);
        this.driver.off('resync', check);
        resolve(snapshot);
      };
      this.driver.on('resync', check);
    });
  }
}
