/**
 * The engine: the one object between WebEx and the bridges. `accept` makes a transaction
 * durable before its Confirmation 0; its commands then run one at a time per ExtConfID (in
 * arrival order; conferences in parallel), become driver calls with deadlines, and end in A2W
 * messages that the outbox delivers. Bridge events, reconciliation and timers change conference
 * state the same way: a pure transition, then one atomic store write, then the outbox.
 *
 * Exactly once: a command is journalled (`startCommand`) before its first bridge call and
 * completed (`completeCommand`, with its state change and A2W messages) in one write. After a
 * crash, unfinished commands run again; those that may have reached the bridge are checked
 * against the bridge's snapshot so nothing is sent twice (docs/engine.md).
 *
 * Lifecycle: the composition root builds the drivers, the store and the poster; `start()`
 * subscribes to every driver and connects it (the engine owns the drivers' connections from then
 * on), finishes what a previous run left unfinished, and starts the outbox. `drain()` stops
 * intake and lets work finish; `close()` stops timers and closes the drivers. The store is the
 * caller's to close, after `close()`.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BridgeCommand, BridgeDriver, BridgeEvent, BridgeSnapshot, PortUsage } from '../bridges/driver.js';
import { TypedEmitter } from '../common/typed-emitter.js';
import type { ConfirmationResult, TspCodec, W2AMessage } from '../protocol/index.js';
import type { BridgeLoad } from './admission.js';
import { endedLegs, type CallRecord, type CallRecordSink } from './cdr/call-record.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import type { Effects, TransitionContext } from './conference/effects.js';
import { applyBridgeEvent, speakingChanged } from './conference/events.js';
import { KeepingInStep } from './conference/keeping-in-step.js';
import { conferenceChanges, type BridgeView, type EngineEvents, type EngineSnapshot, type TimelineStep } from './conference/observation.js';
import { ConferenceRegistry } from './conference/registry.js';
import { SpeakingGate } from './conference/speaking-gate.js';
import type { ConferenceState } from './conference/state.js';
import { bridgeErrorCode } from './conference/results.js';
import { CommandRunner } from './command-runner.js';
import { EngineCounters } from './counters.js';
import type { EngineOptions } from './options.js';
import { compileAllowedHosts } from './http/allowed-hosts.js';
import { Outbox } from './outbox/outbox.js';
import { SerialQueues } from './serial-queues.js';
import type { CommandRecord, OutboxRecord, Store } from './store/store.js';

export interface AcceptedTransaction {
  transId: string;
  messages: W2AMessage[];
  /** ms since epoch. */
  receivedAt: number;
  /** Who sent it (remote address), for the log. */
  source?: string;
}

/** POSTs one A2W body; implemented over HTTPS by the composition root. */
export type A2WPoster = (
  url: string,
  body: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
) => Promise<{ status: number; body: string; retryAfterMs?: number }>;

export interface EngineDeps {
  store: Store;
  /** Built but not connected: `start()` connects them after subscribing to their events. */
  drivers: BridgeDriver[];
  codec: TspCodec;
  post: A2WPoster;
  logger: Logger;
  clock?: Clock;
  options: EngineOptions;
  /** Records the legs a change ends, durably, before the change is kept (docs/call-records.md). */
  callRecords?: CallRecordSink;
  /**
   * Whether this instance may send a bridge command right now: with several instances, only
   * while it holds the bridge lease (docs/high-availability.md). Always, when alone. The
   * caller counts the refusals.
   */
  mayAct?: () => boolean;
  /**
   * Runs the engine's periodic work (keep-alive sweep, reconciliation, compaction): the
   * daemon's job runner, so all scheduled work is named, never overlaps and is measured.
   * Without it the engine runs each on its own clock (engine tests, with a fake clock).
   */
  schedule?: (job: MaintenanceJob) => void;
}

/** A piece of the engine's periodic work; `run` rejects when it failed. */
export interface MaintenanceJob {
  name: 'keepalive-sweep' | 'reconcile' | 'compaction';
  everyMs: number;
  run: () => Promise<unknown>;
}

export type EngineState = 'idle' | 'starting' | 'running' | 'draining' | 'closed';

const SWEEP_INTERVAL_MAX_MS = 60_000;
const COMPACT_INTERVAL_MS = 60 * 60_000;
const SETTLE_MAX_ROUNDS = 1_000;

/**
 * Emits what operators watch (conference/observation.ts): `conference` for each version of a
 * conference it keeps (a command's journal or a commit), `bridge` when a link or its port usage
 * changes, `step` for timelines. Nothing is built for an event without listeners; a throwing
 * listener is logged and never reaches the engine.
 */
export class Engine extends TypedEmitter<EngineEvents> {
  readonly counters = new EngineCounters();
  #deps: EngineDeps;
  #clock: Clock;
  #log: Logger;
  #state: EngineState = 'idle';
  #drivers = new Map<string, BridgeDriver>();
  #ports = new Map<string, PortUsage>();
  // Every version kept, whoever keeps it (a command's journal, a commit), is what observers see.
  #registry = new ConferenceRegistry((before, after) => this.#conferenceKept(before, after));
  #outbox: Outbox;
  #speaking: SpeakingGate;
  #inStep: KeepingInStep;
  #queues: SerialQueues;
  #runner: CommandRunner;
  /** Work nothing waits on (state changes from events, reconciliation, timer rounds). */
  #background = new Set<Promise<void>>();
  #timers: TimerHandle[] = [];
  #unsubscribe: (() => void)[] = [];
  /** Commands this engine has queued, so one a shared store lists again is not run twice. */
  #enqueued = new Set<number>();
  /** Set by the first `runUnfinished`: from then on `#enqueued` is pruned there, not on completion. */
  #sharedStore = false;

  constructor(deps: EngineDeps) {
    super();
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#log = deps.logger;
    this.onListenerError = (event, err) => this.#log.error({ err, event }, 'an engine observer failed; the engine carries on');
    for (const d of deps.drivers) this.#drivers.set(d.id, d);
    this.#queues = new SerialQueues(deps.logger);
    const { conference, outbox } = deps.options;
    this.#outbox = new Outbox({
      store: deps.store, codec: deps.codec, post: deps.post, clock: this.#clock, logger: deps.logger.child({ part: 'outbox' }),
      counters: this.counters, options: outbox, isAllowedUrl: currentAllowList(deps.options),
      observe: (record, phase) => this.#observe(() => a2wStep(record, phase, this.#clock.now())),
    });
    this.#speaking = new SpeakingGate(this.#clock, conference.speakingHoldOffMs, conference.speakingMaxChangesPerSecond,
      (confId, legId, speaking) => this.#applySpeaking(confId, legId, speaking));
    this.#inStep = new KeepingInStep({
      registry: this.#registry,
      counters: this.counters,
      logger: deps.logger.child({ part: 'reconcile' }),
      orphanPolicy: conference.orphanPolicy,
      context: () => this.#context(),
      isBusy: (conf) => this.#isBusy(conf),
      commit: (e) => this.#commit(e),
      execute: (bridgeId, command) => this.#execute(bridgeId, command),
      enqueue: (conf, task) => this.#queues.enqueue(this.#queueKey(conf), task),
    });
    this.#runner = new CommandRunner({
      registry: this.#registry,
      store: deps.store,
      counters: this.counters,
      logger: deps.logger,
      options: deps.options,
      context: () => this.#context(),
      execute: (bridgeId, command) => this.#execute(bridgeId, command),
      commit: (e, commandId) => this.#commit(e, commandId),
      loads: () => this.#loads(),
      capabilities: (bridgeId) => this.#drivers.get(bridgeId)?.capabilities,
    });
  }

  /** Where the engine is in its life, for /readyz and metrics. */
  get state(): EngineState {
    return this.#state;
  }

  /** Open conferences and every bridge as they are now: what a live view starts from. */
  snapshot(): EngineSnapshot {
    return { at: this.#clock.now(), bridges: [...this.#drivers.keys()].map((id) => this.#bridgeView(id)), conferences: this.#registry.open() };
  }

  /** Messages waiting in the outbox and the age of the oldest, for metrics. */
  outboxDepth(): { messages: number; oldestAgeMs: number } {
    return this.#outbox.depth();
  }

  /**
   * Resolves once no command is queued or running, no state change is being stored and no A2W
   * post is under way (retries waiting for their time do not count). For tests and for drain.
   */
  async settled(): Promise<void> {
    for (let round = 0; round < SETTLE_MAX_ROUNDS; round++) {
      const pending = [...this.#queues.tails(), ...this.#background, ...this.#outbox.inFlight()];
      if (pending.length === 0) return;
      await Promise.allSettled(pending);
    }
    throw new Error(`Engine.settled: still busy after ${SETTLE_MAX_ROUNDS} rounds; something keeps producing work`);
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`Engine.start: already ${this.#state}; build a new Engine to start again`);
    this.#state = 'starting';
    const loadedAt = this.#clock.now();
    for (const conf of await this.#deps.store.loadConferences()) {
      // Keep-alives are not stored (Effects.touched): each open conference gets a full period.
      if (conf.status !== 'ended') conf.lastActivityAt = Math.max(conf.lastActivityAt, loadedAt);
      this.#registry.put(conf);
    }
    const firstResyncs = [...this.#drivers.values()].map((d) => this.#subscribe(d));
    await Promise.all(firstResyncs);
    const unfinished = await this.#deps.store.unfinishedCommands();
    if (unfinished.length > 0) this.#log.info({ commands: unfinished.length }, 'finishing commands accepted before the last stop');
    const replayed = unfinished.map((record) => this.#enqueueCommand(record, record.state === 'started'));
    await this.#outbox.start();
    this.#state = 'running';
    // Once recovery is through, compare every bridge with the state it left behind.
    void this.#track(Promise.allSettled(replayed).then(async () => {
      this.#runner.forgetSnapshots();
      if (this.#state === 'running') await this.#inStep.reconcileAll([...this.#drivers.keys()], 'after-recovery');
    }));
    this.#startTimers();
  }

  /**
   * Resolves with the Confirmation Result to answer: 0 only once the transaction is durably
   * recorded; a repeated TransID resolves with the result it got before and nothing is acted on
   * again; 7 while draining or before `start()` finished; 8 when the store failed.
   */
  async accept(tx: AcceptedTransaction): Promise<ConfirmationResult> {
    if (this.#state !== 'running') return 7;
    let outcome;
    try {
      outcome = await this.#deps.store.recordTransaction({ transId: tx.transId, messages: tx.messages, receivedAt: tx.receivedAt, result: 0 });
    } catch (err) {
      this.#log.error({ err, TransID: tx.transId }, 'could not record a transaction; answering Confirmation 8 so WebEx retries');
      return 8;
    }
    if (outcome.kind === 'repeat') {
      this.counters.transIdRepeats++;
      this.#log.info({ TransID: tx.transId, source: tx.source }, 'repeated TransID: confirmed again, not acted on');
      return outcome.result as ConfirmationResult;
    }
    this.counters.transactionsAccepted++;
    for (const record of outcome.commands) void this.#enqueueCommand(record, false);
    return 0;
  }

  /**
   * Runs the commands of a shared store's unfinished list (in id order) that this engine has not
   * queued yet: those another instance accepted and handed to this one, the bridges' owner.
   */
  runUnfinished(unfinished: CommandRecord[]): void {
    if (this.#state !== 'running') return;
    this.#sharedStore = true;
    // Store ids grow in acceptance order, so a queued id below the oldest unfinished one is done
    // and can never be listed again.
    const oldest = unfinished[0]?.id;
    if (oldest !== undefined) for (const id of this.#enqueued) if (id < oldest) this.#enqueued.delete(id);
    for (const record of unfinished) void this.#enqueueCommand(record, record.state === 'started');
  }

  /** Answers 7 from now on, lets queued commands finish and flushes the outbox, within `timeoutMs` in all. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#state === 'running' || this.#state === 'starting') this.#state = 'draining';
    const deadline = this.#clock.now() + timeoutMs;
    const tails = this.#queues.tails();
    await new Promise<void>((resolve) => {
      const timer = this.#clock.setTimer(timeoutMs, resolve);
      void Promise.allSettled(tails).then(() => {
        timer.cancel();
        resolve();
      });
    });
    const flushed = await this.#outbox.whenEmpty(Math.max(0, deadline - this.#clock.now()));
    if (!flushed) this.#log.warn({ outbox: this.#outbox.depth() }, 'drain ended with A2W messages undelivered; they stay stored for the next start');
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const t of this.#timers) t.cancel();
    this.#speaking.close();
    this.#outbox.close();
    for (const off of this.#unsubscribe) off();
    await Promise.allSettled([...this.#drivers.values()].map((d) => d.close()));
  }

  // --- drivers ------------------------------------------------------------------------------

  /** Subscribes and connects; resolves at the first resync or after a command deadline. */
  #subscribe(driver: BridgeDriver): Promise<void> {
    const onEvent = (event: BridgeEvent): void => this.#onEvent(driver.id, event);
    let firstResync: () => void = () => {};
    const onResync = (snapshot: BridgeSnapshot): void => {
      this.#setPorts(driver.id, snapshot.ports);
      if (this.#state === 'starting') {
        this.#runner.rememberSnapshot(driver.id, snapshot);
        firstResync();
      } else {
        void this.#track(this.#inStep.reconcile(driver.id, snapshot, 'resync'));
      }
    };
    const onHeartbeat = (hb: { ports?: PortUsage }): void => {
      if (hb.ports) this.#ports.set(driver.id, hb.ports);
      // Every heartbeat is news to an observer: its age is part of the bridge's view.
      if (this.listenerCount('bridge') > 0) this.emit('bridge', this.#bridgeView(driver.id));
    };
    const onStatus = (): void => {
      if (this.listenerCount('bridge') > 0) this.emit('bridge', this.#bridgeView(driver.id));
    };
    driver.on('event', onEvent).on('resync', onResync).on('heartbeat', onHeartbeat).on('status', onStatus);
    driver.onListenerError = (event, err) => this.#log.error({ err, event, bridge: driver.id }, 'engine failed handling a bridge event');
    this.#unsubscribe.push(() => driver.off('event', onEvent).off('resync', onResync).off('heartbeat', onHeartbeat).off('status', onStatus));
    const ready = new Promise<void>((resolve) => {
      const timer = this.#clock.setTimer(this.#deps.options.conference.commandTimeoutMs, () => {
        this.#log.warn({ bridge: driver.id }, 'bridge not up at start; its conferences are checked when it connects');
        resolve();
      });
      firstResync = () => {
        timer.cancel();
        resolve();
      };
    });
    driver.connect().catch((err: unknown) => this.#log.error({ err, bridge: driver.id }, 'bridge driver stopped connecting'));
    return ready;
  }

  #onEvent(bridgeId: string, event: BridgeEvent): void {
    if (event.type === 'ports') {
      this.#setPorts(bridgeId, event.usage);
      return;
    }
    // Talking comes many times a second; the debounced Speaking change is what is shown.
    if (event.type !== 'talking') this.#observe(() => eventStep(this.#clock.now(), bridgeId, event));
    const conf = this.#registry.byBridgeConference(bridgeId, event.bridgeConfId);
    if (!conf) {
      this.counters.bump(this.counters.unroutable, 'unknown-bridge-conference');
      this.#log.debug({ bridge: bridgeId, event }, 'event for a bridge conference the engine does not know; reconciliation decides');
      return;
    }
    if (event.type === 'talking') {
      this.#speaking.talking(conf.confId, event.legId, event.talking);
      return;
    }
    if (event.type === 'callerLeft') this.#speaking.forgetCaller(conf.confId, event.legId);
    const key = this.#queueKey(conf);
    // A command of this conference is under way: the event waits for it. The command's own
    // messages then come first (RspEndConference before Status 3), and the event finds its
    // effect already recorded instead of reporting it a second time.
    if (this.#queues.busy(key)) void this.#queues.enqueue(key, () => this.#applyEvent(bridgeId, event));
    else void this.#applyEvent(bridgeId, event);
  }

  #applyEvent(bridgeId: string, event: Exclude<BridgeEvent, { type: 'ports' }>): Promise<void> {
    const conf = this.#registry.byBridgeConference(bridgeId, event.bridgeConfId);
    if (!conf) return Promise.resolve();
    const e = applyBridgeEvent(this.#registry.copy(conf), event, this.#context());
    if (e.unroutable) this.counters.bump(this.counters.unroutable, e.unroutable);
    return this.#commit(e);
  }

  #queueKey(conf: ConferenceState): string {
    return conf.extConfID || conf.confId;
  }

  #applySpeaking(confId: string, legId: string, speaking: boolean): boolean {
    const conf = this.#registry.get(confId);
    if (!conf || conf.status === 'ended') return false;
    const e = speakingChanged(this.#registry.copy(conf), legId, speaking, this.#context());
    if (e.conferences.length === 0) return false;
    void this.#commit(e);
    return true;
  }

  #execute<R>(bridgeId: string, command: BridgeCommand): Promise<R> {
    const driver = this.#drivers.get(bridgeId);
    if (!driver) return Promise.reject(new Error(`no driver for bridge ${bridgeId}: is it still in the configuration?`));
    if (this.#deps.mayAct?.() === false) {
      return Promise.reject(new Error(`not sent to bridge ${bridgeId}: this instance no longer holds the bridge lease`));
    }
    const sent = driver.execute(command, { timeoutMs: this.#deps.options.conference.commandTimeoutMs }) as Promise<R>;
    if (this.listenerCount('step') === 0) return sent;
    const sentAt = this.#clock.now();
    const step = (phase: 'sent' | 'done' | 'failed', code?: string): TimelineStep => {
      const at = this.#clock.now();
      const built = commandStep(bridgeId, command, at, phase);
      if (phase !== 'sent') built.tookMs = at - sentAt;
      if (code) built.code = code;
      return built;
    };
    this.emit('step', step('sent'));
    sent.then(() => this.#observe(() => step('done')), (err: unknown) => this.#observe(() => step('failed', bridgeErrorCode(err))));
    return sent;
  }

  #conferenceKept(before: ConferenceState | undefined, after: ConferenceState): void {
    if (this.listenerCount('conference') === 0) return;
    const changes = conferenceChanges(before, after);
    if (changes.length > 0) this.emit('conference', { conference: after, changes });
  }

  /** Builds and emits a timeline step, only when someone listens. */
  #observe(make: () => TimelineStep): void {
    if (this.listenerCount('step') > 0) this.emit('step', make());
  }

  #setPorts(bridgeId: string, usage: PortUsage): void {
    const before = this.#ports.get(bridgeId);
    this.#ports.set(bridgeId, usage);
    const same = before?.total === usage.total && before.inUse === usage.inUse && before.reserved === usage.reserved;
    if (!same && this.listenerCount('bridge') > 0) this.emit('bridge', this.#bridgeView(bridgeId));
  }

  #bridgeView(bridgeId: string): BridgeView {
    const driver = this.#drivers.get(bridgeId)!;
    const health = driver.health();
    return {
      id: bridgeId,
      model: driver.capabilities.model,
      link: driver.status,
      ports: health.ports ?? this.#ports.get(bridgeId),
      promisedPorts: this.#registry.promisedPorts(bridgeId),
      lastHeartbeatAt: health.lastHeartbeatAt,
    };
  }

  // --- commands -----------------------------------------------------------------------------

  #isBusy(conf: ConferenceState): boolean {
    return this.#queues.busy(this.#queueKey(conf));
  }

  #enqueueCommand(record: CommandRecord, inDoubt: boolean): Promise<void> {
    if (this.#enqueued.has(record.id)) return Promise.resolve();
    this.#enqueued.add(record.id);
    const msg = record.message;
    this.#observe(() => {
      const step: TimelineStep = { kind: 'w2a', at: this.#clock.now(), transId: record.transId, msgId: msg.MsgID, msgType: msg.type, extConfID: msg.ExtConfID };
      if ('ExtCallID' in msg) step.extCallID = msg.ExtCallID;
      return step;
    });
    const done = this.#queues.enqueue(record.message.ExtConfID, () => this.#runner.run(record, inDoubt));
    // Alone, nothing lists a finished command again; with a shared store a list read before it
    // finished may still name it, so `runUnfinished` prunes instead.
    const forget = (): void => { if (!this.#sharedStore) this.#enqueued.delete(record.id); };
    void done.then(forget, forget);
    return done;
  }

  /** Keeps `e`'s conferences and messages in one store write, then hands the messages to the outbox. */
  #commit(e: Effects, commandId?: number): Promise<void> {
    return this.#track(this.#store(e, commandId));
  }

  #track(work: Promise<void>): Promise<void> {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
    return work;
  }

  async #store(e: Effects, commandId: number | undefined): Promise<void> {
    // A closed engine keeps nothing more: what it had not finished stays unfinished in the
    // store, and the next engine checks it against the bridge (its successor may already run).
    if (this.#state === 'closed') return;
    const ended = this.#endedLegs(e);
    for (const conf of e.conferences) {
      this.#registry.put(conf);
      if (conf.status === 'ended') this.#speaking.forgetConference(conf.confId);
    }
    for (const conf of e.touched ?? []) this.#registry.put(conf);
    const now = this.#clock.now();
    // An adopted conference no WebEx server has claimed yet has nobody to tell.
    const out = e.out.filter((o) => o.url !== undefined || o.message.ExtConfID !== '');
    // Order is kept per conference and WebEx server: a server that died (re-creation moved the
    // conference elsewhere) must not hold back what goes to its successor.
    const outbox = out.map((o) => ({
      orderKey: `${this.#registry.byExtConfID(o.message.ExtConfID)?.confId ?? `ext:${o.message.ExtConfID}`} ${o.url ?? ''}`,
      url: o.url,
      message: o.message,
      transId: `a2w-${randomUUID()}`,
      createdAt: now,
    }));
    const change = { conferences: e.conferences, outbox };
    // Written before the change: a crash in between repeats a record (dropped by its id), never loses one.
    if (ended.length > 0) {
      await this.#deps.callRecords?.append(ended).catch((err: unknown) =>
        this.#log.error({ err, records: ended.map((r) => r.recordId) }, 'call detail records not written; the calls go on'));
    }
    try {
      const records = commandId === undefined
        ? await this.#deps.store.applyChange(change)
        : await this.#deps.store.completeCommand(commandId, change);
      this.#outbox.add(records);
      for (const record of records) this.#observe(() => a2wStep(record, 'queued', now));
    } catch (err) {
      this.#log.error({ err, commandId }, 'could not store a state change; a command stays unfinished and runs again at the next start');
      return;
    }
    for (const f of e.followUps) {
      this.#execute(f.bridgeId, f.command).catch((err: unknown) =>
        this.#log.warn({ err, bridge: f.bridgeId, op: f.command.op }, 'follow-up bridge command failed; reconciliation retries it'));
    }
  }

  /** Against the registry as it was before `e`: call for it before putting `e`'s conferences. */
  #endedLegs(e: Effects): CallRecord[] {
    const sink = this.#deps.callRecords;
    if (!sink) return [];
    const ctx = { now: this.#clock.now(), digitsKept: sink.digitsKept };
    const out = e.out.map((o) => o.message);
    return e.conferences.flatMap((conf) => endedLegs(this.#registry.get(conf.confId), conf, out, ctx));
  }

  #context(): TransitionContext {
    return { now: this.#clock.now(), newMsgId: () => randomUUID(), options: this.#deps.options };
  }

  #loads(): BridgeLoad[] {
    return [...this.#drivers.values()].map((d) => ({
      bridgeId: d.id,
      up: d.status.state === 'up',
      ports: d.health().ports ?? this.#ports.get(d.id),
      promised: this.#registry.promisedPorts(d.id),
    }));
  }

  // --- timers -------------------------------------------------------------------------------

  #startTimers(): void {
    const { keepAliveTimeoutMs, reconcileIntervalMs } = this.#deps.options.conference;
    const jobs: MaintenanceJob[] = [
      { name: 'keepalive-sweep', everyMs: Math.min(SWEEP_INTERVAL_MAX_MS, Math.max(1, keepAliveTimeoutMs / 2)), run: () => this.#sweep() },
      { name: 'reconcile', everyMs: reconcileIntervalMs, run: () => this.#inStep.reconcileAll([...this.#drivers.keys()], 'periodic') },
      { name: 'compaction', everyMs: COMPACT_INTERVAL_MS, run: () => this.#compact() },
    ];
    for (const job of jobs) {
      if (this.#deps.schedule) this.#deps.schedule({ ...job, run: () => (this.#state === 'closed' ? Promise.resolve() : this.#tracked(job.run)) });
      else this.#every(job.everyMs, job.run);
    }
  }

  #every(intervalMs: number, fn: () => Promise<unknown>): void {
    const tick = (): void => {
      if (this.#state === 'closed') return;
      void this.#tracked(fn).catch((err: unknown) => this.#log.error({ err }, 'periodic engine work failed; it runs again at its next time')).finally(() => {
        if (this.#state !== 'closed') this.#timers.push(this.#clock.setTimer(intervalMs, tick));
      });
    };
    this.#timers.push(this.#clock.setTimer(intervalMs, tick));
  }

  /** Runs `fn` as background work that settled() waits for; its outcome stays the caller's. */
  #tracked<T>(fn: () => Promise<T>): Promise<T> {
    const work = fn();
    void this.#track(work.then(() => undefined, () => undefined));
    return work;
  }

  /** Keep-alive cleanup (spec 3.1). */
  async #sweep(): Promise<{ ended: number }> {
    let ended = 0;
    const now = this.#clock.now();
    const { keepAliveTimeoutMs } = this.#deps.options.conference;
    for (const conf of this.#registry.open()) {
      if (conf.status === 'creating' || conf.callers.length > 0 || now - conf.lastActivityAt < keepAliveTimeoutMs) continue;
      if (this.#isBusy(conf)) continue;
      this.#log.info({ ExtConfID: conf.extConfID }, 'no keep-alive, no message and no caller for too long: ending the conference');
      void this.#inStep.endIdle(conf);
      ended++;
    }
    return { ended };
  }

  /** Forgets TransIDs and ended conferences past their retention; a failure is tried again next time. */
  async #compact(): Promise<{ forgotten: number }> {
    const before = this.#clock.now() - this.#deps.options.transIdRetentionMs;
    const forgotten = await this.#deps.store.compact(before, before);
    for (const conf of [...this.#registry.all()]) {
      if (conf.endedAt !== undefined && conf.endedAt < before) this.#registry.remove(conf.confId);
    }
    if (forgotten > 0) this.#log.info({ forgotten }, 'forgot TransIDs past their retention');
    return { forgotten };
  }
}

// --- timeline steps ---------------------------------------------------------------------------
// Several are built per command while anyone listens (the live feed, metrics): optional fields
// are assigned, not spread in, as a conditional spread costs ~3 us an object against ~0.2 us.

function a2wStep(record: OutboxRecord, phase: Extract<TimelineStep, { kind: 'a2w' }>['phase'], at: number): TimelineStep {
  const m = record.message;
  const step: TimelineStep = { kind: 'a2w', at, phase, transId: record.transId, msgId: m.MsgID, msgType: m.type, extConfID: m.ExtConfID };
  if ('ExtCallID' in m) step.extCallID = m.ExtCallID;
  return step;
}

function commandStep(bridgeId: string, command: BridgeCommand, at: number, phase: 'sent' | 'done' | 'failed'): Extract<TimelineStep, { kind: 'bridge-command' }> {
  const step: Extract<TimelineStep, { kind: 'bridge-command' }> = { kind: 'bridge-command', at, phase, bridgeId, op: command.op };
  if ('bridgeConfId' in command) step.bridgeConfId = command.bridgeConfId;
  if ('port' in command && command.port !== undefined) step.port = command.port;
  if ('dialOutId' in command) step.dialOutId = command.dialOutId;
  return step;
}

function eventStep(at: number, bridgeId: string, event: Exclude<BridgeEvent, { type: 'ports' }>): TimelineStep {
  const detail = event.type === 'callerLeft' ? event.reason
    : event.type === 'muteChanged' ? `${event.muted ? 'muted' : 'unmuted'} by ${event.by}`
      : event.type === 'dialOut' || event.type === 'conferenceChanged' ? event.state
        : event.type === 'subConferenceChanged' ? `sub-conference ${event.subConfId}`
          : undefined;
  const step: Extract<TimelineStep, { kind: 'bridge-event' }> = { kind: 'bridge-event', at, bridgeId, bridgeConfId: event.bridgeConfId, eventType: event.type };
  if ('legId' in event) step.legId = event.legId;
  if ('port' in event && event.port !== undefined) step.port = event.port;
  if ('dialOutId' in event && event.dialOutId !== undefined) step.dialOutId = event.dialOutId;
  if (detail !== undefined) step.detail = detail;
  return step;
}

/** The WebEx allow-list, compiled again when a reload (SIGHUP) replaces `options.webex.allowedHosts`. */
function currentAllowList(options: EngineOptions): (url: string) => boolean {
  let hosts = options.webex.allowedHosts;
  let matches = compileAllowedHosts(hosts);
  return (url) => {
    if (options.webex.allowedHosts !== hosts) {
      hosts = options.webex.allowedHosts;
      matches = compileAllowedHosts(hosts);
    }
    return matches(url);
  };
}
