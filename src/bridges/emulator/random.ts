/**
 * Seeded randomness for the emulator: dial-out odds and generated traffic repeat exactly for a
 * given seed, so a failing test or benchmark run can be replayed.
 */

/** Returns a float in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough to pick outcomes and callers. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Picks a key with probability proportional to its weight; weights must not all be zero. */
export function pickWeighted<K extends string>(random: Random, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, w]) => sum + Math.max(0, w), 0);
  let r = random() * total;
  for (const [key, w] of entries) {
    r -= Math.max(0, w);
    if (r < 0) return key;
  }
  // Only reached through rounding at the top of the range: the last positive weight wins.
  return entries.filter(([, w]) => w > 0).at(-1)![0];
}

/** A uniformly chosen element of a non-empty array. */
export function pickOne<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
