/**
 * The command-throughput client: posts ready-made W2A bodies over kept-alive HTTPS at a set
 * rate (open loop: a slow answer does not slow the sending) and times each Confirmation. The
 * same client drives the adaptor and the bare server, so their ratio compares servers only.
 */
import https from 'node:https';
import { Latencies } from './latency.js';

export interface StepResult {
  offeredPerSecond: number;
  /** Confirmations with Result 0 per second of the step. */
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than HTTP 200 + Confirmation 0, and requests that failed. */
  failed: number;
  /** Sends skipped because the in-flight cap was reached: the target could not keep up. */
  skipped: number;
}

/** Sending is spread over slices of this length. */
const SLICE_MS = 5;
const MAX_IN_FLIGHT = 2_000;
const CONNECTIONS = 32;
const RESULT_ZERO = /<Confirmation\s+Result="0"/;

export class LoadClient {
  readonly #url: URL;
  readonly #agent: https.Agent;

  constructor(url: string, ca: string) {
    this.#url = new URL(url);
    this.#agent = new https.Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca });
  }

  /** One step at `perSecond` for `seconds`; `body()` makes each request body. */
  async step(perSecond: number, seconds: number, body: () => string): Promise<StepResult> {
    const latencies = new Latencies();
    let inFlight = 0;
    let failed = 0;
    let skipped = 0;
    let sent = 0;
    const started = performance.now();
    const endAt = started + seconds * 1_000;
    let settleAll: () => void = () => {};
    const allSettled = new Promise<void>((resolve) => (settleAll = resolve));
    let sending = true;
    const settle = (): void => {
      inFlight -= 1;
      if (!sending && inFlight === 0) settleAll();
    };
    const sendOne = (): void => {
      if (inFlight >= MAX_IN_FLIGHT) {
        skipped += 1;
        return;
      }
      inFlight += 1;
      const t0 = performance.now();
      const payload = body();
      const req = https.request(this.#url, { method: 'POST', agent: this.#agent, headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode === 200 && RESULT_ZERO.test(text)) latencies.add(performance.now() - t0);
          else failed += 1;
          settle();
        });
      });
      req.on('error', () => {
        failed += 1;
        settle();
      });
      req.end(payload);
    };
    while (performance.now() < endAt) {
      const due = Math.floor(((performance.now() - started) / 1_000) * perSecond);
      while (sent < due) {
        sent += 1;
        sendOne();
      }
      await new Promise((resolve) => setTimeout(resolve, SLICE_MS));
    }
    sending = false;
    if (inFlight === 0) settleAll();
    await allSettled;
    const elapsedS = (performance.now() - started) / 1_000;
    const summary = latencies.summary();
    return {
      offeredPerSecond: perSecond,
      achievedPerSecond: Math.round(latencies.count / elapsedS),
      p50Ms: summary.p50Ms,
      p99Ms: summary.p99Ms,
      maxMs: summary.maxMs,
      failed,
      skipped,
    };
  }

  close(): void {
    this.#agent.destroy();
  }
}
