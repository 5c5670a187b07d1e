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
 * conferences that is still 60 entries each (a few minutes of a conference's life); up to 75
 * conferences keep all 400. Must be at least TIMELINES_MAX, so every timeline keeps an entry.
 */
export const TIMELINE_ENTRIES_BUDGET = 30_000;

export interface TimelineEntry {
  extConfID: string;
  caller?: CallerRef;
  step: TimelineStep | { kind: 'change'; at: number; change: ConferenceChange };
}

function first<T>(items: Set<T> | undefined): T | undefined {
  return items?.values().next().value;
}

export class Timelines {
  #byConf = new Map<string, TimelineEntry[]>();
  /** ExtConfIDs of ended conferences that have a timeline, in the order they ended. */
  #ended = new Set<string>();
  /** `#byLength[n]`: the ExtConfIDs whose timeline holds n entries, in the order they reached n. */
  #byLength: Set<string>[] = [];
  #longest = 0;
  #total = 0;

  /** Entries held across all conferences (never above TIMELINE_ENTRIES_BUDGET). */
  get total(): number {
    return this.#total;
  }

  /** Conferences with a timeline. */
  get size(): number {
    return this.#byConf.size;
  }

  entries(extConfID: string): readonly TimelineEntry[] {
    return this.#byConf.get(extConfID) ?? [];
  }

  record(entry: TimelineEntry): void {
    const id = entry.extConfID;
    let entries = this.#byConf.get(id);
    if (!entries) {
      if (this.#byConf.size >= TIMELINES_MAX) this.forget(first(this.#ended) ?? this.#byConf.keys().next().value!);
      this.#byConf.set(id, (entries = []));
    }
    entries.push(entry);
    // One in, one out: `shift` is O(1) on V8's arrays (it moves the start), where a `splice` of
    // the front copied the other 399 entries on every step of a full timeline (~2.8 us).
    if (entries.length > TIMELINE_ENTRIES_MAX) entries.shift();
    else this.#resized(id, entries.length - 1, entries.length);
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
    this.#resized(extConfID, entries.length, 0);
  }

  #evict(): void {
    const oldestEnded = first(this.#ended);
    if (oldestEnded !== undefined) {
      this.forget(oldestEnded);
      return;
    }
    const id = first(this.#byLength[this.#longest])!;
    const entries = this.#byConf.get(id)!;
    entries.shift();
    this.#resized(id, entries.length + 1, entries.length);
  }

  /** Keeps the total and the length buckets in step with a timeline's new length. */
  #resized(extConfID: string, from: number, to: number): void {
    this.#total += to - from;
    if (from > 0) this.#byLength[from]!.delete(extConfID);
    if (to > 0) (this.#byLength[to] ??= new Set()).add(extConfID);
    if (to > this.#longest) this.#longest = to;
    // One step after an eviction; more only when a whole timeline is forgotten.
    while (this.#longest > 0 && !this.#byLength[this.#longest]?.size) this.#longest--;
  }
}
