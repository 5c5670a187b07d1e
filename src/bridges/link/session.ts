/**
 * What a concrete driver hands the link layer (LinkedDriver): one connected, logged-in session
 * per connection, and a push-based decoder turning the bridge's bytes into inbound frames. The
 * session owns its sockets and every listener on them, so when it dies nothing is left behind
 * to fire twice after a reconnect.
 */
import type { BridgeCommand, BridgeEvent, PortUsage } from '../driver.js';
import type { BridgeError } from '../errors.js';

/** A reply's outcome as the wire says it; `P` is the driver's undecoded reply body. */
export type ReplyOutcome<P> = { ok: true; payload: P } | { ok: false; error: BridgeError };

export type InboundFrame<P> =
  | { kind: 'reply'; id: string; outcome: ReplyOutcome<P> }
  | { kind: 'event'; seq: number; event: BridgeEvent }
  | { kind: 'heartbeat'; at: number; ports?: PortUsage }
  /** Bytes that could not be decoded: logged (truncated), counted and skipped. */
  | { kind: 'malformed'; raw: string; reason: string };

/** Where a session reports; calls after the session was lost are ignored by the link. */
export interface LinkSink<P> {
  frame(frame: InboundFrame<P>): void;
  /** The connection died (socket error or close, or a fatal protocol error). */
  lost(error: Error): void;
}

export interface LinkSession {
  /** Encodes and writes one command under correlation id `id`; throws a BridgeError if it cannot be encoded. */
  send(id: string, command: BridgeCommand): void;
  /** Destroys the sockets. Idempotent; must not call `sink.lost`. */
  destroy(): void;
}
