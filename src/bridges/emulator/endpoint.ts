/**
 * What a protocol server sees of the emulated bridge: commands in, sequenced events and
 * heartbeats out, and a signal to drop its connections. The injected faults (delay, refuse,
 * duplicate, reorder, silent heartbeats, drops, restarts) are applied here, below the wire, so
 * both protocol servers (server-2035.ts, server-2313.ts) suffer them alike and stay free of
 * fault logic: a server only encodes what it is handed.
 */
import type { BridgeCommand, BridgeEvent, PortUsage, ReplyOf } from '../driver.js';

/** A bridge event with the bridge's own sequence number (monotonic per bridge, from 1). */
export interface SequencedEvent {
  seq: number;
  event: BridgeEvent;
}

export interface Heartbeat {
  /** Bridge clock, ms since epoch. */
  at: number;
  ports: PortUsage;
}

export interface EmulatorEndpoint {
  /** Reported at login, e.g. 'voyant-emulator'. */
  readonly model: string;
  checkLogin(username: string, password: string): boolean;
  /** Applies the delay/refuse faults; rejects with a BridgeError (errors.ts). */
  execute<C extends BridgeCommand>(command: C): Promise<ReplyOf<C>>;
  /** Applies the duplicate/reorder faults. Returns the unsubscribe function. */
  subscribe(listener: (e: SequencedEvent) => void): () => void;
  /** Silent while heartbeats are stopped (TCP stays open). Returns the unsubscribe function. */
  onHeartbeat(listener: (hb: Heartbeat) => void): () => void;
  /** The 'drop connection' fault and bridge restarts: the server must destroy its sockets. */
  onDrop(listener: () => void): () => void;
}

/** A listening protocol server. `ports` names each bound port, e.g. `{ voyant2035: 7035 }`. */
export interface ProtocolServer {
  readonly ports: Record<string, number>;
  close(): Promise<void>;
}
