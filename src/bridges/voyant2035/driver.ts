/**
 * The Voyant 2035 driver: the older bridge generation, spoken through the line-oriented text
 * protocol of docs/voyant2035-protocol.md on one TCP connection. Everything that is not wire
 * format (reconnect loop, heartbeat supervision, correlation, resync, event ordering) is the
 * link layer's (link/linked-driver.ts); this class says how to open a session, how to read a
 * reply, and what this model can honestly do.
 */
import type { BridgeCapabilities, BridgeCommand, ReplyOf } from '../driver.js';
import { LinkedDriver } from '../link/linked-driver.js';
import type { LinkSession, LinkSink } from '../link/session.js';
import { decodeReplyBody, type Voyant2035Reply } from './codec.js';
import { Voyant2035Session } from './session.js';

/**
 * The 2035 predates CAPI: it has no channel for opaque client data, so passthrough is refused
 * (BRIDGE_ERR_UNSUPPORTED) rather than dropped; its sub-conference keys are one digit (1-9).
 */
export const VOYANT_2035_CAPABILITIES: BridgeCapabilities = Object.freeze({
  model: 'Voyant 2035',
  subConferences: true,
  maxSubConferences: 9,
  dialOut: true,
  dialOutConfirm: true,
  muteAllException: true,
  muteNewCallers: true,
  talkingEvents: true,
  tones: true,
  passthrough: false,
});

export class Voyant2035Driver extends LinkedDriver<Voyant2035Reply> {
  readonly capabilities = VOYANT_2035_CAPABILITIES;

  protected override openSession(sink: LinkSink<Voyant2035Reply>, signal: AbortSignal): Promise<LinkSession> {
    return Voyant2035Session.open(this.config, sink, signal);
  }

  protected override decodeReply<C extends BridgeCommand>(command: C, payload: Voyant2035Reply): ReplyOf<C> {
    return decodeReplyBody(command, payload) as ReplyOf<C>;
  }
}
