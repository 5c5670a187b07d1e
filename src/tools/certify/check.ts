/**
 * What a certify scenario sees: the WebEx simulator posting to the adaptor under test, a
 * second simulator for fail-over, the emulator when the bridge is one, and the few moves and
 * checks every scenario repeats. A failed check throws a CertifyFailure naming what was
 * expected and what came, which the table prints.
 */
import { randomInt } from 'node:crypto';
import type { A2WMessage, W2AMessage } from '../../protocol/index.js';
import type { A2WOf, A2WType, ReceivedA2W, WebexSim } from '../../webex-sim/webex-sim.js';
import type { EmulatorClient } from '../emulator-client.js';

export class CertifyFailure extends Error {
  override name = 'CertifyFailure';
}

export interface CertifyScenario {
  name: string;
  /** What the adaptor must do, in the spec's words. */
  checks: string;
  /** Needs the bridge's control interface (--emulator). */
  needsEmulator: boolean;
  run: (ctx: CertifyContext) => Promise<void>;
}

/** A caller on the bridge, as WebEx and the emulator know it. */
export interface Caller {
  port: string;
  extCallId: string;
}

type Command<T extends W2AMessage['type']> = Omit<Extract<W2AMessage, { type: T }>, 'type' | 'MsgID'>;

export class CertifyContext {
  readonly sim: WebexSim;
  readonly second: WebexSim;
  readonly #emulator: EmulatorClient | undefined;
  readonly timeoutMs: number;
  /** The run's tag in ExtConfIDs; conference keys are random so a live bridge is not disturbed. */
  readonly #tag: string;
  #conferences = 0;

  constructor(parts: { sim: WebexSim; second: WebexSim; emulator?: EmulatorClient; timeoutMs: number }) {
    this.sim = parts.sim;
    this.second = parts.second;
    this.#emulator = parts.emulator;
    this.timeoutMs = parts.timeoutMs;
    this.#tag = `cert-${randomInt(1e6).toString(36)}`;
  }

  get emulator(): EmulatorClient {
    if (!this.#emulator) throw new CertifyFailure('this scenario needs --emulator CONTROL_URL');
    return this.#emulator;
  }

  /** A fresh conference identity: ExtConfID and an 8-digit ConfKey. */
  newConference(): { extConfId: string; confKey: string } {
    this.#conferences += 1;
    return { extConfId: `${this.#tag}-${this.#conferences}`, confKey: `9${String(randomInt(1e7)).padStart(7, '0')}` };
  }

  msg<T extends W2AMessage['type']>(type: T, fields: Command<T>, sim: WebexSim = this.sim): Extract<W2AMessage, { type: T }> {
    return { type, MsgID: sim.newId('msg'), ...fields } as unknown as Extract<W2AMessage, { type: T }>;
  }

  /** Posts one transaction and expects Confirmation 0. */
  async confirm(message: W2AMessage, sim: WebexSim = this.sim): Promise<string> {
    const sent = await sim.send([message]);
    expect(sent.result === 0, `${message.type} ${message.MsgID}: Confirmation ${sent.result ?? sent.reason}, expected 0`);
    return sent.transId;
  }

  /** The next A2W message of `type` matching `predicate`, or a failure naming it. */
  async next<T extends A2WType>(type: T, predicate: (m: A2WOf<T>) => boolean, what: string, sim: WebexSim = this.sim): Promise<ReceivedA2W<A2WOf<T>>> {
    try {
      return await sim.next(type, predicate, this.timeoutMs);
    } catch {
      throw new CertifyFailure(`no ${type} (${what}) within ${this.timeoutMs} ms`);
    }
  }

  /** Sends a command and expects its response message with `result` (and the same MsgID). */
  async answered<T extends A2WType>(message: W2AMessage, response: T, result: number, sim: WebexSim = this.sim): Promise<A2WOf<T>> {
    await this.confirm(message, sim);
    const rsp = (await this.next(response, (m) => m.MsgID === message.MsgID, `answer to ${message.type} ${message.MsgID}`, sim)).message;
    const got = (rsp as { Result?: number }).Result;
    expect(got === result, `${message.type} answered ${response} Result ${got}, expected ${result}`);
    return rsp;
  }

  /** Creates a conference and waits until it is announced running. */
  async createConference(sim: WebexSim = this.sim): Promise<{ extConfId: string; confKey: string }> {
    const conference = this.newConference();
    const create = this.msg('W2A_CreateConference', { ExtConfID: conference.extConfId, ConfKey: conference.confKey, WbxHostName: sim.url }, sim);
    await this.answered(create, 'A2W_RspCreateConference', 0, sim);
    await this.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === conference.extConfId && m.Status === 0, 'conference running', sim);
    return conference;
  }

  async endConference(extConfId: string, sim: WebexSim = this.sim): Promise<void> {
    await this.answered(this.msg('W2A_EndConference', { ExtConfID: extConfId }, sim), 'A2W_RspEndConference', 0, sim);
    await this.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === extConfId && m.Status === 3, 'conference ended', sim);
  }

  /** A caller dials in; resolves once WebEx has named it. */
  async dialIn(conference: { extConfId: string; confKey: string }, callerId: string): Promise<Caller> {
    const port = await this.emulator.dialIn(conference.confKey, callerId);
    const enter = await this.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === conference.extConfId && m.CallerID === callerId, `caller ${callerId} on ${port}`);
    expect(enter.message.ExtCallID === '', `NotifyUserEnter of a dial-in caller has ExtCallID "${enter.message.ExtCallID}", expected empty`);
    const answered = await enter.answered;
    expect(answered?.result === 0 && !!enter.answeredExtCallID, `W2A_RspNotifyUserEnter for ${port} was not confirmed: ${answered?.result ?? answered?.reason}`);
    return { port, extCallId: enter.answeredExtCallID! };
  }

  /**
   * Nothing more of `type` for `msgId` may arrive: a later command's answer for the same
   * conference closes the window, since one conference's A2W messages keep their order.
   */
  async nothingMore(extConfId: string, count: (m: A2WMessage) => boolean, limit: number, what: string): Promise<void> {
    const marker = this.msg('W2A_LockConference', { ExtConfID: extConfId, Lock: false });
    await this.confirm(marker);
    await this.next('A2W_RspLockConference', (m) => m.MsgID === marker.MsgID, 'the marker command');
    const seen = this.sim.received.filter((r) => count(r.message)).length;
    expect(seen <= limit, `${what}: ${seen} received, expected at most ${limit}`);
  }
}

export function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CertifyFailure(message);
}
