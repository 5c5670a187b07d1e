/**
 * The Voyant 2313 driver: the newer bridge generation, spoken through the CAPI-style XML
 * protocol of docs/voyant2313-protocol.md. Everything that is not wire format (reconnect loop,
 * heartbeat supervision, correlation, resync, event ordering) is the link layer's
 * (link/linked-driver.ts); this class only says how to open a session and what this model can do.
 */
import type { BridgeCapabilities, BridgeCommand, DriverConfig, DriverDeps, ReplyOf } from '../driver.js';
import { BridgeError } from '../errors.js';
import { LinkedDriver, type LinkOptions } from '../link/linked-driver.js';
import type { LinkSession, LinkSink } from '../link/session.js';
import { Voyant2313Session, type Voyant2313Reply, type Voyant2313Target } from './session.js';

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
  readonly #target: Voyant2313Target;

  /** Throws at once without a notification port: a configuration error, not a link failure to retry. */
  constructor(config: DriverConfig, deps: DriverDeps, options?: LinkOptions) {
    const { notifyPort } = config;
    if (notifyPort === undefined) {
      throw new BridgeError('BRIDGE_ERR_INVALID', `bridge '${config.id}': the Voyant 2313 needs notifyPort for its notification connection`);
    }
    super(config, deps, options);
    this.#target = { ...config, notifyPort };
  }

  protected override openSession(sink: LinkSink<Voyant2313Reply>, signal: AbortSignal): Promise<LinkSession> {
    return Voyant2313Session.open(this.#target, sink, signal);
  }

  /** The response element names its command, so a reply to another command is caught here. */
  protected override decodeReply<C extends BridgeCommand>(command: C, payload: Voyant2313Reply): ReplyOf<C> {
    if (payload.op !== command.op) {
      throw new BridgeError('BRIDGE_ERR_PROTOCOL', `${command.op} answered by a ${payload.op} response`);
    }
    return payload.reply as ReplyOf<C>;
  }
}
