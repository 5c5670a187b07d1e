/**
 * What the live feed knows: bridges, open and recently ended conferences (as views), and a
 * bounded timeline per conference. Engine steps name a conference by ExtConfID or by bridge
 * conference, and a caller by whatever id the step had (ExtCallID, port, leg, dial-out); this
 * resolves them against the current views so every entry carries all the caller's ids and the
 * console can pick one caller's entries out. Timelines are keyed by ExtConfID because a
 * W2A_CreateConference is seen before its conference exists. Everything here is bounded: the
 * timelines by live/timelines.ts, ended conferences by ENDED_CONFERENCES_KEPT, and open ones by
 * the engine's own conferences (each view is replaced, never added to).
 */
import type { BridgeView, CallerRef, ConferenceUpdate, EngineSnapshot, TimelineStep } from '../conference/observation.js';
import { Timelines, type TimelineEntry } from './timelines.js';
import { conferenceView, type CallerView, type ConferenceView } from './views.js';

/** Ended conferences still shown (greyed) after they end. */
export const ENDED_CONFERENCES_KEPT = 20;

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
  /** ConfIDs of the ended conferences still shown, in the order they ended. */
  #ended = new Set<string>();
  #timelines = new Timelines();

  /** Starts over from the engine's snapshot (timelines are kept). */
  reset(snapshot: EngineSnapshot): void {
    this.#bridges.clear();
    this.#conferences.clear();
    this.#byExtConfID.clear();
    this.#byBridgeConf.clear();
    this.#ended.clear();
    for (const b of snapshot.bridges) this.#bridges.set(b.id, b);
    for (const c of snapshot.conferences) this.#keep(conferenceView(c));
    const ended = [...this.#ended].map((id) => this.#conferences.get(id)!).sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    this.#ended = new Set(ended.map((c) => c.confId));
    this.#forgetOldEnded();
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
    // Recorded before the view is kept, so a conference first seen ended has a timeline to mark.
    for (const change of update.changes) {
      this.#timelines.record({ extConfID: view.extConfID, ...('caller' in change ? { caller: change.caller } : {}), step: { kind: 'change', at, change } });
    }
    this.#keep(view);
    this.#forgetOldEnded();
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
    this.#timelines.record(entry);
    // A2W deliveries after the end may start its timeline afresh: still an ended one's.
    if (conf?.status === 'ended') this.#timelines.ended(extConfID);
    return entry;
  }

  timeline(extConfID: string): TimelineEntry[] {
    return this.#timelines.entries(extConfID);
  }

  /** Timeline entries held across all conferences. */
  get timelineEntries(): number {
    return this.#timelines.total;
  }

  #conferenceOf(step: TimelineStep): ConferenceView | undefined {
    const id = 'extConfID' in step
      ? this.#byExtConfID.get(step.extConfID)
      : step.bridgeConfId === undefined ? undefined : this.#byBridgeConf.get(`${step.bridgeId} ${step.bridgeConfId}`);
    return id === undefined ? undefined : this.#conferences.get(id);
  }

  #keep(view: ConferenceView): void {
    const was = this.#conferences.get(view.confId)?.extConfID;
    // Re-created under a new ExtConfID: its entries go to the new one's timeline from now on, so
    // the former one's is history, among the first to go like an ended conference's.
    if (was !== undefined && was !== view.extConfID) this.#timelines.ended(was);
    this.#conferences.set(view.confId, view);
    this.#byExtConfID.set(view.extConfID, view.confId);
    if (view.bridgeConfId !== undefined) this.#byBridgeConf.set(`${view.bridgeId} ${view.bridgeConfId}`, view.confId);
    if (view.status === 'ended') {
      this.#ended.add(view.confId);
      this.#timelines.ended(view.extConfID);
    } else {
      this.#ended.delete(view.confId);
      this.#timelines.reopened(view.extConfID);
    }
  }

  #forgetOldEnded(): void {
    while (this.#ended.size > ENDED_CONFERENCES_KEPT) {
      const old = this.#conferences.get(this.#ended.values().next().value!)!;
      this.#ended.delete(old.confId);
      this.#conferences.delete(old.confId);
      if (old.bridgeConfId !== undefined) this.#byBridgeConf.delete(`${old.bridgeId} ${old.bridgeConfId}`);
      // Unless a newer conference took over the ExtConfID (and with it the timeline).
      if (this.#byExtConfID.get(old.extConfID) !== old.confId) continue;
      this.#byExtConfID.delete(old.extConfID);
      this.#timelines.forget(old.extConfID);
    }
  }
}
