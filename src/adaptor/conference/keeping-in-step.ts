/**
 * The imperative side of keeping the bridge and WebEx in step: runs `reconcile` on every resync
 * and periodically, applies the corrections and counts them by kind, re-creates conferences a
 * bridge lost, ends or adopts orphans, and ends idle conferences (keep-alive cleanup).
 *
 * A resync snapshot is exact (the driver delivers no event it already reflects), so it is acted
 * on at once. A periodic snapshot can race with events in flight, so a discrepancy is acted on
 * only when the next periodic round sees it again. Conferences with a command queued or running
 * are left for a later round: after a resync or recovery, the round after their queue is through.
 */
import type { Logger } from 'pino';
import type { BridgeCommand, BridgeSnapshot, SnapshotConference } from '../../bridges/driver.js';
import { isBridgeError } from '../../bridges/errors.js';
import type { CorrectionKind, EngineCounters } from '../counters.js';
import type { OrphanPolicy } from '../options.js';
import { effects, type Effects, type TransitionContext } from './effects.js';
import { applyBridgeEvent, conferenceEnded } from './events.js';
import { reconcile } from './reconcile.js';
import type { ConferenceRegistry } from './registry.js';
import type { ConferenceState, JoinedCaller } from './state.js';

export interface KeepingInStepDeps {
  registry: ConferenceRegistry;
  counters: EngineCounters;
  logger: Logger;
  orphanPolicy: OrphanPolicy;
  context(): TransitionContext;
  isBusy(conf: ConferenceState): boolean;
  commit(e: Effects): Promise<void>;
  execute<R>(bridgeId: string, command: BridgeCommand): Promise<R>;
  enqueue(conf: ConferenceState, task: () => Promise<void>): Promise<void>;
}

export type ReconcileMode = 'resync' | 'periodic' | 'after-recovery';

/** Looks after a resync or recovery, while conferences keep being busy with commands. */
const EXACT_ROUNDS_MAX = 10;

export class KeepingInStep {
  #deps: KeepingInStepDeps;
  /** Discrepancies seen by the last periodic round, per bridge. */
  #seen = new Map<string, Set<string>>();

  constructor(deps: KeepingInStepDeps) {
    this.#deps = deps;
  }

  async reconcileAll(bridgeIds: readonly string[], mode: ReconcileMode): Promise<void> {
    await Promise.all(bridgeIds.map(async (bridgeId) => {
      const snapshot = await this.#snapshot(bridgeId);
      if (snapshot) await this.reconcile(bridgeId, snapshot, mode);
    }));
  }

  async reconcile(bridgeId: string, snapshot: BridgeSnapshot, mode: ReconcileMode): Promise<void> {
    let waiting = await this.#apply(bridgeId, snapshot, mode);
    // After a resync or a recovery the next periodic round may be minutes away, and what
    // happened while nobody watched (callers who joined, a dial-out answered) is only in the
    // snapshot: once the conferences that were busy are through their queues, look again.
    for (let round = 1; waiting.length > 0 && mode !== 'periodic' && round < EXACT_ROUNDS_MAX; round++) {
      await Promise.all(waiting.map((conf) => this.#deps.enqueue(conf, async () => {})));
      const again = await this.#snapshot(bridgeId);
      if (!again) return;
      waiting = await this.#apply(bridgeId, again, mode);
    }
  }

  async #snapshot(bridgeId: string): Promise<BridgeSnapshot | undefined> {
    try {
      return await this.#deps.execute<BridgeSnapshot>(bridgeId, { op: 'snapshot' });
    } catch (err) {
      this.#deps.logger.debug({ err, bridge: bridgeId }, 'no snapshot: bridge not reachable; checked after it reconnects');
      return undefined;
    }
  }

  /** Applies what `snapshot` shows; resolves with the conferences left for later because they were busy. */
  async #apply(bridgeId: string, snapshot: BridgeSnapshot, mode: ReconcileMode): Promise<ConferenceState[]> {
    const { registry, logger } = this.#deps;
    const result = reconcile(registry.open(bridgeId), snapshot);
    const previous = this.#seen.get(bridgeId) ?? new Set<string>();
    const seen = new Set<string>();
    const confirmed = (key: string): boolean => {
      if (mode !== 'periodic') return true;
      seen.add(key);
      return previous.has(key);
    };
    const commits: Promise<void>[] = [];
    const waiting = new Map<string, ConferenceState>();
    for (const correction of result.corrections) {
      const conf = registry.get(correction.confId);
      if (!conf || !confirmed(correction.key)) continue;
      if (this.#deps.isBusy(conf)) {
        waiting.set(conf.confId, conf);
        continue;
      }
      this.#count(correction.kind);
      logger.info({ bridge: bridgeId, ExtConfID: conf.extConfID, kind: correction.kind, mode }, 'correcting a difference between bridge and engine');
      commits.push(this.#deps.commit(correction.apply(registry.copy(conf), this.#deps.context())));
    }
    for (const conf of result.lost) {
      if (this.#deps.isBusy(conf) || !confirmed(`lost/${conf.confId}`)) continue;
      this.#count('conference-lost');
      logger.warn({ bridge: bridgeId, ExtConfID: conf.extConfID, mode }, 'the bridge lost a conference; creating it again');
      commits.push(this.#deps.enqueue(conf, () => this.#recreate(conf.confId)));
    }
    for (const orphan of result.orphans) {
      if (!confirmed(`orphan/${orphan.bridgeConfId}`)) continue;
      commits.push(this.#orphan(bridgeId, orphan));
    }
    if (mode === 'periodic') this.#seen.set(bridgeId, seen);
    await Promise.allSettled(commits);
    return [...waiting.values()];
  }

  /** Keep-alive cleanup (spec 3.1): ended on the bridge and at WebEx with Status 3. */
  endIdle(conf: ConferenceState): Promise<void> {
    return this.#deps.enqueue(conf, async () => {
      const now = this.#deps.registry.get(conf.confId);
      if (!now || now.status === 'ended' || now.callers.length > 0 || now.bridgeConfId === undefined) return;
      try {
        await this.#deps.execute(now.bridgeId, { op: 'endConference', bridgeConfId: now.bridgeConfId });
      } catch (err) {
        if (!isBridgeError(err, 'BRIDGE_ERR_CONF_NOT_FOUND')) {
          this.#deps.logger.warn({ err, ExtConfID: now.extConfID }, 'could not end an idle conference; tried again at the next sweep');
          return;
        }
      }
      await this.#deps.commit(conferenceEnded(this.#deps.registry.copy(now), this.#deps.context()));
    });
  }

  #count(kind: CorrectionKind): void {
    this.#deps.counters.bump(this.#deps.counters.corrections, kind);
  }

  /**
   * The bridge lost the conference (restarted without its state): create it again with the same
   * key so callers can dial back in, report its callers as dropped, fail its ringing dial-outs,
   * and put back its lock and mute-all policy.
   */
  async #recreate(confId: string): Promise<void> {
    const { registry, context } = this.#deps;
    const now = registry.get(confId);
    if (!now || now.status === 'ended' || now.status === 'creating') return;
    const conf = registry.copy(now);
    const ctx = context();
    let bridgeConfId: string;
    try {
      ({ bridgeConfId } = await this.#deps.execute<{ bridgeConfId: string }>(conf.bridgeId, {
        op: 'createConference',
        options: { confKey: conf.confKey, entryTone: conf.entryTone, silentJoin: conf.silentJoin, muteOnEntry: conf.muteOnEntry },
      }));
    } catch (err) {
      this.#deps.logger.warn({ err, ExtConfID: conf.extConfID }, 'could not create a lost conference again; ending it');
      await this.#deps.commit(conferenceEnded(conf, ctx));
      return;
    }
    const oldBridgeConfId = conf.bridgeConfId!;
    let all = effects();
    for (const caller of [...conf.callers]) {
      if (caller.phase === 'joined') {
        all = merge(all, applyBridgeEvent(conf, { type: 'callerLeft', bridgeConfId: oldBridgeConfId, port: caller.port, legId: caller.legId, reason: 'dropped' }, ctx));
      } else if (caller.phase === 'dialing') {
        all = merge(all, applyBridgeEvent(conf, { type: 'dialOut', bridgeConfId: oldBridgeConfId, dialOutId: caller.dialOutId, state: 'failed' }, ctx));
      }
    }
    conf.bridgeConfId = bridgeConfId;
    all.conferences = [conf];
    if (conf.status === 'locked') all.followUps.push({ bridgeId: conf.bridgeId, command: { op: 'lockConference', bridgeConfId, locked: true } });
    if (conf.muteAll) {
      all.followUps.push({ bridgeId: conf.bridgeId, command: { op: 'muteAll', bridgeConfId, muted: conf.muteAll.muted, applyToNewCallers: conf.muteAll.applyToNewCallers } });
    }
    await this.#deps.commit(all);
  }

  async #orphan(bridgeId: string, orphan: SnapshotConference): Promise<void> {
    const { logger, registry } = this.#deps;
    if (this.#deps.orphanPolicy === 'end') {
      this.#count('orphan-ended');
      logger.warn({ bridge: bridgeId, bridgeConfId: orphan.bridgeConfId, confKey: orphan.options.confKey }, 'ending a bridge conference the engine has no record of');
      try {
        await this.#deps.execute(bridgeId, { op: 'endConference', bridgeConfId: orphan.bridgeConfId });
      } catch (err) {
        logger.warn({ err, bridgeConfId: orphan.bridgeConfId }, 'could not end an orphan conference; tried again at the next round');
      }
      return;
    }
    if (registry.liveByConfKey(orphan.options.confKey)) return;
    this.#count('orphan-adopted');
    logger.warn({ bridge: bridgeId, bridgeConfId: orphan.bridgeConfId, confKey: orphan.options.confKey },
      'adopting a bridge conference the engine has no record of; a W2A_CreateConference with its key re-attaches it');
    await this.#deps.commit(effects({ conferences: [adopted(bridgeId, orphan, this.#deps.context())] }));
  }
}

/**
 * An orphan taken over as a conference of ours. It has no ExtConfID or WebEx URL until a
 * W2A_CreateConference with its key re-attaches it; until then its callers are unnamed, so
 * what happens to them is held.
 */
function adopted(bridgeId: string, orphan: SnapshotConference, ctx: TransitionContext): ConferenceState {
  const callers: JoinedCaller[] = orphan.callers.map((c) => {
    const caller: JoinedCaller = {
      phase: 'joined', extCallID: undefined, enterMsgID: ctx.newMsgId(), port: c.port, legId: c.legId,
      muted: c.muted, mutedBy: c.mutedBy === 'keypad' ? 'Self' : c.mutedBy === 'command' ? 'Host' : 'Bridge',
      speaking: false, subConfId: c.subConfId, held: [], joinedAt: ctx.now,
    };
    if (c.callerId !== undefined) caller.callerId = c.callerId;
    if (c.dialledNumber !== undefined) caller.dialledNumber = c.dialledNumber;
    if (c.name !== undefined) caller.name = c.name;
    return caller;
  });
  return {
    confId: `adopted-${bridgeId}-${orphan.bridgeConfId}`,
    confKey: orphan.options.confKey,
    extConfID: '',
    formerExtConfIDs: [],
    wbxHostName: undefined,
    bridgeId,
    bridgeConfId: orphan.bridgeConfId,
    status: orphan.locked ? 'locked' : 'running',
    entryTone: orphan.options.entryTone,
    silentJoin: orphan.options.silentJoin,
    muteOnEntry: orphan.options.muteOnEntry,
    attendeeCount: 0,
    classes: { tollCallIn: true, tollFreeCallIn: true, domesticCallBack: true, intlCallBack: false },
    muteAll: orphan.muteAll?.applyToNewCallers ? { muted: orphan.muteAll.muted, applyToNewCallers: true } : undefined,
    lastActivityAt: ctx.now,
    recentDialOutsAt: [],
    callers,
  };
}

function merge(a: Effects, b: Effects): Effects {
  return effects({ conferences: b.conferences, out: [...a.out, ...b.out], followUps: [...a.followUps, ...b.followUps] });
}

