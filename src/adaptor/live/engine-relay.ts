/**
 * The live feed's source on a cluster member, whose engine comes and goes: one is built at each
 * take-over and closed when the lease is lost or handed over, and a standby has none. The relay
 * passes on the events of whichever engine `current()` names, and tells its listeners when that
 * engine changed, so the feed sends everyone a fresh snapshot (an empty one on a standby).
 *
 * The cluster member announces no take-over event, so the relay looks at `current()` every
 * `pollMs`: a pointer comparison, nothing on the engine's hot path.
 */
import { TypedEmitter } from '../../common/typed-emitter.js';
import type { EngineEvents, EngineSnapshot } from '../conference/observation.js';
import type { Engine } from '../engine.js';
import type { FeedSource } from './live-feed.js';

/** How soon after a take-over or a step-down the console sees the new engine. */
export const RELAY_POLL_MS = 250;

type Watched = Pick<Engine, 'on' | 'off' | 'snapshot'>;

export class EngineRelay extends TypedEmitter<EngineEvents> implements FeedSource {
  #current: () => Watched | undefined;
  #engine: Watched | undefined;
  #replaced = new Set<() => void>();
  #timer: NodeJS.Timeout;

  constructor(current: () => Watched | undefined, pollMs = RELAY_POLL_MS) {
    super();
    this.#current = current;
    this.#follow(current());
    this.#timer = setInterval(() => this.#follow(this.#current()), pollMs);
    this.#timer.unref();
  }

  snapshot(): EngineSnapshot {
    return this.#engine?.snapshot() ?? { at: Date.now(), bridges: [], conferences: [] };
  }

  onReplaced(listener: () => void): () => void {
    this.#replaced.add(listener);
    return () => this.#replaced.delete(listener);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#follow(undefined);
    this.#replaced.clear();
  }

  #follow(engine: Watched | undefined): void {
    if (engine === this.#engine) return;
    this.#engine?.off('conference', this.#onConference).off('bridge', this.#onBridge).off('step', this.#onStep);
    this.#engine = engine;
    engine?.on('conference', this.#onConference).on('bridge', this.#onBridge).on('step', this.#onStep);
    for (const listener of [...this.#replaced]) listener();
  }

  #onConference = (...args: EngineEvents['conference']): void => void this.emit('conference', ...args);
  #onBridge = (...args: EngineEvents['bridge']): void => void this.emit('bridge', ...args);
  #onStep = (...args: EngineEvents['step']): void => void this.emit('step', ...args);
}
