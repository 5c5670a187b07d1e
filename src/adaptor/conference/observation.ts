/**
 * What the engine lets operators watch (issue 5, live feed and console): conference and caller
 * changes, derived from the state the engine already commits by comparing a conference before
 * and after a change, and the steps of a command's or event's life for per-caller timelines.
 * Plain data only, computed only when something listens; nothing here changes state.
 */
import type { BridgeEventType, BridgeOp, LinkStatus, PortUsage } from '../../bridges/driver.js';
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import type { CallerState, ConferenceState, ConferenceStatus, DialingCaller, JoinedCaller, MuteBy } from './state.js';

/** The ids a caller may be known by; a step or change names those it has. */
export interface CallerRef {
  legId?: string;
  extCallID?: string;
  dialOutId?: string;
}

export type ConferenceChange =
  | { kind: 'created' }
  | { kind: 'status'; status: ConferenceStatus; was: ConferenceStatus }
  | { kind: 'callerJoined'; caller: CallerRef }
  | { kind: 'callerLeft'; caller: CallerRef }
  /** WebEx named a dial-in caller (W2A_RspNotifyUserEnter). */
  | { kind: 'callerNamed'; caller: CallerRef }
  | { kind: 'mute'; caller: CallerRef; muted: boolean; by: MuteBy }
  | { kind: 'speaking'; caller: CallerRef; speaking: boolean }
  | { kind: 'subConference'; caller: CallerRef; subConfId: number }
  /** `ended`: the dial-out stopped ringing without joining (busy, no answer, cancelled...). */
  | { kind: 'dialOut'; caller: CallerRef; state: 'ringing' | 'answered' | 'joined' | 'ended' };

/** A conference as just committed, and what changed in it. Read it; never change it. */
export interface ConferenceUpdate {
  conference: Readonly<ConferenceState>;
  changes: ConferenceChange[];
}

/** One step of a command's or event's life. `at` is ms since epoch. */
export type TimelineStep =
  | { kind: 'w2a'; at: number; transId: string; msgId: string; msgType: W2AMessage['type']; extConfID: string; extCallID?: string }
  | {
      kind: 'bridge-command';
      at: number;
      phase: 'sent' | 'done' | 'failed';
      bridgeId: string;
      op: BridgeOp;
      bridgeConfId?: string;
      port?: string;
      dialOutId?: string;
      /** BRIDGE_ERR_* when it failed. */
      code?: string;
      /** From sent to done or failed. */
      tookMs?: number;
    }
  | { kind: 'bridge-event'; at: number; bridgeId: string; bridgeConfId?: string; eventType: BridgeEventType; legId?: string; port?: string; dialOutId?: string; detail?: string }
  | {
      kind: 'a2w';
      at: number;
      phase: 'queued' | 'delivered' | 'retry' | 'dead-letter';
      transId: string;
      msgId: string;
      msgType: A2WMessage['type'];
      extConfID: string;
      extCallID?: string;
    };

/** A bridge as operators see it. */
export interface BridgeView {
  id: string;
  model: string;
  link: LinkStatus;
  /** As the bridge last reported; undefined before it reported any. */
  ports: PortUsage | undefined;
  /** Ports promised to open conferences (AttendeeCount, ringing dial-outs) but not yet taken. */
  promisedPorts: number;
  /** ms since epoch; 0 if none yet. */
  lastHeartbeatAt: number;
}

export interface EngineSnapshot {
  at: number;
  bridges: BridgeView[];
  /** Open conferences. */
  conferences: Readonly<ConferenceState>[];
}

export type EngineEvents = {
  conference: [ConferenceUpdate];
  bridge: [BridgeView];
  step: [TimelineStep];
};

export function callerRef(caller: CallerState): CallerRef {
  const ref: CallerRef = {};
  if (caller.phase === 'joined') ref.legId = caller.legId;
  if (caller.extCallID !== undefined) ref.extCallID = caller.extCallID;
  if (caller.phase !== 'departed' && caller.dialOutId !== undefined) ref.dialOutId = caller.dialOutId;
  return ref;
}

function joinedByLeg(conf: Readonly<ConferenceState> | undefined): Map<string, JoinedCaller> {
  const map = new Map<string, JoinedCaller>();
  for (const c of conf?.callers ?? []) if (c.phase === 'joined') map.set(c.legId, c);
  return map;
}

function dialingById(conf: Readonly<ConferenceState> | undefined): Map<string, DialingCaller> {
  const map = new Map<string, DialingCaller>();
  for (const c of conf?.callers ?? []) if (c.phase === 'dialing') map.set(c.dialOutId, c);
  return map;
}

/** What an operator would notice between two versions of a conference (none for a keep-alive). */
export function conferenceChanges(before: Readonly<ConferenceState> | undefined, after: Readonly<ConferenceState>): ConferenceChange[] {
  const changes: ConferenceChange[] = [];
  if (!before) changes.push({ kind: 'created' });
  else if (before.status !== after.status) changes.push({ kind: 'status', status: after.status, was: before.status });
  const wasDialing = dialingById(before);
  const isDialing = dialingById(after);
  const wasJoined = joinedByLeg(before);
  const isJoined = joinedByLeg(after);
  for (const [id, d] of isDialing) {
    const old = wasDialing.get(id);
    if (!old || old.state !== d.state) changes.push({ kind: 'dialOut', caller: callerRef(d), state: d.state });
  }
  for (const [leg, c] of isJoined) {
    const old = wasJoined.get(leg);
    if (!old) {
      if (c.dialOutId !== undefined && wasDialing.has(c.dialOutId)) changes.push({ kind: 'dialOut', caller: callerRef(c), state: 'joined' });
      changes.push({ kind: 'callerJoined', caller: callerRef(c) });
      continue;
    }
    if (old.extCallID === undefined && c.extCallID !== undefined) changes.push({ kind: 'callerNamed', caller: callerRef(c) });
    if (old.muted !== c.muted || old.mutedBy !== c.mutedBy) changes.push({ kind: 'mute', caller: callerRef(c), muted: c.muted, by: c.mutedBy });
    if (old.speaking !== c.speaking) changes.push({ kind: 'speaking', caller: callerRef(c), speaking: c.speaking });
    if (old.subConfId !== c.subConfId) changes.push({ kind: 'subConference', caller: callerRef(c), subConfId: c.subConfId });
  }
  for (const [leg, c] of wasJoined) if (!isJoined.has(leg)) changes.push({ kind: 'callerLeft', caller: callerRef(c) });
  for (const [id, d] of wasDialing) {
    const joined = [...isJoined.values()].some((c) => c.dialOutId === id);
    if (!isDialing.has(id) && !joined) changes.push({ kind: 'dialOut', caller: callerRef(d), state: 'ended' });
  }
  return changes;
}
