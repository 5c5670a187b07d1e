/**
 * The live feed's timelines: each conference's latest entries, held within bounds an operator can
 * size memory from: at most TIMELINE_ENTRIES_MAX per conference, TIMELINES_MAX conferences, and
 * TIMELINE_ENTRIES_BUDGET entries across all of them. Over the budget, ended conferences' timelines
 * go first (the one that ended longest ago first); then the oldest entry of the longest timeline,
 * so under pressure every conference keeps its newest entries, about an equal share each, and a
 * busy conference trims its own history rather than a quiet one's.
 *
 * This runs several times per W2A command, so every step is O(1): a running total, the ended
 * conferences in the order they ended, and the timelines bucketed by length with the longest
 * length remembered (a timeline moves one bucket per entry; finding the longest is a lookup).
 */
import type { CallerRef, ConferenceChange, TimelineStep } from '../conference/observation.js';

/** Entries kept per conference; older ones are dropped first. */
export const TIMELINE_ENTRIES_MAX = 400;
/** Conferences with a timeline; an ended one, else the least recently started, is forgotten first. */
export const TIMELINES_MAX = 500;
/**
 * Entries kept across all conferences. A heap snapshot measured ~860 bytes an entry, so the
 * timelines hold at most 30,000 x 860 B = ~26 MB (~25 MiB) whatever the number of conferences,
 * where the per-conference cap alone allowed 500 x 400 x 860 B = ~172 MB. Shared by 500 busy
 * conferences that is still 60 entries each (about the last dozen commands with their bridge
 * work and A2W messages); up to 75 conferences keep all 400. Must be at least TIMELINES_MAX, so
 * every timeline keeps an entry.
 */
export const TIMELINE_ENTRIES_BUDGET = 30_000;

export interface TimelineEntry {
  extConfID: string;
  caller?: CallerRef;
  step: TimelineStep | { kind: 'change'; at: number; change: ConferenceChange };
}

/** Slots a new timeline starts with; it doubles as it fills (to 512 for a full one, 4 KiB). */
const SLOTS_INITIAL = 8;

/**
 * One conference's entries, oldest first, in a ring: `shift` copies the rest of an array under
 * 100 elements (a write barrier each: ~0.5 us a step at 60 entries, the usual length when 500
 * conferences share the budget, more than the whole step otherwise).
 */
class Timeline {
  /** Neighbours among the timelines of the same length (the buckets of Timelines). */
  prev: Timeline | undefined;
  next: Timeline | undefined;
  #slots: (TimelineEntry | undefined)[] = new Array<undefined>(SLOTS_INITIAL);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(entry: TimelineEntry): void {
    if (this.#length === this.#slots.length) {
      const slots: (TimelineEntry | undefined)[] = this.entries();
      slots.length = this.#length * 2;
      this.#slots = slots;
      this.#head = 0;
    }
    this.#slots[(this.#head + this.#length++) % this.#slots.length] = entry;
  }

  dropOldest(): void {
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#slots.length;
    this.#length--;
  }

  /** A copy: the caller cannot change what is kept. */
  entries(): TimelineEntry[] {
    const entries: TimelineEntry[] = [];
    for (let i = 0; i < this.#length; i++) entries.push(this.#slots[(this.#head + i) % this.#slots.length]!);
    return entries;
  }
}

function first<T>(items: Set<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}

export class Timelines {
  #byConf = new Map<string, Timeline>();
  /** ExtConfIDs of ended conferences that have a timeline, in the order they ended. */
  #ended = new Set<string>();
  /**
   * Buckets by length: `#heads[n]` to `#tails[n]`, linked by `next`, are the timelines holding n
   * entries, in the order they reached n. (Lists, not Sets: a Set finds its first element by
   * skipping the slots of deleted ones, hundreds of them in a bucket this busy.)
   */
  #heads: (Timeline | undefined)[] = [];
  #tails: (Timeline | undefined)[] = [];
  #longest = 0;
  #total = 0;

  /** Entries held across all conferences (never above TIMELINE_ENTRIES_BUDGET). */
  get total(): number {
    return this.#total;
  }

  /** A copy, oldest first. */
  entries(extConfID: string): TimelineEntry[] {
    return this.#byConf.get(extConfID)?.entries() ?? [];
  }

  record(entry: TimelineEntry): void {
    const id = entry.extConfID;
    let entries = this.#byConf.get(id);
    if (!entries) {
      if (this.#byConf.size >= TIMELINES_MAX) this.forget(first(this.#ended) ?? this.#byConf.keys().next().value!);
      this.#byConf.set(id, (entries = new Timeline()));
    }
    entries.push(entry);
    // One in, one out, when at the cap or (at the budget, with no ended timeline to drop) when
    // this is now the longest timeline: what eviction would choose, without moving it between
    // buckets; the usual step once the budget is reached.
    const atBudget = this.#total >= TIMELINE_ENTRIES_BUDGET && this.#ended.size === 0;
    if (entries.length > TIMELINE_ENTRIES_MAX || (atBudget && entries.length > this.#longest)) {
      entries.dropOldest();
      return;
    }
    this.#resized(entries, entries.length - 1, entries.length);
    while (this.#total > TIMELINE_ENTRIES_BUDGET) this.#evict();
  }

  /** The conference ended: its timeline is among the first to go when over budget. */
  ended(extConfID: string): void {
    if (this.#byConf.has(extConfID)) this.#ended.add(extConfID);
  }

  /** The ExtConfID is in use again (a re-created conference): its timeline is an active one. */
  reopened(extConfID: string): void {
    this.#ended.delete(extConfID);
  }

  forget(extConfID: string): void {
    const entries = this.#byConf.get(extConfID);
    if (!entries) return;
    this.#byConf.delete(extConfID);
    this.#ended.delete(extConfID);
    this.#resized(entries, entries.length, 0);
  }

  #evict(): void {
    const oldestEnded = first(this.#ended);
    if (oldestEnded !== undefined) {
      this.forget(oldestEnded);
      return;
    }
    const longest = this.#heads[this.#longest]!;
    longest.dropOldest();
    this.#resized(longest, longest.length + 1, longest.length);
  }

  /** Keeps the total and the length buckets in step with a timeline's new length. */
  #resized(timeline: Timeline, from: number, to: number): void {
    this.#total += to - from;
    if (from > 0) this.#unlink(timeline, from);
    if (to > 0) this.#append(timeline, to);
    if (to > this.#longest) this.#longest = to;
    // One step after an eviction; more only when a whole timeline is forgotten.
    while (this.#longest > 0 && !this.#heads[this.#longest]) this.#longest--;
  }

  #unlink(timeline: Timeline, length: number): void {
    const { prev, next } = timeline;
    if (prev) prev.next = next;
    else this.#heads[length] = next;
    if (next) next.prev = prev;
    else this.#tails[length] = prev;
    timeline.prev = timeline.next = undefined;
  }

  #append(timeline: Timeline, length: number): void {
    const tail = this.#tails[length];
    timeline.prev = tail;
    if (tail) tail.next = timeline;
    else this.#heads[length] = timeline;
    this.#tails[length] = timeline;
  }
}
