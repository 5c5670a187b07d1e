import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { TimelineStep } from '../../src/adaptor/conference/observation.js';
import { EngineCounters } from '../../src/adaptor/counters.js';
import { MAX_COMMANDS_TRACKED, registerEngineMetrics } from '../../src/adaptor/metrics/engine-metrics.js';

/** The engine-metrics step listener fed by hand, and the command latency count per stage. */
function harness() {
  const registry = new Registry();
  let listener: ((step: TimelineStep) => void) | undefined;
  const stop = registerEngineMetrics(registry, {
    counters: new EngineCounters(),
    outboxDepth: () => ({ messages: 0, oldestAgeMs: 0 }),
    snapshot: () => ({ at: 0, bridges: [], conferences: [] }),
    drivers: [],
    ready: () => true,
    now: () => 0,
    onStep: (l) => {
      listener = l;
      return () => { listener = undefined; };
    },
  });
  const w2a = (msgId: string, msgType: 'W2A_MuteUser' | 'W2A_KeepAliveConference'): void =>
    listener!({ kind: 'w2a', at: 0, transId: `t-${msgId}`, msgId, msgType, extConfID: 'c' });
  const delivered = (msgId: string): void =>
    listener!({ kind: 'a2w', at: 5, phase: 'delivered', transId: `a-${msgId}`, msgId, msgType: 'A2W_RspMuteUser', extConfID: 'c' });
  const timed = async (): Promise<number> => {
    const text = await registry.getSingleMetricAsString('tsp_command_duration_seconds');
    return Number(/^tsp_command_duration_seconds_count\{[^}]*stage="delivered"[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  return { w2a, delivered, timed, stop };
}

test('keep-alives, which have no response, do not push a request waiting for its response out of the latency tracking', async () => {
  const m = harness();
  m.w2a('mute-1', 'W2A_MuteUser');
  for (let i = 0; i < MAX_COMMANDS_TRACKED + 10; i++) m.w2a(`ka-${i}`, 'W2A_KeepAliveConference');
  m.delivered('mute-1');
  assert.equal(await m.timed(), 1);
  m.stop();
});

test('past the bound the oldest requests are forgotten, the newest still timed', async () => {
  const m = harness();
  for (let i = 0; i <= MAX_COMMANDS_TRACKED; i++) m.w2a(`mute-${i}`, 'W2A_MuteUser');
  m.delivered('mute-0');
  assert.equal(await m.timed(), 0);
  m.delivered(`mute-${MAX_COMMANDS_TRACKED}`);
  assert.equal(await m.timed(), 1);
  m.stop();
});
