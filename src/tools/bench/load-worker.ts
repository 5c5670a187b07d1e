/**
 * The throughput load generator's thread (started by load-client.ts): sends W2A bodies
 * open-loop at a set rate over an Http1Pool and times each Confirmation from the moment it was
 * due, so a target that falls behind shows as latency (queueing included), not as a slower
 * offered rate. Its own event loop carries nothing else: the WebEx simulator's A2W receipts
 * in the main thread cannot delay a send or a reading.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Http1Pool, type Http1Answer } from './http1-pool.js';
import { Latencies } from './latency.js';
import { MSG_SLOT, TRANS_SLOT, type LoadWorkerData, type StepRequest, type StepResult, type WorkerReply, type WorkerRequest } from './load-client.js';

/** Sending is spread over slices of this length. */
const SLICE_MS = 2;
/** More waiting than this and a send is skipped: the target cannot keep up. */
const MAX_QUEUED = 5_000;
/** After a step's last send, answers still missing this much later count as failed. */
const SETTLE_TIMEOUT_MS = 30_000;
const RESULT_ZERO = /<Confirmation\s+Result="0"/;

const settings = workerData as LoadWorkerData;
const pool = new Http1Pool(settings.url, { ...(settings.ca ? { ca: settings.ca } : {}), connections: settings.connections });
/** Numbers the sends of every step, so a TransID is never repeated within a run. */
let serial = 0;

async function step(request: StepRequest): Promise<StepResult> {
  const { perSecond, seconds, templates, tag } = request;
  const latencies = new Latencies();
  let inFlight = 0;
  let failed = 0;
  let skipped = 0;
  let sent = 0;
  const started = performance.now();
  const intervalMs = 1_000 / perSecond;
  let settleAll: () => void = () => {};
  const allSettled = new Promise<void>((resolve) => (settleAll = resolve));
  let sending = true;
  const sendOne = (n: number): void => {
    if (pool.queued >= MAX_QUEUED) {
      skipped += 1;
      return;
    }
    inFlight += 1;
    const dueAt = started + n * intervalMs;
    const id = (serial += 1);
    const body = templates[id % templates.length]!.replace(TRANS_SLOT, `bt-${tag}-${id}`).replace(MSG_SLOT, `bm-${tag}-${id}`);
    pool.post(body, (answer: Http1Answer) => {
      if (answer.status === 200 && RESULT_ZERO.test(answer.body)) latencies.add(performance.now() - dueAt);
      else failed += 1;
      inFlight -= 1;
      if (!sending && inFlight === 0) settleAll();
    });
  };
  const total = Math.round(seconds * perSecond);
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
    while (sent < due) sendOne(sent++);
    await new Promise((resolve) => setTimeout(resolve, SLICE_MS));
  }
  sending = false;
  if (inFlight === 0) settleAll();
  const timer = setTimeout(settleAll, SETTLE_TIMEOUT_MS);
  await allSettled;
  clearTimeout(timer);
  failed += inFlight;
  const elapsedS = (performance.now() - started) / 1_000;
  const summary = latencies.summary();
  return {
    offeredPerSecond: perSecond,
    achievedPerSecond: Math.round(latencies.count / elapsedS),
    confirmed: latencies.count,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    maxMs: summary.maxMs,
    failed,
    skipped,
  };
}

parentPort!.on('message', (request: WorkerRequest) => {
  const reply = (message: WorkerReply): void => parentPort!.postMessage(message);
  if (request.type === 'close') {
    pool.close();
    parentPort!.close();
    return;
  }
  step(request).then(
    (result) => reply({ type: 'result', result }),
    (err: unknown) => reply({ type: 'error', message: String((err as Error).stack ?? err) }),
  );
});
