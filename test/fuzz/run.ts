/**
 * `npm run fuzz -- [--target NAME|all] [--runs N] [--seed S] [--coverage] [--no-save] [--max-corpus N]`
 *
 * Fuzzes the WebEx decode path and both driver codecs and framers (targets.ts), one target after
 * another, each in a worker watched from here: an input that stalls the worker for WATCHDOG_MS
 * is saved as a hang finding. Prints executions, execs/s, corpus size and findings per target;
 * exits 1 when any target had a finding. Kept inputs go to corpus/<target>/, findings to
 * findings/<target>/, both replayed by replay.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { MAX_INPUT_BYTES } from './mutate.js';
import { fileName, type LoopOptions, type LoopReport } from './fuzz-loop.js';
import { findingsDir, TARGET_NAMES, type TargetName } from './targets.js';

/** No progress tick for this long means the input under test does not return. */
const WATCHDOG_MS = 20_000;
const WATCHDOG_POLL_MS = 1_000;

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'all' },
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    coverage: { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
    'max-corpus': { type: 'string', default: '250' },
  },
});

const names: TargetName[] = values.target === 'all' ? [...TARGET_NAMES] : [values.target as TargetName];
for (const name of names) {
  if (!TARGET_NAMES.includes(name)) throw new Error(`unknown target ${name}: use one of ${TARGET_NAMES.join(', ')} or all`);
}

function runTarget(name: TargetName): Promise<LoopReport> {
  const shared = new SharedArrayBuffer(8 + MAX_INPUT_BYTES);
  const options: LoopOptions = {
    target: name, runs: Number(values.runs), seed: Number(values.seed), coverage: values.coverage,
    save: !values['no-save'], maxCorpus: Number(values['max-corpus']), shared,
  };
  // A .ts entry point is not run through tsx's hooks on Node 20; a dynamic import from it is.
  const loop = JSON.stringify(new URL('./fuzz-loop.ts', import.meta.url).href);
  const entry = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${loop}); })`;
  const worker = new Worker(entry, { eval: true, workerData: { fuzzLoop: options } });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const header = new Int32Array(shared, 0, 2);
    let last = -1;
    let lastMoved = Date.now();
    const watchdog = setInterval(() => {
      const done = Atomics.load(header, 0);
      if (done !== last) {
        last = done;
        lastMoved = Date.now();
        return;
      }
      if (Date.now() - lastMoved < WATCHDOG_MS) return;
      clearInterval(watchdog);
      const input = Buffer.from(new Uint8Array(shared, 8, Math.min(header[1] ?? 0, MAX_INPUT_BYTES)));
      mkdirSync(findingsDir(name), { recursive: true });
      const file = join(findingsDir(name), fileName(input));
      writeFileSync(file, input);
      void worker.terminate();
      resolve({ executions: done, corpus: 0, classes: 0, coveredBlocks: 0, slowest: { ms: WATCHDOG_MS, file }, maxRssMiB: 0,
        findings: [{ signature: `hang: no return within ${WATCHDOG_MS} ms`, file, count: 1 }] });
    }, WATCHDOG_POLL_MS);
    worker.on('message', (m: { progress?: LoopReport; done?: LoopReport; failed?: string }) => {
      if (m.progress) print(name, m.progress, started, 'progress');
      if (m.done) {
        clearInterval(watchdog);
        resolve(m.done);
      }
      if (m.failed) {
        clearInterval(watchdog);
        reject(new Error(`${name}: ${m.failed}`));
      }
    });
    worker.on('error', (err) => {
      clearInterval(watchdog);
      reject(err);
    });
  }).finally(() => void worker.terminate()) as Promise<LoopReport>;
}

function print(name: string, r: LoopReport, started: number, label: string): void {
  const seconds = (Date.now() - started) / 1000;
  const rate = Math.round(r.executions / Math.max(seconds, 0.001));
  const blocks = r.coveredBlocks ? ` blocks=${r.coveredBlocks}` : '';
  console.log(`${label} ${name}: executions=${r.executions} seconds=${seconds.toFixed(1)} execs/s=${rate} corpus=${r.corpus} ` +
    `classes=${r.classes}${blocks} findings=${r.findings.length} slowest=${r.slowest.ms.toFixed(1)}ms maxRss=${r.maxRssMiB}MiB`);
}

let failed = false;
for (const name of names) {
  const started = Date.now();
  const report = await runTarget(name);
  print(name, report, started, 'done');
  for (const f of report.findings) {
    failed = true;
    console.log(`  FINDING ${f.signature} x${f.count} -> ${f.file}`);
  }
}
process.exitCode = failed ? 1 : 0;
