/**
 * A small typed event emitter shared by every layer.
 *
 * Why not node:events directly: event names and payloads are checked by the compiler, and a
 * listener that throws never breaks the emitter or the other listeners (a bug in one consumer
 * of bridge events must not stop the engine from hearing the next event). Listener errors go to
 * `onListenerError`, which owners point at their logger.
 */
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;
// Stored untyped; `on`/`emit` keep the event -> payload pairing checked.
type AnyListener = (...args: unknown[]) => void;

export class TypedEmitter<E extends EventMap> {
  #listeners = new Map<keyof E, Set<AnyListener>>();

  /** Where a throwing listener's error goes; owners replace it with a log call. */
  onListenerError: (event: string, err: unknown) => void = (event, err) => {
    process.emitWarning(`listener for '${event}' threw: ${String(err)}`);
  };

  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as AnyListener);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    const wrapped: Listener<E[K]> = (...args) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  off<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    this.#listeners.get(event)?.delete(listener as AnyListener);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Calls every listener; returns whether there was any. Never throws. */
  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        this.onListenerError(event, err);
      }
    }
    return true;
  }
}

/** Resolves with the first emission of `event`; for tests and start-up waits. */
export function nextEvent<E extends EventMap, K extends keyof E & string>(
  emitter: TypedEmitter<E>,
  event: K,
  predicate: (...args: E[K]) => boolean = () => true,
): Promise<E[K]> {
  return new Promise((resolve) => {
    const listener = (...args: E[K]): void => {
      if (!predicate(...args)) return;
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}
