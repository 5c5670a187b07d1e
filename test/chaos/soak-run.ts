/**
 * The chaos soak: steady load on a real daemon (the emulator's traffic generator dialling into
 * WebEx-created conferences, and WebEx commands: host mutes, dial-outs, lock and unlock,
 * conferences ended and created) while faults are injected at random (bridge connection drops,
 * silent heartbeats, delayed, reordered and duplicated bridge events, WebEx endpoint errors,
 * refusals and an unreachable endpoint, the daemon SIGKILLed and restarted). The same load and
 * checks run against one daemon on SQLite (chaos-stack.ts) or, with `ha`, two cluster members on
 * Redis (ha-chaos-stack.ts), where the owner is killed and Redis itself is restarted.
 *
 * Afterwards, once things are quiet and the daemon has drained and stopped, it checks that
 * nothing crashed outside the kills, every confirmed command was answered exactly once and
 * carried out at most once on the bridge (creates and ends exactly once), every notification
 * was delivered (nothing left in the outbox, nothing dead-lettered), and the engine's stored
 * conferences and callers equal the emulator's true state.
 */
import type { BridgeCommand } from '../../src/bridges/driver.js';
import type { Emulator } from '../../src/bridges/emulator/emulator.js';
import type { Store } from '../../src/adaptor/store/store.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import type { A2WType, WebexSim } from '../../src/webex-sim/webex-sim.js';
import { prng } from '../protocol/fuzz-corpus.js';
import { w2a, type EmulatorClient } from '../e2e/support.js';
import { ChaosStack, type ExitRecord } from './chaos-stack.js';
import { HaChaosStack } from './ha-chaos-stack.js';

/** What the soak drives: the bridge, WebEx, and the adaptor instances between them. */
export interface SoakStack {
  readonly emulator: Emulator;
  readonly control: EmulatorClient;
  /** WebEx's server: every A2W message arrives here; its URL is every request's WbxHostName. */
  readonly sim: WebexSim;
  /** Bridge commands carried out, in order (snapshots left out). */
  readonly executed: BridgeCommand[];
  readonly exits: ExitRecord[];
  /** Starts given up on as not ready in time and tried again. */
  readonly slowStarts: number;
  /** Faults of this setup besides the bridge's and WebEx's (HA: Redis restarts). */
  readonly ownFaults: readonly string[];
  inject(fault: string): Promise<void>;
  /** One W2A transaction, retried as WebEx does; resolves with its Confirmation Result. */
  send(message: W2AMessage): Promise<number | undefined>;
  /** SIGKILLs an adaptor instance (the bridge owner when there are several) and starts it again; names it. */
  killAndRestart(): Promise<string>;
  /** SIGTERM to every instance: each drains and exits. */
  stop(): Promise<ExitRecord[]>;
  /** Log lines of every instance started at error level or above (pino: 50 error, 60 fatal). */
  readonly errorLines: Record<string, unknown>[];
  /** Error lines left out of `errorLines` as the expected result of a deliberate fault. */
  readonly toleratedErrorLines: number;
  /** The adaptor's store, read once every instance has stopped. */
  openStore(): Promise<Store>;
  close(): Promise<void>;
}

export interface SoakOptions {
  durationMs: number;
  /** Callers the traffic generator keeps on the bridge. */
  calls: number;
  seed: number;
  /** Pause between WebEx commands. */
  commandEveryMs: number;
  /** Pause between injected faults (each lasts FAULT_MS). */
  faultEveryMs: number;
  /** Pause between daemon kills (0: no kills). */
  killEveryMs: number;
  /** Two cluster members on Redis instead of one daemon on SQLite. */
  ha?: boolean;
  log?: (line: string) => void;
}

export interface SoakReport {
  seconds: number;
  conferencesCreated: number;
  confirmed: number;
  commandsByType: Record<string, number>;
  notificationsReceived: number;
  bridgeCommands: number;
  faults: Record<string, number>;
  kills: number;
  slowStarts: number;
  /** Error lines logged during deliberate Redis outages (HA), not counted as violations. */
  toleratedErrorLines: number;
  traffic: { joined: number; left: number; refused: number; keypadMutes: number; talkBursts: number };
  finalConferences: number;
  finalCallers: number;
  violations: string[];
}

const CALLS_PER_CONFERENCE = 35;
const CREATE_WAIT_MS = 60_000;
const CREATE_ATTEMPTS = 5;
const FAULT_MS = 3_000;
/** After the load stops: how long without a new A2W message counts as quiet, and the bound. */
const QUIET_MS = 3_000;
const SETTLE_MAX_MS = 90_000;
/** A conference is ended and replaced only after it has lived this long. */
const MIN_CONFERENCE_AGE_MS = 20_000;

type Fault = 'drop' | 'silent-heartbeats' | 'delay' | 'reorder' | 'duplicate' | 'webex-503' | 'webex-busy' | 'webex-down';
const FAULTS: readonly Fault[] = ['drop', 'silent-heartbeats', 'delay', 'reorder', 'duplicate', 'webex-503', 'webex-busy', 'webex-down'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Slot {
  extConfID: string;
  confKey: string;
  createdAt: number;
  locked: boolean;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => {});
  const random = prng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const stack: SoakStack = options.ha ? await HaChaosStack.start() : await ChaosStack.start();
  const { sim, control, emulator } = stack;
  const build = w2a(sim);
  const violations: string[] = [];
  const faults: Record<string, number> = {};
  const confirmed: W2AMessage[] = [];
  const trafficTotals = { joined: 0, left: 0, refused: 0, keypadMutes: 0, talkBursts: 0 };
  const started = Date.now();
  let created = 0;
  let kills = 0;
  let serial = 0;

  /** Callers WebEx knows, by ExtConfID: named on entry, forgotten when they leave. */
  const known = new Map<string, Set<string>>();
  sim.on('message', (r) => {
    const m = r.message;
    if (m.type === 'A2W_NotifyUserEnter') {
      const id = r.answeredExtCallID ?? m.ExtCallID;
      if (id) known.get(m.ExtConfID)?.add(id);
    } else if (m.type === 'A2W_NotifyUserChange' && m.Status === 1) {
      known.get(m.ExtConfID)?.delete(m.ExtCallID);
    }
  });

  const send = async (message: W2AMessage): Promise<boolean> => {
    const result = await stack.send(message);
    if (result === 0) confirmed.push(message);
    return result === 0;
  };
  const slots: Slot[] = [];
  const restartTraffic = () => {
    const before = emulator.traffic.stats();
    for (const k of Object.keys(trafficTotals) as (keyof typeof trafficTotals)[]) trafficTotals[k] += before[k];
    emulator.traffic.start({
      confKeys: slots.map((s) => s.confKey), targetCallers: options.calls, arrivalsPerSecond: Math.max(5, options.calls / 10),
      departuresPerSecond: Math.max(0.5, options.calls / 200), keypadMutesPerSecond: 0.5, talkBurstsPerSecond: 2,
      talkMs: { min: 500, max: 3_000 }, seed: options.seed + created,
    });
  };
  const createSlot = async (): Promise<Slot | undefined> => {
    serial++;
    const slot: Slot = { extConfID: `soak-${options.seed}-${serial}`, confKey: `${80_000_000 + serial}`, createdAt: Date.now(), locked: false };
    known.set(slot.extConfID, new Set());
    const create = build.create(slot.extConfID, slot.confKey, { AttendeeCount: CALLS_PER_CONFERENCE });
    if (!(await send(create))) return undefined;
    // A create can fail (Result 31 while the bridge link is down): commands for a conference
    // the adaptor does not know have no WbxHostName to be answered at, so the slot is not used.
    const rsp = await sim.next('A2W_RspCreateConference', (m) => m.MsgID === create.MsgID, CREATE_WAIT_MS).catch(() => undefined);
    if (rsp?.message.Result !== 0) return undefined;
    created++;
    return slot;
  };
  /** A conference in every slot: creates that failed are tried again, a bounded number of times. */
  const fillSlot = async (): Promise<Slot | undefined> => {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const slot = await createSlot();
      if (slot) return slot;
    }
    return undefined;
  };

  // --- load -----------------------------------------------------------------------------------
  const conferences = Math.max(2, Math.ceil(options.calls / CALLS_PER_CONFERENCE));
  for (let i = 0; i < conferences; i++) {
    const slot = await fillSlot();
    if (slot) slots.push(slot);
  }
  restartTraffic();
  log(`load: ${slots.length} conferences, ${options.calls} calls targeted`);

  const endAt = started + options.durationMs;
  let aborted = false;
  const running = () => !aborted && Date.now() < endAt;
  /** A failing load or fault loop stops the run and is reported; the checks still run. */
  const abort = (what: string) => (err: unknown) => {
    aborted = true;
    violations.push(`${what} failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500));
  };
  const commands = (async () => {
    while (running()) {
      const slot = pick(slots);
      const roll = random();
      const callers = [...(known.get(slot.extConfID) ?? [])];
      if (roll < 0.45 && callers.length > 0) {
        await send(build.mute(slot.extConfID, pick(callers), random() < 0.5));
      } else if (roll < 0.65) {
        slot.locked = !slot.locked;
        await send(build.lock(slot.extConfID, slot.locked));
      } else if (roll < 0.8) {
        await send(build.callout(slot.extConfID, `${slot.extConfID}-out-${++serial}`, `1,408,555${String(serial % 10_000).padStart(4, '0')}`));
      } else if (roll < 0.85 && Date.now() - slot.createdAt > MIN_CONFERENCE_AGE_MS) {
        if (await send(build.end(slot.extConfID))) {
          const next = await fillSlot();
          slots.splice(slots.indexOf(slot), 1, ...(next ? [next] : []));
          restartTraffic();
        }
      }
      await sleep(options.commandEveryMs);
    }
  })().catch(abort('the WebEx command loop'));

  // --- faults ---------------------------------------------------------------------------------
  const injecting = (async () => {
    let nextKillAt = options.killEveryMs > 0 ? started + options.killEveryMs / 2 : Infinity;
    let scheduled = 0;
    while (running()) {
      await sleep(options.faultEveryMs * (0.5 + random()));
      if (!running()) break;
      if (Date.now() >= nextKillAt) {
        nextKillAt = Date.now() + options.killEveryMs;
        // A setup with faults of its own (HA: Redis restarts) gets them on this clock too, taking
        // turns with the kills, so even a short run has each; they also come at random below.
        if (stack.ownFaults.length > 0 && scheduled++ % 2 === 1) {
          const fault = pick(stack.ownFaults);
          faults[fault] = (faults[fault] ?? 0) + 1;
          await stack.inject(fault);
          log(`fault: ${fault} (scheduled)`);
          continue;
        }
        const victim = await stack.killAndRestart();
        kills++;
        log(`fault: ${victim} SIGKILLed and restarted (${kills})`);
        continue;
      }
      const fault = pick([...FAULTS, ...stack.ownFaults]);
      faults[fault] = (faults[fault] ?? 0) + 1;
      switch (fault) {
        case 'drop':
          await control.call('POST', '/faults/drop');
          break;
        case 'silent-heartbeats':
        case 'reorder':
        case 'duplicate':
          await control.call('PUT', `/faults/${fault}`);
          await sleep(FAULT_MS);
          await control.call('DELETE', `/faults/${fault}`);
          break;
        case 'delay':
          await control.call('PUT', '/faults/delay', { ms: 300 });
          await sleep(FAULT_MS);
          await control.call('DELETE', '/faults/delay');
          break;
        case 'webex-503':
        case 'webex-busy':
        case 'webex-down':
          sim.setPolicy(fault === 'webex-503' ? { kind: 'http', status: 503 } : fault === 'webex-busy' ? { kind: 'result', result: 7 } : { kind: 'down' });
          await sleep(FAULT_MS);
          sim.setPolicy({ kind: 'ok' });
          break;
        default:
          await stack.inject(fault);
          log(`fault: ${fault}`);
      }
    }
  })().catch(abort('fault injection'));

  try {
    await Promise.all([commands, injecting]);
    log(`load over after ${Math.round((Date.now() - started) / 1000)} s: settling`);
    await control.call('DELETE', '/faults');
    sim.setPolicy({ kind: 'ok' });
    const stats = emulator.traffic.stats();
    for (const k of Object.keys(trafficTotals) as (keyof typeof trafficTotals)[]) trafficTotals[k] += stats[k];
    emulator.traffic.stop();

    // --- settle: every confirmed command answered, then quiet -----------------------------------
    const answered = (m: W2AMessage) =>
      sim.received.filter((r) => r.message.type === (m.type.replace('W2A_', 'A2W_Rsp') as A2WType) && r.message.MsgID === m.MsgID).length;
    const settleBy = Date.now() + SETTLE_MAX_MS;
    let lastCount = -1;
    let quietSince = Date.now();
    while (Date.now() < settleBy) {
      if (sim.received.length !== lastCount) {
        lastCount = sim.received.length;
        quietSince = Date.now();
      }
      if (confirmed.every((m) => answered(m) > 0) && Date.now() - quietSince >= QUIET_MS) break;
      await sleep(250);
    }
    for (const exit of await stack.stop()) {
      if (exit.code !== 0) violations.push(`an adaptor instance did not stop cleanly on SIGTERM: ${exit.code ?? exit.signal}`);
    }

    // --- checks ---------------------------------------------------------------------------------
    for (const e of stack.exits) if (!e.deliberate) violations.push(`crash: an adaptor instance exited by itself (${e.code ?? e.signal})`);
    const errors = new Map<string, number>();
    for (const line of stack.errorLines) {
      const key = `${String(line.msg)} ${JSON.stringify(line.err ?? line.reason ?? '').slice(0, 200)}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
    for (const [line, n] of errors) violations.push(`error logged ${n} times: ${line}`);

    for (const m of confirmed) {
      const copies = answered(m);
      if (copies !== 1) violations.push(`${m.type} ${m.MsgID}: ${copies} responses`);
    }
    const resultOf = (m: W2AMessage) =>
      (sim.received.find((r) => r.message.type === m.type.replace('W2A_', 'A2W_Rsp') && r.message.MsgID === m.MsgID)?.message as { Result?: number } | undefined)?.Result;
    const okCount = (type: W2AMessage['type']) => confirmed.filter((m) => m.type === type && resultOf(m) === 0).length;
    const ops = (op: string) => stack.executed.filter((c) => c.op === op);
    const creates = ops('createConference').map((c) => (c.op === 'createConference' ? c.options.confKey : ''));
    if (new Set(creates).size !== creates.length) violations.push('a conference was created twice on the bridge');
    if (creates.length !== okCount('W2A_CreateConference')) violations.push(`${creates.length} bridge creates for ${okCount('W2A_CreateConference')} conferences created`);
    const ends = ops('endConference').map((c) => (c.op === 'endConference' ? c.bridgeConfId : ''));
    if (new Set(ends).size !== ends.length) violations.push('a conference was ended twice on the bridge');
    if (ends.length !== okCount('W2A_EndConference')) violations.push(`${ends.length} bridge ends for ${okCount('W2A_EndConference')} conferences ended`);
    const dials = ops('dialOut').map((c) => (c.op === 'dialOut' ? c.dialOutId : ''));
    if (new Set(dials).size !== dials.length) violations.push('a dial-out was dialled twice');
    for (const [op, type] of [['mute', 'W2A_MuteUser'], ['lockConference', 'W2A_LockConference'], ['dialOut', 'W2A_Callout']] as const) {
      const confirmedOfType = confirmed.filter((m) => m.type === type).length;
      if (ops(op).length > confirmedOfType) violations.push(`${ops(op).length} bridge ${op} for ${confirmedOfType} confirmed ${type}`);
    }

    const store = await stack.openStore();
    let finalConferences = 0;
    let finalCallers = 0;
    try {
      const pending = await store.pendingOutbox();
      if (pending.length > 0) violations.push(`${pending.length} notifications never delivered`);
      const dead = await store.deadLetters();
      const reasons = new Map<string, number>();
      for (const d of dead) {
        const key = `${d.record.message.type}: ${d.reason.replace(/\d+/g, '#').slice(0, 160)}`;
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
      for (const [reason, n] of reasons) violations.push(`${n} A2W dead-lettered, ${reason}`);
      const engine = (await store.loadConferences()).filter((c) => c.status !== 'ended' && c.bridgeConfId !== undefined);
      const bridge = await control.state();
      const describe = (id: string, locked: boolean, callers: { port: string; muted: boolean }[]) =>
        `${id} locked=${locked} [${callers.map((c) => `${c.port}:${c.muted ? 'm' : 'u'}`).sort().join(' ')}]`;
      const engineView = engine.map((c) => describe(c.bridgeConfId!, c.status === 'locked',
        c.callers.flatMap((k) => (k.phase === 'joined' ? [{ port: k.port, muted: k.muted }] : [])))).sort();
      const bridgeView = bridge.conferences.map((c) => describe(c.bridgeConfId, c.locked, c.callers)).sort();
      finalConferences = bridge.conferences.length;
      finalCallers = bridge.conferences.reduce((n, c) => n + c.callers.length, 0);
      if (engineView.join('\n') !== bridgeView.join('\n')) {
        const missing = bridgeView.filter((v) => !engineView.includes(v));
        const extra = engineView.filter((v) => !bridgeView.includes(v));
        violations.push(`engine state differs from the bridge's: bridge has ${missing.join(' | ').slice(0, 600)}; engine has ${extra.join(' | ').slice(0, 600)}`);
      }
    } finally {
      await store.close();
    }

    const commandsByType: Record<string, number> = {};
    for (const m of confirmed) commandsByType[m.type] = (commandsByType[m.type] ?? 0) + 1;
    return {
      seconds: Math.round((Date.now() - started) / 1000), conferencesCreated: created, confirmed: confirmed.length, commandsByType,
      notificationsReceived: sim.received.filter((r) => r.message.type.startsWith('A2W_Notify')).length, bridgeCommands: stack.executed.length,
      faults, kills, slowStarts: stack.slowStarts, toleratedErrorLines: stack.toleratedErrorLines, traffic: trafficTotals, finalConferences, finalCallers, violations,
    };
  } finally {
    await stack.close();
  }
}
