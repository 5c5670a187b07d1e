import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeModel, type BridgeModelOptions } from '../../src/bridges/emulator/model.js';
import { FakeClock } from '../../src/bridges/emulator/clock.js';
import { TrafficGenerator, type TrafficOptions } from '../../src/bridges/emulator/traffic.js';
import type { BridgeEvent } from '../../src/bridges/driver.js';

const QUIET: TrafficOptions = {
  confKeys: [],
  targetCallers: 0,
  arrivalsPerSecond: 0,
  departuresPerSecond: 0,
  keypadMutesPerSecond: 0,
  talkBurstsPerSecond: 0,
  talkMs: { min: 200, max: 2_000 },
  seed: 42,
};

describe('emulator traffic generator', () => {
  let clock: FakeClock;
  let model: BridgeModel;
  let traffic: TrafficGenerator;
  let events: BridgeEvent[];

  function setUp(options: BridgeModelOptions = {}, conferences = 20): string[] {
    clock = new FakeClock();
    model = new BridgeModel({ clock, ...options });
    traffic = new TrafficGenerator(model, clock);
    events = [];
    model.on('event', (e) => events.push(e.event));
    return Array.from({ length: conferences }, (_, i) => {
      const confKey = String(700_000 + i);
      model.execute({ op: 'createConference', options: { confKey, entryTone: 'beep', silentJoin: false, muteOnEntry: false } });
      return confKey;
    });
  }

  beforeEach(() => setUp());
  afterEach(() => {
    traffic.close();
    model.close();
  });

  /** Advances in ticks until `done` or `limitMs` of emulated time has passed. */
  function runUntil(done: () => boolean, limitMs: number): void {
    for (let t = 0; t < limitMs && !done(); t += 100) clock.advance(100);
  }

  it('reaches 350 simultaneous callers across the conferences and holds there', () => {
    const confKeys = setUp();
    const startedAt = clock.now();
    traffic.start({ ...QUIET, confKeys, targetCallers: 350, arrivalsPerSecond: 100 });
    runUntil(() => traffic.stats().callers === 350, 10_000);
    assert.equal(traffic.stats().callers, 350);
    assert.equal(clock.now() - startedAt, 3_500, '100 calls a second take 3.5 s');
    clock.advance(5_000);
    const state = model.state();
    assert.equal(state.ports.inUse, 350, 'topped up, never beyond the target');
    assert.ok(state.conferences.filter((c) => c.callers.length > 0).length >= 15, 'spread over many conferences');
    const reports = events.filter((e) => e.type === 'ports').length;
    assert.equal(reports, 35, 'one port-usage report per tick of arrivals');
  });

  it('keeps the target with churn, keypad mutes and talking', () => {
    const confKeys = setUp();
    traffic.start({
      ...QUIET, confKeys, targetCallers: 100, arrivalsPerSecond: 200, departuresPerSecond: 20,
      keypadMutesPerSecond: 10, talkBurstsPerSecond: 30,
    });
    clock.advance(10_000);
    const stats = traffic.stats();
    assert.ok(stats.left >= 150, `callers left (${stats.left})`);
    assert.equal(stats.joined - stats.left, stats.callers);
    assert.ok(stats.callers >= 90 && stats.callers <= 100, `near the target (${stats.callers})`);
    assert.ok(events.some((e) => e.type === 'muteChanged' && e.by === 'keypad'));
    assert.ok(events.some((e) => e.type === 'talking' && e.talking));
    assert.ok(events.some((e) => e.type === 'talking' && !e.talking));
    assert.equal(stats.keypadMutes, 100);
  });

  it('fills a full 1344-port chassis on demand, then counts refusals', () => {
    const confKeys = setUp({}, 56);
    traffic.start({ ...QUIET, confKeys, targetCallers: 1_400, arrivalsPerSecond: 1_000 });
    runUntil(() => traffic.stats().refused > 0, 5_000);
    assert.deepEqual(model.usage(), { total: 1344, inUse: 1344, reserved: 0 });
    assert.equal(traffic.stats().callers, 1344);
  });

  it('repeats exactly for a seed', () => {
    const run = (): string => {
      const confKeys = setUp();
      traffic.start({ ...QUIET, confKeys, targetCallers: 50, arrivalsPerSecond: 50, departuresPerSecond: 5, talkBurstsPerSecond: 5 });
      clock.advance(4_000);
      const result = JSON.stringify(events);
      traffic.close();
      model.close();
      return result;
    };
    assert.equal(run(), run());
  });

  it('counts calls to a key with no conference as refused, without holding ports', () => {
    setUp();
    traffic.start({ ...QUIET, confKeys: ['999999'], targetCallers: 10, arrivalsPerSecond: 10 });
    clock.advance(1_000);
    assert.deepEqual([traffic.stats().refused, model.usage().inUse], [10, 0]);
  });

  it('notices callers that leave by other means, and stops with or without hanging up', () => {
    const confKeys = setUp({}, 1);
    traffic.start({ ...QUIET, confKeys, targetCallers: 10, arrivalsPerSecond: 100 });
    clock.advance(100);
    const bridgeConfId = model.state().conferences[0]!.bridgeConfId;
    model.execute({ op: 'expel', bridgeConfId, port: '1/1' });
    assert.equal(traffic.stats().callers, 9);
    traffic.stop();
    clock.advance(1_000);
    assert.deepEqual([traffic.stats().running, traffic.stats().callers], [false, 9]);
    traffic.stop({ hangUp: true });
    assert.equal(model.usage().inUse, 0);
  });

  it('refuses nonsense options', () => {
    assert.throws(() => traffic.start({ ...QUIET, confKeys: ['1234'], arrivalsPerSecond: -1 }), RangeError);
    assert.throws(() => traffic.start({ ...QUIET }), RangeError);
  });
});
