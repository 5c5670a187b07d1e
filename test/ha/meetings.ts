/**
 * A scripted load of meetings for the HA tests and the kill run, posted as WebEx does: every
 * command to the meeting's primary adaptor URL, and on a failure or Confirmation 7 again under
 * the SAME TransID to the next URL (the secondary), a bounded number of times. Each meeting
 * creates a conference, waits for each response, locks it, mutes everyone, dials a callee out
 * and ends it.
 *
 * `verify` then checks, per confirmed command, its response reached WebEx (never under a second
 * TransID) and the bridge received it exactly once (bridge-tally.ts), and that no notification
 * was posted twice under different TransIDs.
 */
import type { BridgeCommand } from '../../src/bridges/driver.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import type { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { w2a } from '../e2e/support.js';
import type { BridgeTally } from './bridge-tally.js';

const SEND_ATTEMPTS = 40;
const RETRY_DELAY_MS = 50;
const RESPONSE_LIMIT_MS = 30_000;

export interface SentCommand {
  msgId: string;
  type: W2AMessage['type'];
  /** What the bridge must have received once for it. */
  op: BridgeCommand['op'];
  key: string;
  /** The response's Result; undefined when none came in time. */
  result: number | undefined;
}

const RESPONSE_OF = {
  W2A_CreateConference: 'A2W_RspCreateConference',
  W2A_LockConference: 'A2W_RspLockConference',
  W2A_MuteConference: 'A2W_RspMuteConference',
  W2A_Callout: 'A2W_RspCallout',
  W2A_EndConference: 'A2W_RspEndConference',
} as const;

export class MeetingLoad {
  readonly confirmed: SentCommand[] = [];
  /** Commands WebEx gave up on (no Confirmation 0 after every retry). */
  readonly unconfirmed: SentCommand[] = [];
  #receiver: WebexSim;
  #senders: () => WebexSim[];

  /** `senders()` are the simulators posting to each adaptor URL, in primary/secondary order. */
  constructor(receiver: WebexSim, senders: () => WebexSim[]) {
    this.#receiver = receiver;
    this.#senders = senders;
  }

  /** Runs `concurrency` meeting loops until `more()` says stop; meeting numbers from `first`. */
  async run(concurrency: number, more: () => boolean, first = 1): Promise<void> {
    let next = first;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (more()) await this.meeting(next++);
    }));
  }

  /** One meeting, start to end; stops early when a command fails. */
  async meeting(n: number): Promise<void> {
    const confId = `meeting-${n}`;
    const confKey = String(60_000_000 + n);
    const number = `1,408,${5_550_000 + (n % 10_000)}`;
    const m = w2a(this.#receiver);
    const script: [W2AMessage, BridgeCommand['op'], string][] = [
      [m.create(confId, confKey), 'createConference', confKey],
      [m.lock(confId, true), 'lockConference', confKey],
      [{ type: 'W2A_MuteConference', MsgID: this.#receiver.newId('msg'), ExtConfID: confId, Mute: true } as W2AMessage, 'muteAll', confKey],
      [m.callout(confId, `call-${n}`, number), 'dialOut', `${confKey}/${number}`],
      [m.end(confId), 'endConference', confKey],
    ];
    for (const [message, op, key] of script) {
      const sent: SentCommand = { msgId: message.MsgID, type: message.type, op, key, result: undefined };
      if (!(await this.#send(n, message))) {
        this.unconfirmed.push(sent);
        return;
      }
      this.confirmed.push(sent);
      const rspType = RESPONSE_OF[message.type as keyof typeof RESPONSE_OF];
      try {
        const rsp = await this.#receiver.next(rspType, (r) => r.MsgID === message.MsgID, RESPONSE_LIMIT_MS);
        sent.result = Number((rsp.message as { Result?: number }).Result);
      } catch {
        return;
      }
      if (sent.result !== 0) return;
    }
  }

  /** WebEx's retries: the same TransID to the primary, then the secondary URL, and so on. */
  async #send(n: number, message: W2AMessage): Promise<boolean> {
    const transId = this.#receiver.newId('trans');
    for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
      const senders = this.#senders();
      const sim = senders[(n + attempt) % senders.length]!;
      try {
        if ((await sim.send([message], { transId })).result === 0) return true;
      } catch { /* that instance is gone: the next attempt goes to the other URL */ }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    }
    return false;
  }
}

export interface LoadVerdict {
  commandsConfirmed: number;
  /** Confirmed, answered Result 0 (or not answered), and never reached the bridge. */
  lost: SentCommand[];
  /** Reached the bridge more than once. */
  doubled: (SentCommand & { times: number })[];
  /** Confirmed and never answered. */
  missingResponses: number;
  /** Responses that reached WebEx under more than one TransID. */
  responsesUnderTwoTransIds: number;
  /** Notifications of identical content posted under more than one TransID. */
  notificationsUnderTwoTransIds: number;
  /** Deliveries of an A2W TransID seen before: retries, allowed. */
  retriedDeliveries: number;
  /** Commands at the bridges that no command of the load asked for (snapshots aside). */
  unasked: { bridge: string; op: string; key: string }[];
  /**
   * Commands WebEx gave up on that reached the bridge anyway: recorded in Redis, then answered
   * 7 because the replica did not acknowledge in time (a retry would have been answered 0).
   */
  carriedOutUnconfirmed: number;
}

/** `fromCommand`: the tally's length when this load began (commands before it are not its own). */
export function verify(load: MeetingLoad, tally: BridgeTally, receiver: WebexSim, fromCommand = 0): LoadVerdict {
  const received = receiver.received;
  const lost: SentCommand[] = [];
  const doubled: (SentCommand & { times: number })[] = [];
  let missingResponses = 0;
  let responsesUnderTwoTransIds = 0;
  for (const c of load.confirmed) {
    const times = tally.count(c.op, c.key);
    if (times === 0 && (c.result === 0 || c.result === undefined)) lost.push(c);
    if (times > 1) doubled.push({ ...c, times });
    const rsps = received.filter((r) => r.message.MsgID === c.msgId);
    if (rsps.length === 0) missingResponses++;
    if (new Set(rsps.map((r) => r.transId)).size > 1) responsesUnderTwoTransIds++;
  }
  const byContent = new Map<string, Set<string>>();
  const seenTransIds = new Set<string>();
  let retriedDeliveries = 0;
  for (const r of received) {
    // A batch carries several messages under one TransID: a message is delivered again only
    // when its own MsgID comes back under a TransID already taken.
    const delivery = `${r.transId} ${r.message.MsgID}`;
    if (seenTransIds.has(delivery)) retriedDeliveries++;
    seenTransIds.add(delivery);
    if (r.message.type.startsWith('A2W_Rsp')) continue;
    const { MsgID: _msgId, ...content } = r.message;
    const key = JSON.stringify(content);
    const set = byContent.get(key) ?? new Set<string>();
    set.add(r.transId);
    byContent.set(key, set);
  }
  const notificationsUnderTwoTransIds = [...byContent.values()].filter((s) => s.size > 1).length;
  const id = (c: { op: string; key: string }): string => `${c.op} ${c.key}`;
  const asked = new Set([...load.confirmed, ...load.unconfirmed].map(id));
  const unasked = tally.commands.slice(fromCommand).filter((c) => c.op !== 'snapshot' && !asked.has(id(c)));
  const doubledUnconfirmed = load.unconfirmed.filter((c) => tally.count(c.op, c.key) > 1).map((c) => ({ ...c, times: tally.count(c.op, c.key) }));
  return {
    commandsConfirmed: load.confirmed.length, lost, doubled: [...doubled, ...doubledUnconfirmed], missingResponses,
    responsesUnderTwoTransIds, notificationsUnderTwoTransIds, retriedDeliveries, unasked,
    carriedOutUnconfirmed: load.unconfirmed.filter((c) => tally.count(c.op, c.key) > 0).length,
  };
}
