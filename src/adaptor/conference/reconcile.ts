/**
 * Keeping the bridge and WebEx in step (issue 4): compares one bridge's snapshot with the
 * engine's conferences on that bridge. What the bridge lost (lock, mute-all policy, a mute the
 * engine ordered) is re-applied; what WebEx missed (joins, leaves, keypad mutes, sub-conference
 * moves, dial-out outcomes while the link was down) is reported, by replaying it as the bridge
 * events that were missed. Also: which bridge conferences are orphans, and which of ours the
 * bridge no longer has. Every correction is named, to be counted.
 */
import type { BridgeCommand, BridgeEvent, BridgeSnapshot, SnapshotConference } from '../../bridges/driver.js';
import type { CorrectionKind } from '../counters.js';
import { effects, type Effects, type TransitionContext } from './effects.js';
import { applyBridgeEvent } from './events.js';
import { isJoined, type ConferenceState, type DialingCaller } from './state.js';

export interface Correction {
  kind: CorrectionKind;
  confId: string;
  /** Stable description, so the same discrepancy seen twice can be recognised. */
  key: string;
  /** Applies the correction to the conference (a copy) and returns what it causes. */
  apply(conf: ConferenceState, ctx: TransitionContext): Effects;
}

export interface Reconciliation {
  corrections: Correction[];
  /** Our conferences the bridge no longer has. */
  lost: ConferenceState[];
  /** Bridge conferences the engine has no record of. */
  orphans: SnapshotConference[];
}

function replay(event: BridgeEvent): Correction['apply'] {
  return (conf, ctx) => applyBridgeEvent(conf, event, ctx);
}

function reapply(conf: ConferenceState, command: BridgeCommand): Correction['apply'] {
  return (c) => effects({ followUps: [{ bridgeId: conf.bridgeId, command }] , conferences: [c] });
}

function compare(conf: ConferenceState, bridge: SnapshotConference): Correction[] {
  const out: Correction[] = [];
  const bridgeConfId = bridge.bridgeConfId;
  const add = (kind: CorrectionKind, detail: string, apply: Correction['apply']): void => {
    out.push({ kind, confId: conf.confId, key: `${conf.confId}/${kind}/${detail}`, apply });
  };

  const locked = conf.status === 'locked';
  if (bridge.locked !== locked) {
    add('lock-reapplied', String(locked), reapply(conf, { op: 'lockConference', bridgeConfId, locked }));
  }
  const policy = conf.muteAll;
  if (policy && (bridge.muteAll?.muted !== policy.muted || bridge.muteAll.applyToNewCallers !== policy.applyToNewCallers)) {
    const command: BridgeCommand = { op: 'muteAll', bridgeConfId, muted: policy.muted, applyToNewCallers: policy.applyToNewCallers };
    const except = conf.callers.find((c) => isJoined(c) && c.extCallID !== undefined && c.extCallID === policy.exceptExtCallID);
    if (except && isJoined(except)) command.exceptPort = except.port;
    add('mute-all-reapplied', `${policy.muted}/${policy.applyToNewCallers}`, reapply(conf, command));
  }

  const onBridge = new Map(bridge.callers.map((c) => [c.legId, c]));
  for (const caller of conf.callers.filter(isJoined)) {
    const seen = onBridge.get(caller.legId);
    if (!seen) {
      add('caller-left-unreported', caller.legId,
        replay({ type: 'callerLeft', bridgeConfId, port: caller.port, legId: caller.legId, reason: 'dropped' }));
      continue;
    }
    if (seen.muted !== caller.muted) {
      if (seen.mutedBy === 'command') {
        add('mute-reapplied', `${caller.legId}/${caller.muted}`,
          reapply(conf, { op: 'mute', bridgeConfId, port: caller.port, muted: caller.muted }));
      } else {
        add('mute-reported', `${caller.legId}/${seen.muted}`,
          replay({ type: 'muteChanged', bridgeConfId, port: seen.port, legId: seen.legId, muted: seen.muted, by: seen.mutedBy }));
      }
    }
    if (seen.subConfId !== caller.subConfId) {
      add('sub-conference-reported', `${caller.legId}/${seen.subConfId}`,
        replay({ type: 'subConferenceChanged', bridgeConfId, port: seen.port, legId: seen.legId, subConfId: seen.subConfId }));
    }
  }
  const known = new Set(conf.callers.filter(isJoined).map((c) => c.legId));
  const dialing = conf.callers.filter((c): c is DialingCaller => c.phase === 'dialing');
  for (const seen of bridge.callers) {
    if (known.has(seen.legId)) continue;
    const kind = dialing.some((d) => d.dialOutId === seen.dialOutId) ? 'dial-out-joined-unreported' : 'caller-joined-unreported';
    const event: BridgeEvent = {
      type: 'callerJoined', bridgeConfId, port: seen.port, legId: seen.legId, muted: seen.muted, subConfId: seen.subConfId,
    };
    if (seen.callerId !== undefined) event.callerId = seen.callerId;
    if (seen.dialledNumber !== undefined) event.dialledNumber = seen.dialledNumber;
    if (seen.name !== undefined) event.name = seen.name;
    if (seen.dialOutId !== undefined) event.dialOutId = seen.dialOutId;
    add(kind, seen.legId, replay(event));
  }
  for (const d of dialing) {
    if (bridge.callers.some((c) => c.dialOutId === d.dialOutId)) continue;
    const pending = bridge.dialOuts.find((x) => x.dialOutId === d.dialOutId);
    if (pending && (pending.state === 'ringing' || (pending.state === 'answered' && d.state === 'answered'))) continue;
    // Gone from the bridge without an outcome we heard: reported as the bridge's failure.
    const state = pending?.state ?? 'failed';
    add('dial-out-outcome-lost', `${d.dialOutId}/${state}`, replay({ type: 'dialOut', bridgeConfId, dialOutId: d.dialOutId, state }));
  }
  return out;
}

/** `confs`: the engine's open conferences on the snapshot's bridge. */
export function reconcile(confs: readonly ConferenceState[], snapshot: BridgeSnapshot): Reconciliation {
  const byId = new Map(snapshot.conferences.map((c) => [c.bridgeConfId, c]));
  const creatingKeys = new Set(confs.filter((c) => c.status === 'creating').map((c) => c.confKey));
  const ours = new Set<string>();
  const result: Reconciliation = { corrections: [], lost: [], orphans: [] };
  for (const conf of confs) {
    if (conf.bridgeConfId === undefined || conf.status === 'ended' || conf.status === 'creating') continue;
    ours.add(conf.bridgeConfId);
    const bridge = byId.get(conf.bridgeConfId);
    if (bridge) result.corrections.push(...compare(conf, bridge));
    else result.lost.push(conf);
  }
  // A conference a crashed create may have made is claimed by that create's recovery, not here.
  result.orphans = snapshot.conferences.filter((c) => !ours.has(c.bridgeConfId) && !creatingKeys.has(c.options.confKey));
  return result;
}

/**
 * After a crash: did this command, possibly sent before it, take effect on the bridge? If so,
 * the reply it would have had (read from the snapshot). Set-to-value commands count as done when
 * the bridge already shows the value, so nothing is sent twice.
 */
export function replyFromSnapshot(snapshot: BridgeSnapshot, command: BridgeCommand): { reply: unknown } | undefined {
  if (command.op === 'createConference') {
    const found = snapshot.conferences.find((c) => c.options.confKey === command.options.confKey);
    return found ? { reply: { bridgeConfId: found.bridgeConfId } } : undefined;
  }
  return tookEffect(snapshot, command) ? { reply: undefined } : undefined;
}

function tookEffect(snapshot: BridgeSnapshot, command: Exclude<BridgeCommand, { op: 'createConference' }>): boolean {
  if (command.op === 'snapshot') return false;
  const conf = snapshot.conferences.find((c) => c.bridgeConfId === command.bridgeConfId);
  if (command.op === 'endConference') return !conf;
  if (!conf) return false;
  const onPort = (port: string | undefined) => conf.callers.find((c) => c.port === port);
  switch (command.op) {
    case 'lockConference':
      return conf.locked === command.locked;
    case 'mute':
      return onPort(command.port)?.muted === command.muted;
    case 'muteAll':
      return conf.muteAll?.muted === command.muted && conf.muteAll.applyToNewCallers === command.applyToNewCallers;
    case 'expel':
      return !onPort(command.port);
    case 'dialOut':
      return conf.dialOuts.some((d) => d.dialOutId === command.dialOutId) || conf.callers.some((c) => c.dialOutId === command.dialOutId);
    case 'cancelDialOut':
      return !conf.dialOuts.some((d) => d.dialOutId === command.dialOutId && d.state === 'ringing');
    case 'moveToSubConference':
      return onPort(command.port)?.subConfId === command.subConfId;
    case 'playTone':
    case 'passthrough':
      // Leaves no trace to check: not repeated (at most once).
      return true;
  }
}
