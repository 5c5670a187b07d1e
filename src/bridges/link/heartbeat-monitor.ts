/**
 * Heartbeat supervision for one connection: a bridge that sends no heartbeat for
 * `maxMissed` intervals is declared stale even while its TCP connection looks open (a hung
 * bridge process keeps the kernel's socket alive). Only heartbeats count as signs of life, so
 * a bridge whose supervisor died is noticed even while it still streams events.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  maxMissed: number;
  now?: () => number;
}

export class HeartbeatMonitor {
  readonly #options: Required<HeartbeatOptions>;
  readonly #onStale: (missed: number) => void;
  #lastBeatAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HeartbeatOptions, onStale: (missed: number) => void) {
    this.#options = { now: Date.now, ...options };
    this.#onStale = onStale;
  }

  /** Starts counting from now, as if a heartbeat had just arrived. */
  start(): void {
    this.stop();
    this.#lastBeatAt = this.#options.now();
    this.#timer = setInterval(() => this.#check(), this.#options.intervalMs);
  }

  beat(): void {
    this.#lastBeatAt = this.#options.now();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    const missed = Math.floor((this.#options.now() - this.#lastBeatAt) / this.#options.intervalMs);
    if (missed < this.#options.maxMissed) return;
    this.stop();
    this.#onStale(missed);
  }
}
