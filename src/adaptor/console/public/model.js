// What the console knows, rebuilt from the feed: the snapshot replaces everything, deltas replace
// one bridge or one conference, steps extend the timelines the console has asked for.

/** Ended conferences stay on screen this long, greyed, then go. */
const ENDED_SHOWN_MS = 10 * 60_000;
const TIMELINE_MAX = 400;

export class Model {
  bridges = new Map();
  conferences = new Map();
  /** extConfID -> entries, only for conferences whose timeline was requested. */
  timelines = new Map();
  /** A cluster member's status (role, leases, peers, counters); null on a single instance. */
  cluster = null;
  lastMessageAt = 0;

  /** Applies one feed message; returns whether anything shown changed. */
  apply(msg) {
    this.lastMessageAt = msg.at;
    switch (msg.type) {
      case 'snapshot':
        this.bridges = new Map(msg.bridges.map((b) => [b.id, b]));
        this.conferences = new Map(msg.conferences.map((c) => [c.confId, c]));
        this.cluster = msg.cluster ?? null;
        return true;
      case 'cluster':
        this.cluster = msg.cluster;
        return true;
      case 'bridge':
        this.bridges.set(msg.bridge.id, msg.bridge);
        return true;
      case 'conference':
        this.conferences.set(msg.conference.confId, msg.conference);
        for (const change of msg.changes) {
          this.#append({ extConfID: msg.conference.extConfID, ...(change.caller ? { caller: change.caller } : {}), step: { kind: 'change', at: msg.at, change } });
        }
        this.#dropOldEnded(msg.at);
        return true;
      case 'step':
        this.#append(msg.entry);
        return this.timelines.has(msg.entry.extConfID);
      case 'timeline':
        this.timelines.set(msg.extConfID, msg.entries);
        return true;
      default:
        return false;
    }
  }

  /** Conferences to show: open first (newest activity first), then recently ended. */
  sortedConferences() {
    return [...this.conferences.values()].sort((a, b) =>
      (a.status === 'ended') - (b.status === 'ended') || (b.endedAt ?? b.lastActivityAt) - (a.endedAt ?? a.lastActivityAt));
  }

  #append(entry) {
    const list = this.timelines.get(entry.extConfID);
    if (!list) return;
    list.push(entry);
    if (list.length > TIMELINE_MAX) list.splice(0, list.length - TIMELINE_MAX);
  }

  #dropOldEnded(now) {
    for (const [id, c] of this.conferences) {
      if (c.status === 'ended' && now - (c.endedAt ?? now) > ENDED_SHOWN_MS) this.conferences.delete(id);
    }
  }
}

/** Whether a timeline entry is about `caller` (they share an id). */
export function isAbout(entry, caller) {
  const ref = entry.caller;
  if (!ref) return false;
  return (ref.legId !== undefined && ref.legId === caller.legId)
    || (ref.extCallID !== undefined && ref.extCallID === caller.extCallID)
    || (ref.dialOutId !== undefined && ref.dialOutId === caller.dialOutId);
}
