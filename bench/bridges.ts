/**
 * Bridge event throughput: starts the emulator in-process, connects every standard driver to
 * it at once (through the registry, as the daemon does), drives generated telephone traffic
 * on the real clock, and prints the bridge events per second each driver delivered and
 * whether it kept up (every event the bridge emitted was delivered, once).
 *
 * Three phases:
 *   steady  350 simultaneous callers over many conferences with churn, keypad mutes and
 *           talking bursts, as the issue's target load, for STEADY_MS;
 *   burst   the whole 1344-port chassis filled as fast as the generator can, with heavy
 *           talking, to see how fast each driver drains a backlog;
 *   flood   a full chassis pressing *6 in rounds as fast as the model goes: the drivers'
 *           ceiling rather than the generator's.
 * Everything shares one Node process (emulator and drivers), so the figures are for the
 * whole path: model -> endpoint -> protocol server -> TCP -> codec -> driver.
 *
 * Run: npm run bench:bridges  (not a test: it takes about half a minute and prints figures)
 */
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Emulator } from '../src/bridges/emulator/emulator.js';
import { createDriver } from '../src/bridges/registry.js';
import type { BridgeDriver, DriverConfig } from '../src/bridges/driver.js';
import type { TrafficOptions } from '../src/bridges/emulator/traffic.js';

const DRIVERS = ['voyant2035', 'voyant2313'] as const;
const CONFERENCES = 56;
const STEADY_CALLERS = 350;
const STEADY_MS = 15_000;
const BURST_MS = 5_000;
/** Rounds of *6 by every caller of a full chassis in the flood phase. */
const FLOOD_ROUNDS = 50;
/** How long a driver may take to deliver the last events after traffic stops. */
const DRAIN_LIMIT_MS = 10_000;
const POLL_MS = 20;
const HEARTBEAT_MS = 1_000;

interface Counted {
  name: string;
  driver: BridgeDriver;
  events: number;
  resyncs: number;
}

async function main(): Promise<void> {
  const emulator = new Emulator({ ports: {}, heartbeatIntervalMs: HEARTBEAT_MS });
  const ports = await emulator.start();
  const logger = pino({ level: 'silent' });
  const counted: Counted[] = DRIVERS.map((name) => {
    const config: DriverConfig = {
      id: `bench-${name}`,
      driver: name,
      host: '127.0.0.1',
      port: name === 'voyant2035' ? ports.voyant2035 : ports.voyant2313Request,
      notifyPort: ports.voyant2313Notify,
      username: 'tsp',
      password: 'tsp',
      heartbeatIntervalMs: HEARTBEAT_MS,
      missedHeartbeats: 3,
      commandTimeoutMs: 10_000,
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 2_000,
    };
    const entry: Counted = { name, driver: createDriver(config, { logger }), events: 0, resyncs: 0 };
    entry.driver.on('event', () => entry.events++);
    entry.driver.on('resync', () => entry.resyncs++);
    return entry;
  });

  try {
    await Promise.all(counted.map((c) => c.driver.connect()));
    // Conferences are created through the drivers, alternately, as the engine would.
    const confKeys: string[] = [];
    for (let i = 0; i < CONFERENCES; i++) {
      const confKey = String(810_000 + i);
      const { driver } = counted[i % counted.length]!;
      await driver.execute({ op: 'createConference', options: { confKey, entryTone: 'beep', silentJoin: false, muteOnEntry: false } });
      confKeys.push(confKey);
    }
    await drained(emulator, counted);
    process.stdout.write(`emulator up; ${counted.map((c) => c.name).join(' and ')} connected; ${CONFERENCES} conferences\n\n`);

    await measure('steady', emulator, counted, generated(emulator, STEADY_MS, {
      confKeys, targetCallers: STEADY_CALLERS, arrivalsPerSecond: 200, departuresPerSecond: 10,
      keypadMutesPerSecond: 20, talkBurstsPerSecond: 150, talkMs: { min: 300, max: 2_000 }, seed: 2035,
    }));
    await measure('burst', emulator, counted, generated(emulator, BURST_MS, {
      confKeys, targetCallers: 1_344, arrivalsPerSecond: 20_000, departuresPerSecond: 0,
      keypadMutesPerSecond: 2_000, talkBurstsPerSecond: 12_000, talkMs: { min: 50, max: 400 }, seed: 2313,
    }));
    await measure('flood', emulator, counted, flood(emulator, confKeys));
  } finally {
    await Promise.all(counted.map((c) => c.driver.close()));
    await emulator.close();
  }
}

/** Produces bridge events; says what it did, for the report line. */
type Load = () => Promise<string>;

/** Generated telephone traffic for `durationMs`, then every generated caller hangs up. */
function generated(emulator: Emulator, durationMs: number, traffic: TrafficOptions): Load {
  return async () => {
    emulator.traffic.start(traffic);
    await sleep(durationMs);
    const peak = emulator.traffic.stats();
    emulator.traffic.stop({ hangUp: true });
    return `${peak.callers} simultaneous callers (target ${traffic.targetCallers}), ${peak.joined} joined`;
  };
}

/**
 * The drivers' ceiling rather than the generator's: a full chassis whose every caller presses
 * *6 in rounds as fast as the model goes, yielding between rounds so the servers can write.
 */
function flood(emulator: Emulator, confKeys: string[]): Load {
  return async () => {
    const { model } = emulator;
    const [dialledNumber = ''] = model.callInNumbers;
    const ports: string[] = [];
    model.batch(() => {
      for (let i = 0; model.usage().inUse < model.usage().total - model.usage().reserved; i++) {
        ports.push(model.callIn({ dialledNumber, digits: `${confKeys[i % confKeys.length]}#` }).port);
      }
    });
    for (let round = 0; round < FLOOD_ROUNDS; round++) {
      model.batch(() => ports.forEach((port) => model.sendDtmf(port, '*6')));
      await new Promise((resolve) => setImmediate(resolve));
    }
    model.batch(() => ports.forEach((port) => model.hangUp(port)));
    return `${ports.length} callers each pressing *6 ${FLOOD_ROUNDS} times`;
  };
}

async function measure(name: string, emulator: Emulator, counted: Counted[], load: Load): Promise<void> {
  const emittedAtStart = emulator.endpoint.counters.eventsEmitted;
  const receivedAtStart = counted.map((c) => c.events);
  const resyncsAtStart = counted.map((c) => c.resyncs);
  const startedAt = performance.now();
  const what = await load();
  const emittedMs = performance.now() - startedAt;
  const finishedAt = await drained(emulator, counted);
  const emitted = emulator.endpoint.counters.eventsEmitted - emittedAtStart;

  process.stdout.write(
    `${name}: ${what}; ${emitted} bridge events in ${(emittedMs / 1_000).toFixed(1)} s = ${rate(emitted, emittedMs)} events/s emitted\n`,
  );
  counted.forEach((c, i) => {
    const delivered = c.events - receivedAtStart[i]!;
    const doneAt = finishedAt.get(c.name);
    const tookMs = (doneAt ?? performance.now()) - startedAt;
    const keptUp = delivered === emitted && c.resyncs === resyncsAtStart[i];
    const last = doneAt === undefined ? 'NOT delivered' : `${((tookMs - emittedMs) / 1_000).toFixed(2)} s after the load stopped`;
    process.stdout.write(
      `  ${c.name.padEnd(11)} delivered ${delivered} = ${rate(delivered, tookMs)} events/s; last event ${last}; ` +
        `kept up: ${keptUp ? 'yes' : `NO (${delivered}/${emitted}, ${c.resyncs - resyncsAtStart[i]!} reconnects)`}\n`,
    );
  });
  process.stdout.write('\n');
}

/**
 * Waits (bounded) until every driver has delivered every event the bridge emitted, and says
 * when each got there. The drivers connect before the first event, so a driver that kept up
 * has delivered exactly as many events as the endpoint emitted.
 */
async function drained(emulator: Emulator, counted: Counted[]): Promise<Map<string, number>> {
  const done = new Map<string, number>();
  const deadline = performance.now() + DRAIN_LIMIT_MS;
  while (done.size < counted.length && performance.now() < deadline) {
    const emitted = emulator.endpoint.counters.eventsEmitted;
    for (const c of counted) if (!done.has(c.name) && c.events >= emitted) done.set(c.name, performance.now());
    if (done.size < counted.length) await sleep(POLL_MS);
  }
  return done;
}

function rate(count: number, ms: number): string {
  return Math.round((count * 1_000) / Math.max(ms, 1)).toLocaleString('en-US');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:bridges failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
