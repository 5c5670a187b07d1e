/**
 * The live feed's source on a cluster member, whose engines come and go: one is built at each
 * take-over and closed when the lease is lost or handed over, and a standby has none. The relay
 * passes on the events of the engines `current()` names, and tells its listeners when that set
 * changed, so the feed sends everyone a fresh snapshot (their bridges and conferences together;
 * an empty one on a standby).
 *
 * The cluster member announces no take-over event, so the relay looks at `current()` every
 * `pollMs`: a few pointer comparisons, nothing on the engine's hot path.
 */
import { TypedEmitter } from '../../common/typed-emitter.js';
import type { EngineEvents, EngineSnapshot } from '../conference/observation.js';
import type { FeedSource } from './live-feed.js';

/** How soon after a take-over or a step-down the console sees the new engine. */
export const RELAY_POLL_MS = 250;

/** An engine (or a stand-in emitting its observation events). */
type Watched = Omit<FeedSource, 'onReplaced'>;

export class EngineRelay extends TypedEmitter<EngineEvents> implements FeedSource {
  #current: () => readonly Watched[];
  #engines: readonly Watched[] = [];
  #replaced = new Set<() => void>();
  #timer: NodeJS.Timeout;

  constructor(current: () => readonly Watched[], pollMs = RELAY_POLL_MS) {
    super();
    this.#current = current;
    this.#follow(current());
    this.#timer = setInterval(() => this.#follow(this.#current()), pollMs);
    this.#timer.unref();
  }

  snapshot(): EngineSnapshot {
    const parts = this.#engines.map((e) => e.snapshot());
    return { at: Date.now(), bridges: parts.flatMap((p) => p.bridges), conferences: parts.flatMap((p) => p.conferences) };
  }

  onReplaced(listener: () => void): () => void {
    this.#replaced.add(listener);
    return () => this.#replaced.delete(listener);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#follow([]);
    this.#replaced.clear();
  }

  #follow(engines: readonly Watched[]): void {
    if (engines.length === this.#engines.length && engines.every((e, i) => e === this.#engines[i])) return;
    for (const gone of this.#engines) gone.off('conference', this.#onConference).off('bridge', this.#onBridge).off('step', this.#onStep);
    this.#engines = [...engines];
    for (const engine of engines) engine.on('conference', this.#onConference).on('bridge', this.#onBridge).on('step', this.#onStep);
    for (const listener of [...this.#replaced]) listener();
  }

  #onConference = (...args: EngineEvents['conference']): void => void this.emit('conference', ...args);
  #onBridge = (...args: EngineEvents['bridge']): void => void this.emit('bridge', ...args);
  #onStep = (...args: EngineEvents['step']): void => void this.emit('step', ...args);
}
