/**
 * Puts one connection's bridge events in order and drops repeats, using the bridge's sequence
 * numbers. Until the resync snapshot is in, events are held back; `start(snapshotSeq)` re-bases
 * the sequence on the snapshot, so events the snapshot already reflects are dropped and the
 * rest are delivered after `resync`. A gap is waited for briefly (the reorder window), then
 * skipped: a lost event must not stall the stream. A new connection gets a new sequencer.
 */
import type { BridgeEvent } from '../driver.js';

export interface SequencerHooks {
  deliver(event: BridgeEvent, seq: number): void;
  duplicate(seq: number): void;
  /** A gap was given up on after the reorder window; `from..to` never arrived. */
  gapSkipped(from: number, to: number): void;
}

export interface SequencerOptions {
  reorderWindowMs: number;
  /** Events held before the snapshot, or across a gap, beyond which the sequencer stops waiting. */
  maxHeld: number;
}

type SequencerState =
  | { phase: 'buffering'; buffer: Map<number, BridgeEvent> }
  | { phase: 'live'; next: number; held: Map<number, BridgeEvent>; gapTimer: NodeJS.Timeout | undefined }
  | { phase: 'stopped' };

export class EventSequencer {
  #state: SequencerState = { phase: 'buffering', buffer: new Map() };
  readonly #hooks: SequencerHooks;
  readonly #options: SequencerOptions;

  constructor(hooks: SequencerHooks, options: SequencerOptions) {
    this.#hooks = hooks;
    this.#options = options;
  }

  /** Before `start`, too many buffered events means the snapshot is not coming: the owner drops the link. */
  get overflowing(): boolean {
    return this.#state.phase === 'buffering' && this.#state.buffer.size > this.#options.maxHeld;
  }

  push(seq: number, event: BridgeEvent): void {
    const state = this.#state;
    switch (state.phase) {
      case 'stopped':
        return;
      case 'buffering':
        if (state.buffer.has(seq)) this.#hooks.duplicate(seq);
        else state.buffer.set(seq, event);
        return;
      case 'live':
        if (seq < state.next || state.held.has(seq)) {
          this.#hooks.duplicate(seq);
          return;
        }
        state.held.set(seq, event);
        this.#drain(state);
    }
  }

  /** Re-bases on the snapshot and delivers what was buffered after it, in order. */
  start(snapshotSeq: number): void {
    if (this.#state.phase !== 'buffering') return;
    const held = new Map([...this.#state.buffer].filter(([seq]) => seq > snapshotSeq));
    const live = { phase: 'live' as const, next: snapshotSeq + 1, held, gapTimer: undefined };
    this.#state = live;
    this.#drain(live);
  }

  stop(): void {
    if (this.#state.phase === 'live') clearTimeout(this.#state.gapTimer);
    this.#state = { phase: 'stopped' };
  }

  #drain(state: Extract<SequencerState, { phase: 'live' }>): void {
    for (;;) {
      const event = state.held.get(state.next);
      if (event === undefined) break;
      state.held.delete(state.next);
      const seq = state.next;
      state.next += 1;
      this.#hooks.deliver(event, seq);
      // A listener may have closed the driver (and so stopped this sequencer) meanwhile.
      if (this.#state !== state) return;
    }
    clearTimeout(state.gapTimer);
    state.gapTimer = undefined;
    if (state.held.size === 0) return;
    if (state.held.size > this.#options.maxHeld) {
      this.#skipGap(state);
      return;
    }
    state.gapTimer = setTimeout(() => this.#skipGap(state), this.#options.reorderWindowMs);
  }

  #skipGap(state: Extract<SequencerState, { phase: 'live' }>): void {
    if (this.#state !== state) return;
    const first = Math.min(...state.held.keys());
    this.#hooks.gapSkipped(state.next, first - 1);
    state.next = first;
    this.#drain(state);
  }
}
