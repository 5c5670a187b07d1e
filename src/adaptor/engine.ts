/**
 * The engine: the one object between WebEx and the bridges. `accept` makes a transaction
 * durable before its Confirmation 0; commands then run one at a time per conference, become
 * driver calls, and end in A2W messages that the outbox delivers. Bridge events and periodic
 * reconciliation change conference state the same way.
 *
 * Lifecycle: the composition root builds the drivers, the store and the poster; `start()`
 * subscribes to every driver and connects it (the engine owns the drivers' connections from then
 * on), finishes what a previous run left unfinished, and starts the outbox. `drain()` stops
 * intake; `close()` stops timers and closes the drivers. The store is the caller's to close.
 */
import type { Logger } from 'pino';
import type { BridgeDriver } from '../bridges/driver.js';
import type { CONFIRMATION, TspCodec, W2AMessage } from '../protocol/index.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { EngineCounters } from './counters.js';
import type { EngineOptions } from './options.js';
import type { Store } from './store/store.js';

export type ConfirmationResult = (typeof CONFIRMATION)[keyof typeof CONFIRMATION];

export interface AcceptedTransaction {
  transId: string;
  messages: W2AMessage[];
  /** ms since epoch. */
  receivedAt: number;
  /** Who sent it (remote address), for the log. */
  source?: string;
}

/** POSTs one A2W body; implemented over HTTPS by the composition root. */
export type A2WPoster = (
  url: string,
  body: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
) => Promise<{ status: number; body: string; retryAfterMs?: number }>;

export interface EngineDeps {
  store: Store;
  /** Built but not connected: `start()` connects them after subscribing to their events. */
  drivers: BridgeDriver[];
  codec: TspCodec;
  post: A2WPoster;
  logger: Logger;
  clock?: Clock;
  options: EngineOptions;
}

export class Engine {
  readonly counters = new EngineCounters();
  #deps: EngineDeps;
  #clock: Clock;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
  }

  async start(): Promise<void> {
    throw new Error('Engine.start: not yet implemented');
  }

  /**
   * Resolves with the Confirmation Result to answer: 0 only once the transaction is durably
   * recorded; a repeated TransID resolves with the result it got before and nothing is acted on
   * again; 7 while draining or before `start()` finished; 8 when the store failed.
   */
  async accept(tx: AcceptedTransaction): Promise<ConfirmationResult> {
    void tx;
    void this.#deps;
    void this.#clock;
    return 7 as ConfirmationResult;
  }

  /** Answers 7 from now on, lets running commands finish and flushes the outbox for at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    void timeoutMs;
  }

  async close(): Promise<void> {}
}
