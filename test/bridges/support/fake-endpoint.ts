/**
 * A scripted emulator endpoint for protocol-server tests: replies come from the test's
 * function, events and heartbeats are pushed by the test through the listener sets, and the
 * sets show which listeners a server still holds.
 */
import type { BridgeCommand, ReplyOf } from '../../../src/bridges/driver.js';
import type { EmulatorEndpoint, Heartbeat, SequencedEvent } from '../../../src/bridges/emulator/endpoint.js';

export interface FakeEndpointOptions {
  model: string;
  username: string;
  password: string;
  /** Returns the reply, or throws a BridgeError for a refusal. */
  reply(command: BridgeCommand): unknown;
}

export class FakeEndpoint implements EmulatorEndpoint {
  readonly model: string;
  readonly events = new Set<(e: SequencedEvent) => void>();
  readonly heartbeats = new Set<(hb: Heartbeat) => void>();
  readonly drops = new Set<() => void>();
  readonly #options: FakeEndpointOptions;
  #released: () => void = () => undefined;
  /** Resolves when a server first lets go of an event listener. */
  readonly released = new Promise<void>((resolve) => (this.#released = resolve));

  constructor(options: FakeEndpointOptions) {
    this.#options = options;
    this.model = options.model;
  }

  checkLogin(username: string, password: string): boolean {
    return username === this.#options.username && password === this.#options.password;
  }

  async execute<C extends BridgeCommand>(command: C): Promise<ReplyOf<C>> {
    return this.#options.reply(command) as ReplyOf<C>;
  }

  subscribe(listener: (e: SequencedEvent) => void): () => void {
    this.events.add(listener);
    return () => {
      this.events.delete(listener);
      this.#released();
    };
  }

  onHeartbeat(listener: (hb: Heartbeat) => void): () => void {
    this.heartbeats.add(listener);
    return () => this.heartbeats.delete(listener);
  }

  onDrop(listener: () => void): () => void {
    this.drops.add(listener);
    return () => this.drops.delete(listener);
  }
}
