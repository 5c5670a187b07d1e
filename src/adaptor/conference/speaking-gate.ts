/**
 * Active speaker (issue 4): bridge talking events become Speaking changes only after holding
 * steady for the hold-off (a cough is not a speaker), and at most N changes per conference per
 * second; changes over the limit wait for the next free slot, the newest state of each caller
 * winning. Whether a change is real (a muted caller does not start speaking) is the `apply`
 * callback's decision; only real changes use up the rate.
 */
import type { Clock, TimerHandle } from '../clock.js';

const RATE_WINDOW_MS = 1_000;

export type SpeakingApply = (confId: string, legId: string, speaking: boolean) => boolean;

interface ConferenceGate {
  /** Raw talking state per leg, waiting out its hold-off. */
  holding: Map<string, { talking: boolean; timer: TimerHandle }>;
  /** Legs whose settled state waits for a free slot, oldest first. */
  waiting: Map<string, boolean>;
  /** When the last changes were applied, oldest first (at most N kept). */
  recent: number[];
  slotTimer?: TimerHandle;
}

export class SpeakingGate {
  #clock: Clock;
  #holdOffMs: number;
  #maxPerSecond: number;
  #apply: SpeakingApply;
  #conferences = new Map<string, ConferenceGate>();

  constructor(clock: Clock, holdOffMs: number, maxPerSecond: number, apply: SpeakingApply) {
    this.#clock = clock;
    this.#holdOffMs = holdOffMs;
    this.#maxPerSecond = Math.max(1, maxPerSecond);
    this.#apply = apply;
  }

  talking(confId: string, legId: string, talking: boolean): void {
    const gate = this.#gate(confId);
    gate.holding.get(legId)?.timer.cancel();
    const timer = this.#clock.setTimer(this.#holdOffMs, () => {
      gate.holding.delete(legId);
      gate.waiting.delete(legId);
      gate.waiting.set(legId, talking);
      this.#release(confId, gate);
    });
    gate.holding.set(legId, { talking, timer });
  }

  /** The caller left: nothing pending for it may be applied. */
  forgetCaller(confId: string, legId: string): void {
    const gate = this.#conferences.get(confId);
    if (!gate) return;
    gate.holding.get(legId)?.timer.cancel();
    gate.holding.delete(legId);
    gate.waiting.delete(legId);
  }

  forgetConference(confId: string): void {
    const gate = this.#conferences.get(confId);
    if (!gate) return;
    for (const h of gate.holding.values()) h.timer.cancel();
    gate.slotTimer?.cancel();
    this.#conferences.delete(confId);
  }

  close(): void {
    for (const confId of [...this.#conferences.keys()]) this.forgetConference(confId);
  }

  #gate(confId: string): ConferenceGate {
    let gate = this.#conferences.get(confId);
    if (!gate) this.#conferences.set(confId, (gate = { holding: new Map(), waiting: new Map(), recent: [] }));
    return gate;
  }

  #release(confId: string, gate: ConferenceGate): void {
    const now = this.#clock.now();
    gate.recent = gate.recent.filter((t) => now - t < RATE_WINDOW_MS);
    for (const [legId, speaking] of gate.waiting) {
      if (gate.recent.length >= this.#maxPerSecond) break;
      gate.waiting.delete(legId);
      if (this.#apply(confId, legId, speaking)) gate.recent.push(now);
    }
    if (gate.waiting.size > 0 && !gate.slotTimer) {
      gate.slotTimer = this.#clock.setTimer(gate.recent[0]! + RATE_WINDOW_MS - now, () => {
        delete gate.slotTimer;
        this.#release(confId, gate);
      });
    }
  }
}
