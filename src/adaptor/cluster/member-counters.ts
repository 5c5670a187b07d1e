/**
 * The engine counters of a cluster member, for the same `tsp_*` series a single instance
 * exports (metrics/engine-metrics.ts). A member builds an engine at each take-over and closes it
 * when the lease goes, each with counters of its own; a Prometheus counter must only grow for
 * the life of the process. So a closed engine's counts are folded into what the member keeps,
 * and a read is that plus the counts of the engines running now.
 */
import { EngineCounters } from '../counters.js';

type Counted = { readonly counters: EngineCounters; readonly state: string };

const MAPS = ['commands', 'corrections', 'unroutable', 'dialOutRefusals'] as const;
const NUMBERS = ['transIdRepeats', 'transactionsAccepted', 'commandsRecovered', 'outboxDelivered', 'outboxRetries', 'outboxPosts', 'outboxPostedMessages', 'deadLetters'] as const;

export class MemberCounters {
  /** What the engines closed so far counted. */
  #retired = new EngineCounters();
  #engines = new Set<Counted>();

  /** Counts `engine` from now on (called for every engine a take-over started). */
  add(engine: Counted): void {
    this.#engines.add(engine);
  }

  /** The member's totals now: a fresh object, read at scrape time. */
  read(): EngineCounters {
    for (const engine of this.#engines) {
      if (engine.state !== 'closed') continue;
      fold(this.#retired, engine.counters);
      this.#engines.delete(engine);
    }
    const total = new EngineCounters();
    fold(total, this.#retired);
    for (const engine of this.#engines) fold(total, engine.counters);
    return total;
  }

  /**
   * An EngineCounters whose every field reads the totals, for code that keeps the object and
   * reads its fields later (the metrics' collect callbacks).
   */
  view(): EngineCounters {
    const view = new EngineCounters();
    for (const key of [...MAPS, ...NUMBERS]) {
      Object.defineProperty(view, key, { get: () => this.read()[key], enumerable: true });
    }
    return view;
  }
}

function fold(into: EngineCounters, from: EngineCounters): void {
  for (const key of MAPS) {
    const map = into[key] as Map<string, number>;
    for (const [k, n] of from[key] as Map<string, number>) into.bump(map, k, n);
  }
  for (const key of NUMBERS) into[key] += from[key];
}
