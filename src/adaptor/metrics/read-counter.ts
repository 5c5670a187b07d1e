/**
 * A Prometheus counter whose value is read at scrape time from a number something else keeps
 * (the engine's EngineCounters, a driver's LinkHealth), so the hot path pays nothing for it.
 * prom-client has no "set" on counters; each collect replaces the series with the values read.
 * The sources are monotonic for the life of the process, as a counter must be.
 */
import { Counter, type Registry } from 'prom-client';

export type LabelValues<L extends string> = Record<L, string>;

export interface ReadCounterOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registry: Registry;
  read: () => Iterable<readonly [LabelValues<L>, number]>;
}

export function readCounter<L extends string>(options: ReadCounterOptions<L>): Counter<L> {
  const { read } = options;
  return new Counter<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labelNames,
    registers: [options.registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** `W2A_MuteUser:0` -> [['W2A_MuteUser', '0'], n]: the composite keys EngineCounters uses. */
export function* splitKeys(map: ReadonlyMap<string, number>): Iterable<readonly [[string, string], number]> {
  for (const [key, value] of map) {
    const at = key.lastIndexOf(':');
    yield [[key.slice(0, at), key.slice(at + 1)], value];
  }
}
