/**
 * The Voyant 2313 driver: the newer bridge generation, spoken through the CAPI-style XML
 * protocol of docs/voyant2313-protocol.md. Everything that is not wire format (reconnect loop,
 * heartbeat supervision, correlation, resync, event ordering) is the link layer's
 * (link/linked-driver.ts); this class only says how to open a session and what this model can do.
 */
import type { BridgeCapabilities, BridgeCommand, ReplyOf } from '../driver.js';
import { BridgeError } from '../errors.js';
import { LinkedDriver } from '../link/linked-driver.js';
import type { LinkSession, LinkSink } from '../link/session.js';
import { Voyant2313Session, type Voyant2313Reply } from './session.js';

/** Modeled on ReadiVoice CAPI: this generation does everything the contract names. */
export const VOYANT_2313_CAPABILITIES: BridgeCapabilities = Object.freeze({
  model: 'Voyant 2313',
  subConferences: true,
  maxSubConferences: 9,
  dialOut: true,
  dialOutConfirm: true,
  muteAllException: true,
  muteNewCallers: true,
  talkingEvents: true,
  tones: true,
  passthrough: true,
});

export class Voyant2313Driver extends LinkedDriver<Voyant2313Reply> {
  readonly capabilities = VOYANT_2313_CAPABILITIES;

  protected override openSession(sink: LinkSink<Voyant2313Reply>, signal: AbortSignal): Promise<LinkSession> {
    return Voyant2313Session.open(this.config, sink, signal);
  }

  /** The response element names its command, so a reply to another command is caught here. */
  protected override decodeReply<C extends BridgeCommand>(command: C, payload: Voyant2313Reply): ReplyOf<C> {
    if (payload.op !== command.op) {
      throw new BridgeError('BRIDGE_ERR_PROTOCOL', `${command.op} answered by a ${payload.op} response`);
    }
    return payload.reply as ReplyOf<C>;
  }
}
