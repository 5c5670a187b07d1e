/**
 * The daemon's Prometheus series about WebEx traffic, conferences and bridges, on one Registry
 * the daemon owns (never prom-client's global default). Names follow Prometheus conventions:
 * `tsp_` prefix, base units (seconds), `_total` on counters. docs/operations.md lists them
 * with when each should wake someone.
 *
 * Almost everything is read at scrape time (collect callbacks) from what the engine and the
 * drivers keep anyway: EngineCounters, the outbox depth, the engine's snapshot, each driver's
 * health(). The few things that must be seen as they happen (latencies, A2W outcomes by type,
 * dial-out outcomes) come from the engine's timeline steps, each a map lookup and an increment.
 */
import { TERMINAL_DIAL_OUT_STATES, type BridgeDriver, type DialOutState, type LinkStatus } from '../../bridges/driver.js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { MESSAGES } from '../../protocol/index.js';
import type { EngineCounters } from '../counters.js';
import type { EngineSnapshot, TimelineStep } from '../conference/observation.js';
import { PROBE_DIAL_OUT_PREFIX } from '../health/deep-check.js';
import { readCounter, splitKeys } from './read-counter.js';

export interface MetricSources {
  counters: EngineCounters;
  outboxDepth(): { messages: number; oldestAgeMs: number };
  snapshot(): EngineSnapshot;
  drivers: readonly Pick<BridgeDriver, 'id' | 'capabilities' | 'status' | 'health'>[];
  ready(): boolean;
  /** ms since epoch. */
  now(): number;
  /** Subscribes to the engine's timeline steps; returns the unsubscribe. */
  onStep(listener: (step: TimelineStep) => void): () => void;
}

const LINK_STATES: readonly LinkStatus['state'][] = ['idle', 'connecting', 'up', 'down', 'stale', 'closed'];
/** From a W2A's receipt to its response: a bridge round trip or two, WebEx's 200 on top. */
const COMMAND_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BRIDGE_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/**
 * Requests waiting for their response to be delivered, by MsgID. One whose response never comes
 * (dead-lettered before a restart) must not grow memory: past this many the oldest are forgotten.
 */
export const MAX_COMMANDS_TRACKED = 10_000;
/**
 * How many of the oldest go at once: deleting the first key of a full Map on every insert cost
 * ~30 us a command (each look-up of the first key walks the deleted entries before it).
 */
const FORGOTTEN_AT_ONCE = 1_000;
const MS_PER_S = 1_000;

/** Registers the series; returns the function that stops the step subscription. */
export function registerEngineMetrics(registry: Registry, s: MetricSources): () => void {
  const { counters } = s;
  const one = <K extends string>(label: K, map: ReadonlyMap<string, number>) =>
    [...map].map(([key, value]) => [{ [label]: key } as Record<K, string>, value] as const);
  const total = (value: () => number) => () => [[{}, value()] as const];

  // --- WebEx traffic ------------------------------------------------------------------------
  readCounter({
    name: 'tsp_w2a_commands_total', help: 'W2A commands carried out, by element and the Result answered (- when the element has no response).',
    labelNames: ['type', 'result'], registry,
    read: () => [...splitKeys(counters.commands)].map(([[type, result], n]) => [{ type, result }, n] as const),
  });
  readCounter({ name: 'tsp_transactions_total', help: 'W2A transactions accepted (Confirmation 0) and acted on.', labelNames: [], registry, read: total(() => counters.transactionsAccepted) });
  readCounter({ name: 'tsp_transid_repeats_total', help: 'Repeated TransIDs: confirmed again with the earlier result, not acted on.', labelNames: [], registry, read: total(() => counters.transIdRepeats) });
  readCounter({ name: 'tsp_commands_recovered_total', help: 'Commands found unfinished at start-up and finished by recovery.', labelNames: [], registry, read: total(() => counters.commandsRecovered) });
  readCounter({ name: 'tsp_unroutable_messages_total', help: 'Messages or bridge events naming a conference or caller the adaptor does not know.', labelNames: ['kind'], registry, read: () => one('kind', counters.unroutable) });
  readCounter({ name: 'tsp_dialout_refusals_total', help: 'Dial-outs refused by the dial-out policy (Result 44), by rule.', labelNames: ['rule'], registry, read: () => one('rule', counters.dialOutRefusals) });

  // --- outbox (A2W) -------------------------------------------------------------------------
  readCounter({ name: 'tsp_a2w_posts_total', help: 'A2W POSTs made, retries included; tsp_a2w_posted_messages_total over it is the messages per POST (batching).', labelNames: [], registry, read: total(() => counters.outboxPosts) });
  readCounter({ name: 'tsp_a2w_posted_messages_total', help: 'A2W messages carried by the POSTs made, retries included.', labelNames: [], registry, read: total(() => counters.outboxPostedMessages) });
  readCounter({ name: 'tsp_outbox_retries_total', help: 'A2W posts that failed and were scheduled again.', labelNames: [], registry, read: total(() => counters.outboxRetries) });
  readCounter({ name: 'tsp_dead_letters_total', help: 'A2W messages given up on (WebEx will never get them); see the store\'s dead letters.', labelNames: [], registry, read: total(() => counters.deadLetters) });
  new Gauge({
    name: 'tsp_outbox_messages', help: 'A2W messages waiting to be delivered.', registers: [registry],
    collect() { this.set(s.outboxDepth().messages); },
  });
  new Gauge({
    name: 'tsp_outbox_oldest_age_seconds', help: 'Age of the oldest A2W message waiting (0 when none waits).', registers: [registry],
    collect() { this.set(s.outboxDepth().oldestAgeMs / MS_PER_S); },
  });
  const deliveries = new Counter({
    name: 'tsp_a2w_deliveries_total', help: 'A2W post attempts by message type and outcome (delivered, retry, dead_letter).',
    labelNames: ['type', 'outcome'], registers: [registry],
  });

  // --- conferences and callers ----------------------------------------------------------------
  new Gauge({
    name: 'tsp_conferences', help: 'Open conferences by state.', labelNames: ['state'], registers: [registry],
    collect() {
      const by = { creating: 0, running: 0, locked: 0 };
      for (const c of s.snapshot().conferences) if (c.status !== 'ended') by[c.status]++;
      for (const [state, n] of Object.entries(by)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'tsp_callers', help: 'Callers in open conferences: joined (muted or not), dialing out (ringing, answered), departed before WebEx named them.',
    labelNames: ['state'], registers: [registry],
    collect() {
      const by = { joined: 0, joined_muted: 0, ringing: 0, answered: 0, departed: 0 };
      for (const c of s.snapshot().conferences) {
        for (const caller of c.callers) {
          if (caller.phase === 'joined') by[caller.muted ? 'joined_muted' : 'joined']++;
          else if (caller.phase === 'dialing') by[caller.state]++;
          else by.departed++;
        }
      }
      for (const [state, n] of Object.entries(by)) this.set({ state }, n);
    },
  });

  // --- bridges ------------------------------------------------------------------------------
  new Gauge({
    name: 'tsp_bridge_ports', help: 'Bridge ports as the bridge last reported them: in_use, reserved (kept back for operators) and free.',
    labelNames: ['bridge', 'state'], registers: [registry],
    collect() {
      this.reset();
      for (const b of s.snapshot().bridges) {
        if (!b.ports) continue;
        const { total, inUse, reserved } = b.ports;
        this.set({ bridge: b.id, state: 'in_use' }, inUse);
        this.set({ bridge: b.id, state: 'reserved' }, reserved);
        this.set({ bridge: b.id, state: 'free' }, Math.max(0, total - inUse - reserved));
      }
    },
  });
  new Gauge({
    name: 'tsp_bridge_port_capacity', help: 'Ports the bridge has in all.', labelNames: ['bridge'], registers: [registry],
    collect() {
      this.reset();
      for (const b of s.snapshot().bridges) if (b.ports) this.set({ bridge: b.id }, b.ports.total);
    },
  });
  new Gauge({
    name: 'tsp_bridge_port_headroom', help: 'Ports a new conference could still get: free ports minus those promised to open conferences (AttendeeCount, ringing dial-outs).',
    labelNames: ['bridge'], registers: [registry],
    collect() {
      this.reset();
      for (const b of s.snapshot().bridges) {
        if (b.ports) this.set({ bridge: b.id }, b.ports.total - b.ports.inUse - b.ports.reserved - b.promisedPorts);
      }
    },
  });
  new Gauge({
    name: 'tsp_bridge_up', help: '1 when the link to the bridge is up, else 0.', labelNames: ['bridge', 'model'], registers: [registry],
    collect() {
      for (const d of s.drivers) this.set({ bridge: d.id, model: d.capabilities.model }, d.status.state === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tsp_bridge_link_state', help: 'The link state of each bridge: 1 for the current state, 0 for the others.', labelNames: ['bridge', 'state'], registers: [registry],
    collect() {
      for (const d of s.drivers) for (const state of LINK_STATES) this.set({ bridge: d.id, state }, d.status.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tsp_bridge_heartbeat_age_seconds', help: 'Time since the last heartbeat or traffic from the bridge (absent before the first).', labelNames: ['bridge'], registers: [registry],
    collect() {
      this.reset();
      const now = s.now();
      for (const d of s.drivers) {
        const at = d.health().lastHeartbeatAt;
        if (at > 0) this.set({ bridge: d.id }, Math.max(0, now - at) / MS_PER_S);
      }
    },
  });
  readCounter({ name: 'tsp_bridge_reconnects_total', help: 'Times the link to the bridge was re-established.', labelNames: ['bridge'], registry, read: () => s.drivers.map((d) => [{ bridge: d.id }, d.health().reconnects] as const) });
  readCounter({ name: 'tsp_bridge_malformed_frames_total', help: 'Lines or frames from the bridge that could not be decoded (skipped).', labelNames: ['bridge'], registry, read: () => s.drivers.map((d) => [{ bridge: d.id }, d.health().malformedFrames] as const) });
  readCounter({ name: 'tsp_reconcile_corrections_total', help: 'Differences between the adaptor and a bridge that reconciliation corrected, by kind.', labelNames: ['kind'], registry, read: () => one('kind', counters.corrections) });
  const dialOuts = new Counter({
    name: 'tsp_dialout_outcomes_total', help: 'Dial-outs that reached a final state on the bridge, by state (the deep check\'s own left out).', labelNames: ['bridge', 'outcome'], registers: [registry],
  });

  new Gauge({ name: 'tsp_ready', help: '1 when the instance is ready for WebEx traffic (/readyz), else 0.', registers: [registry], collect() { this.set(s.ready() ? 1 : 0); } });

  // --- latencies, seen as they happen -------------------------------------------------------
  const commandSeconds = new Histogram({
    name: 'tsp_command_duration_seconds',
    help: 'From a W2A command\'s receipt to its response being stored for WebEx (stage=answered) and delivered to WebEx (stage=delivered).',
    labelNames: ['type', 'stage'], buckets: COMMAND_BUCKETS_S, registers: [registry],
  });
  const bridgeSeconds = new Histogram({
    name: 'tsp_bridge_command_duration_seconds', help: 'Bridge command round trips, by bridge, operation and outcome (done, failed).',
    labelNames: ['bridge', 'op', 'outcome'], buckets: BRIDGE_BUCKETS_S, registers: [registry],
  });
  const received = new Map<string, { type: string; at: number }>();
  return s.onStep((step) => {
    switch (step.kind) {
      case 'w2a':
        // Only a request has a response to time; a keep-alive would only fill the map.
        if (MESSAGES[step.msgType].response === null) return;
        if (received.size >= MAX_COMMANDS_TRACKED) forgetOldest(received, FORGOTTEN_AT_ONCE);
        received.set(step.msgId, { type: step.msgType, at: step.at });
        return;
      case 'bridge-command':
        if (step.phase !== 'sent' && step.tookMs !== undefined) bridgeSeconds.observe({ bridge: step.bridgeId, op: step.op, outcome: step.phase }, step.tookMs / MS_PER_S);
        return;
      case 'bridge-event':
        if (step.eventType === 'dialOut' && step.detail && TERMINAL_DIAL_OUT_STATES.has(step.detail as DialOutState)
          && !step.dialOutId?.startsWith(PROBE_DIAL_OUT_PREFIX)) {
          dialOuts.inc({ bridge: step.bridgeId, outcome: step.detail });
        }
        return;
      case 'a2w': {
        if (step.phase !== 'queued') deliveries.inc({ type: step.msgType, outcome: step.phase === 'dead-letter' ? 'dead_letter' : step.phase });
        const command = received.get(step.msgId);
        if (!command || !step.msgType.startsWith('A2W_Rsp')) return;
        if (step.phase === 'queued') commandSeconds.observe({ type: command.type, stage: 'answered' }, (step.at - command.at) / MS_PER_S);
        else if (step.phase === 'delivered') commandSeconds.observe({ type: command.type, stage: 'delivered' }, (step.at - command.at) / MS_PER_S);
        if (step.phase !== 'queued' && step.phase !== 'retry') received.delete(step.msgId);
      }
    }
  });
}

function forgetOldest(map: Map<string, unknown>, count: number): void {
  let left = count;
  for (const key of map.keys()) {
    map.delete(key);
    if (--left === 0) return;
  }
}
