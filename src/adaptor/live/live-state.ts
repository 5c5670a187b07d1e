/**
 * What the live feed knows: bridges, open and recently ended conferences (as views), and a
 * bounded timeline per conference. Engine steps name a conference by ExtConfID or by bridge
 * conference, and a caller by whatever id the step had (ExtCallID, port, leg, dial-out); this
 * resolves them against the current views so every entry carries all the caller's ids and the
 * console can pick one caller's entries out. Timelines are keyed by ExtConfID because a
 * W2A_CreateConference is seen before its conference exists. Everything here is bounded.
 */
import type { BridgeView, CallerRef, ConferenceChange, ConferenceUpdate, EngineSnapshot, TimelineStep } from '../conference/observation.js';
import { conferenceView, type CallerView, type ConferenceView } from './views.js';

/** Entries kept per conference; older ones are dropped first. */
export const TIMELINE_ENTRIES_MAX = 400;
/** Conferences with a timeline; the least recently started is forgotten first. */
export const TIMELINES_MAX = 500;
/** Ended conferences still shown (greyed) after they end. */
export const ENDED_CONFERENCES_KEPT = 20;

export interface TimelineEntry {
  extConfID: string;
  caller?: CallerRef;
  step: TimelineStep | { kind: 'change'; at: number; change: ConferenceChange };
}

export interface LiveSnapshot {
  bridges: BridgeView[];
  conferences: ConferenceView[];
}

function refOf(c: CallerView): CallerRef {
  const ref: CallerRef = {};
  if (c.phase === 'joined') ref.legId = c.legId;
  if (c.extCallID !== undefined) ref.extCallID = c.extCallID;
  if (c.dialOutId !== undefined) ref.dialOutId = c.dialOutId;
  return ref;
}

/** The ids a step itself carries, for a caller the views do not (yet, or any longer) have. */
function stepRef(step: TimelineStep): CallerRef | undefined {
  const ref: CallerRef = {};
  if ('legId' in step && step.legId !== undefined) ref.legId = step.legId;
  if ('extCallID' in step && step.extCallID) ref.extCallID = step.extCallID;
  if ('dialOutId' in step && step.dialOutId !== undefined) ref.dialOutId = step.dialOutId;
  return Object.keys(ref).length > 0 ? ref : undefined;
}

function findCaller(conf: ConferenceView, step: TimelineStep): CallerView | undefined {
  return conf.callers.find((c) => {
    if ('legId' in step && step.legId !== undefined) return c.phase === 'joined' && c.legId === step.legId;
    if ('port' in step && step.port !== undefined) return c.phase === 'joined' && c.port === step.port;
    if ('dialOutId' in step && step.dialOutId !== undefined) return c.dialOutId === step.dialOutId;
    if ('extCallID' in step && step.extCallID) return c.extCallID === step.extCallID;
    // A2W_NotifyUserEnter and its answer name an unnamed caller by the MsgID only.
    return 'msgId' in step && c.phase === 'joined' && c.enterMsgID === step.msgId;
  });
}

export class LiveState {
  #bridges = new Map<string, BridgeView>();
  #conferences = new Map<string, ConferenceView>();
  #byExtConfID = new Map<string, string>();
  #byBridgeConf = new Map<string, string>();
  #timelines = new Map<string, TimelineEntry[]>();

  /** Starts over from the engine's snapshot (timelines are kept). */
  reset(snapshot: EngineSnapshot): void {
    this.#bridges.clear();
    this.#conferences.clear();
    this.#byExtConfID.clear();
    this.#byBridgeConf.clear();
    for (const b of snapshot.bridges) this.#bridges.set(b.id, b);
    for (const c of snapshot.conferences) this.#keep(conferenceView(c));
  }

  snapshot(): LiveSnapshot {
    return { bridges: [...this.#bridges.values()], conferences: [...this.#conferences.values()] };
  }

  bridge(view: BridgeView): void {
    this.#bridges.set(view.id, view);
  }

  /** Keeps the new view and records its changes on the timeline. */
  conference(update: ConferenceUpdate, at: number): ConferenceView {
    const view = conferenceView(update.conference);
    this.#keep(view);
    for (const change of update.changes) {
      this.#record({ extConfID: view.extConfID, ...('caller' in change ? { caller: change.caller } : {}), step: { kind: 'change', at, change } });
    }
    if (view.status === 'ended') this.#forgetOldEnded();
    return view;
  }

  /** Resolves a step to its conference and caller, records it, and returns it (undefined: no conference). */
  step(step: TimelineStep): TimelineEntry | undefined {
    const conf = this.#conferenceOf(step);
    const extConfID = conf?.extConfID ?? ('extConfID' in step ? step.extConfID : undefined);
    if (!extConfID) return undefined;
    const caller = conf && findCaller(conf, step);
    const ref = caller ? refOf(caller) : stepRef(step);
    const entry: TimelineEntry = { extConfID, step };
    if (ref) entry.caller = ref;
    this.#record(entry);
    return entry;
  }

  timeline(extConfID: string): TimelineEntry[] {
    return [...(this.#timelines.get(extConfID) ?? [])];
  }

  #conferenceOf(step: TimelineStep): ConferenceView | undefined {
    const id = 'extConfID' in step
      ? this.#byExtConfID.get(step.extConfID)
      : step.bridgeConfId === undefined ? undefined : this.#byBridgeConf.get(`${step.bridgeId} ${step.bridgeConfId}`);
    return id === undefined ? undefined : this.#conferences.get(id);
  }

  #keep(view: ConferenceView): void {
    this.#conferences.set(view.confId, view);
    this.#byExtConfID.set(view.extConfID, view.confId);
    if (view.bridgeConfId !== undefined) this.#byBridgeConf.set(`${view.bridgeId} ${view.bridgeConfId}`, view.confId);
  }

  #record(entry: TimelineEntry): void {
    let entries = this.#timelines.get(entry.extConfID);
    if (!entries) {
      if (this.#timelines.size >= TIMELINES_MAX) this.#timelines.delete(this.#timelines.keys().next().value!);
      this.#timelines.set(entry.extConfID, (entries = []));
    }
    entries.push(entry);
    // One in, one out: `shift` is O(1) on V8's arrays (it moves the start), where a `splice` of
    // the front copied the other 399 entries on every step of a full timeline (~2.8 us).
    if (entries.length > TIMELINE_ENTRIES_MAX) entries.shift();
  }

  #forgetOldEnded(): void {
    const ended = [...this.#conferences.values()].filter((c) => c.status === 'ended').sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    for (const old of ended.slice(0, Math.max(0, ended.length - ENDED_CONFERENCES_KEPT))) {
      this.#conferences.delete(old.confId);
      if (this.#byExtConfID.get(old.extConfID) === old.confId) this.#byExtConfID.delete(old.extConfID);
      if (old.bridgeConfId !== undefined) this.#byBridgeConf.delete(`${old.bridgeId} ${old.bridgeConfId}`);
      this.#timelines.delete(old.extConfID);
    }
  }
}
