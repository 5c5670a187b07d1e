/**
 * /metrics on the admin listener of a real daemon after a real meeting (emulator over TCP,
 * WebEx simulator): Prometheus' own linter accepts the output, and the series operators alert
 * on are there with the values the meeting implies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../../src/common/typed-emitter.js';
import type { EngineEvents } from '../../src/adaptor/conference/observation.js';
import { register as globalRegistry } from 'prom-client';
import { createConference, dialInAndName, sendAndAnswer, startStack, w2a, type Stack } from '../e2e/support.js';
import { promtoolCheck, sample } from './metrics-support.js';


describe('metrics endpoint', () => {
  let stack: Stack;
  let text: string;
  let contentType: string | null;

  before(async () => {
    stack = await startStack();
    const { sim } = stack;
    await createConference(sim, 'conf-metrics', '5550001');
    const { extCallId } = await dialInAndName(stack, 'conf-metrics', '5550001');
    await sendAndAnswer(sim, w2a(sim).mute('conf-metrics', extCallId, true), 'A2W_RspMuteUser');
    await stack.daemon.engine.settled();
    // The heartbeat age is exported from the first heartbeat on.
    const engine = stack.daemon.engine;
    if (engine.snapshot().bridges.some((b) => b.lastHeartbeatAt === 0)) await nextEvent<EngineEvents, 'bridge'>(engine, 'bridge', (b) => b.lastHeartbeatAt > 0);
    const res = await fetch(`${stack.daemon.adminUrl}/metrics`);
    assert.equal(res.status, 200);
    contentType = res.headers.get('content-type');
    text = await res.text();
  });
  after(() => stack?.close());

  test('promtool check metrics accepts the output', async () => {
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
    const { code, output } = await promtoolCheck(text);
    assert.equal(code, 0, output);
  });

  test('conferences, callers and W2A commands are counted by state, type and Result', () => {
    assert.equal(sample(text, 'tsp_conferences{state="running"'), 1);
    assert.equal(sample(text, 'tsp_callers{state="joined_muted"'), 1);
    assert.equal(sample(text, 'tsp_w2a_commands_total{type="W2A_CreateConference",result="0"'), 1);
    assert.equal(sample(text, 'tsp_w2a_commands_total{type="W2A_MuteUser",result="0"'), 1);
    assert.equal(sample(text, 'tsp_transid_repeats_total'), 0);
  });

  test('A2W deliveries, outbox depth and latencies are exported', () => {
    assert.equal(sample(text, 'tsp_a2w_deliveries_total{type="A2W_RspMuteUser",outcome="delivered"'), 1);
    assert.equal(sample(text, 'tsp_outbox_messages'), 0);
    assert.equal(sample(text, 'tsp_dead_letters_total'), 0);
    assert.ok(text.includes('tsp_command_duration_seconds_bucket{le="+Inf",'));
    assert.match(text, /tsp_command_duration_seconds_count\{[^}]*type="W2A_MuteUser",stage="delivered"\} 1/);
    assert.match(text, /tsp_bridge_command_duration_seconds_count\{[^}]*bridge="emulator",op="mute",outcome="done"\} 1/);
  });

  test('bridge link, ports and heartbeat age are exported per bridge', () => {
    assert.equal(sample(text, 'tsp_bridge_up{bridge="emulator"'), 1);
    assert.equal(sample(text, 'tsp_bridge_link_state{bridge="emulator",state="up"'), 1);
    assert.equal(sample(text, 'tsp_bridge_ports{bridge="emulator",state="in_use"'), 1);
    assert.ok(sample(text, 'tsp_bridge_port_headroom{bridge="emulator"')! > 0);
    assert.ok(sample(text, 'tsp_bridge_heartbeat_age_seconds{bridge="emulator"')! >= 0);
    assert.equal(sample(text, 'tsp_ready'), 1);
  });

  test('process metrics are prefixed, and the global default registry is left alone', async () => {
    assert.ok(sample(text, 'tsp_process_cpu_seconds_total') !== undefined);
    assert.equal((await globalRegistry.metrics()).includes('tsp_'), false);
  });
});
