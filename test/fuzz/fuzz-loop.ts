/**
 * The fuzz loop of one target, run in a worker thread so that the main thread can watch it: the
 * input under test is copied into shared memory before each execution and a progress counter
 * ticks, so an input that never returns is caught and saved by the watchdog in run.ts.
 *
 * Feedback: an input whose outcome class (targets.ts) is new joins the corpus after a cheap
 * minimisation; with `coverage`, V8 block coverage (node:inspector, precise, per call count) is
 * sampled every COVERAGE_BATCH inputs and, when the batch reached a new block of src/, each of
 * its inputs is replayed alone to find the ones that did.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { prng } from '../protocol/fuzz-corpus.js';
import { MAX_INPUT_BYTES, mutate } from './mutate.js';
import { corpusDir, createTarget, findingsDir, type FuzzTarget, type TargetName } from './targets.js';

export interface LoopOptions {
  target: TargetName;
  runs: number;
  seed: number;
  coverage: boolean;
  save: boolean;
  maxCorpus: number;
  /** Int32 [executions done, input length] then the input's bytes. */
  shared: SharedArrayBuffer;
}

export interface LoopReport {
  executions: number;
  corpus: number;
  classes: number;
  coveredBlocks: number;
  findings: { signature: string; file: string; count: number }[];
  slowest: { ms: number; file?: string };
  maxRssMiB: number;
}

/** An input slower than this, twice in a row, is reported as a hang. */
const SLOW_INPUT_MS = 1_000;
/** RSS above this is reported as unbounded memory: the decoders need a few tens of MiB. */
const MAX_RSS_BYTES = 1_536 * 1024 * 1024;
const RSS_EVERY = 10_000;
const PROGRESS_EVERY = 1_000;
const COVERAGE_BATCH = 2_000;
const MINIMISE_ATTEMPTS = 24;

export const fileName = (input: Buffer) => `${createHash('sha1').update(input).digest('hex').slice(0, 16)}.bin`;

function readInputs(dir: string): Buffer[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.bin')).sort().map((f) => readFileSync(join(dir, f)));
  } catch {
    return [];
  }
}

/** Error name and first line, values blanked: one finding per distinct failure. */
function signature(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const at = e.stack?.split('\n').find((l) => l.includes('/src/'))?.trim().replace(/:\d+\)?$/, '') ?? '';
  return `${e.name}: ${e.message.split('\n')[0]?.replace(/\d+/g, '#').slice(0, 120)} ${at}`;
}

class Coverage {
  readonly #session = new Session();
  readonly #seen = new Set<string>();

  constructor() {
    this.#session.connect();
    this.#post('Profiler.enable');
    this.#post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Blocks of src/ run since the last call that were never run before; counters reset on each call. */
  takeNew(): number {
    let fresh = 0;
    const result = this.#post('Profiler.takePreciseCoverage') as { result: { url: string; functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[] }[] };
    for (const script of result.result) {
      if (!script.url.includes('/src/')) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const key = `${script.url}:${r.startOffset}:${r.endOffset}`;
          if (!this.#seen.has(key)) {
            this.#seen.add(key);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }

  #post(method: string, params?: object): unknown {
    let out: unknown;
    let failure: Error | null = null;
    // A session on the same thread answers synchronously.
    this.#session.post(method, params ?? {}, (err, res) => {
      failure = err;
      out = res;
    });
    if (failure) throw failure;
    return out;
  }
}

export async function fuzzLoop(options: LoopOptions, progress: (report: LoopReport) => void): Promise<LoopReport> {
  const target: FuzzTarget = await createTarget(options.target);
  const random = prng(options.seed);
  const header = new Int32Array(options.shared, 0, 2);
  const inputView = new Uint8Array(options.shared, 8);
  const classes = new Set<string>();
  const isNew = (outcome: readonly string[] | undefined) => outcome !== undefined && outcome.some((c) => !classes.has(c));
  const findings = new Map<string, { file: string; count: number }>();
  const coverage = options.coverage ? new Coverage() : undefined;
  const report = (): LoopReport => ({
    executions, corpus: corpus.length, classes: classes.size, coveredBlocks: coverage?.size ?? 0, slowest, maxRssMiB,
    findings: [...findings].map(([sig, f]) => ({ signature: sig, ...f })),
  });
  let executions = 0;
  let slowest: LoopReport['slowest'] = { ms: 0 };
  let maxRssMiB = 0;

  const save = (dir: string, input: Buffer): string => {
    const file = join(dir, fileName(input));
    if (options.save) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, input);
    }
    return file;
  };
  const finding = (sig: string, input: Buffer) => {
    const known = findings.get(sig);
    if (known) known.count++;
    else findings.set(sig, { file: save(findingsDir(options.target), input), count: 1 });
  };
  /** Runs one input; its class, or undefined when it was a finding. */
  const execute = (input: Buffer): readonly string[] | undefined => {
    header[1] = input.length;
    inputView.set(input.subarray(0, MAX_INPUT_BYTES));
    executions++;
    if (executions % PROGRESS_EVERY === 0) Atomics.store(header, 0, executions);
    const started = performance.now();
    try {
      const outcome = target.run(input);
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms };
      if (ms > SLOW_INPUT_MS) {
        const again = performance.now();
        target.run(input);
        if (performance.now() - again > SLOW_INPUT_MS) finding(`hang: over ${SLOW_INPUT_MS} ms`, input);
      }
      return outcome;
    } catch (err) {
      finding(signature(err), input);
      return undefined;
    }
  };
  /** Shortest cut of `input` (chunks deleted) still reaching every class of `outcome`. */
  const minimise = (input: Buffer, outcome: readonly string[]): Buffer => {
    let best = input;
    for (let i = 0; i < MINIMISE_ATTEMPTS && best.length > 1; i++) {
      const size = Math.max(1, Math.floor(best.length / (2 + (i % 8))));
      const at = Math.floor(random() * (best.length - size + 1));
      const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + size)]);
      const reached = execute(candidate);
      if (reached && outcome.every((c) => reached.includes(c))) best = candidate;
    }
    return best;
  };

  const corpus: Buffer[] = [];
  const keep = (input: Buffer, persist: boolean) => {
    const outcome = execute(input);
    if (outcome === undefined || !isNew(outcome)) return;
    const fresh = outcome.filter((c) => !classes.has(c));
    const kept = persist ? minimise(input, fresh) : input;
    for (const c of outcome) classes.add(c);
    if (corpus.length >= options.maxCorpus) return;
    corpus.push(kept);
    if (persist) save(corpusDir(options.target), kept);
  };
  for (const input of [...target.seeds(), ...readInputs(corpusDir(options.target))]) keep(input, false);
  for (const input of readInputs(findingsDir(options.target))) execute(input);
  coverage?.takeNew();

  let batch: Buffer[] = [];
  let nextRssAt = RSS_EVERY;
  try {
    while (executions < options.runs) {
      const input = mutate(corpus[Math.floor(random() * corpus.length)] as Buffer, corpus[Math.floor(random() * corpus.length)] as Buffer,
        target.grammar, random);
      const outcome = execute(input);
      if (isNew(outcome)) keep(input, true);
      if (coverage) {
        batch.push(input);
        if (batch.length === COVERAGE_BATCH) {
          if (coverage.takeNew() > 0) {
            for (const candidate of batch) {
              execute(candidate);
              if (coverage.takeNew() > 0 && corpus.length < options.maxCorpus) {
                corpus.push(candidate);
                save(corpusDir(options.target), candidate);
              }
            }
          }
          batch = [];
        }
      }
      if (executions >= nextRssAt) {
        nextRssAt += RSS_EVERY;
        const rss = process.memoryUsage().rss;
        maxRssMiB = Math.max(maxRssMiB, Math.round(rss / 2 ** 20));
        if (rss > MAX_RSS_BYTES) {
          finding(`memory: RSS ${Math.round(rss / 2 ** 20)} MiB`, input);
          break;
        }
        if (nextRssAt % (RSS_EVERY * 10) === 0) progress(report());
      }
    }
  } finally {
    target.close();
  }
  return report();
}

if (parentPort && workerData?.fuzzLoop) {
  const port = parentPort;
  const options = workerData.fuzzLoop as LoopOptions;
  fuzzLoop(options, (r) => port.postMessage({ progress: r })).then(
    (r) => port.postMessage({ done: r }),
    (err: unknown) => port.postMessage({ failed: String((err as Error)?.stack ?? err) }),
  );
}
