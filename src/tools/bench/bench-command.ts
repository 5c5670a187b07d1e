/**
 * `tsp-adaptor bench [--scenario NAME]... [--duration S] [--smoke] [--out DIR]`: runs the
 * benchmark scenarios (docs/benchmarks.md) against a daemon it starts in a child process, or
 * one already running (`--url`, with `--emulator` for its bridge), and writes their results to
 * bench/results/ (or --out), then summary.json over them.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { writeScenario, writeSummary } from './report.js';
import type { RemoteAdaptor, Scenario } from './scenario.js';
import { defaultTargetEntry, type TargetEntry } from './target.js';
import { memory } from './scenarios/memory.js';
import { steady } from './scenarios/steady.js';
import { storm } from './scenarios/storm.js';
import { throughput } from './scenarios/throughput.js';

/** In run order: the long steady state first, the scenarios that need the whole CPU last. */
const SCENARIOS: Record<string, Scenario> = { steady, memory, storm, throughput };
/** What a running adaptor can be measured for: the others read the daemon's own process figures. */
const REMOTE_SCENARIOS = ['storm', 'throughput'];
const USAGE = `usage: tsp-adaptor bench [--scenario ${Object.keys(SCENARIOS).join('|')}]... [--duration S] [--smoke] [--no-build] [--out DIR] [--cpu-prof DIR] [--heap-snapshot DIR]
       [--rate N]...   throughput at these offered rates only, each measured (no climb)
       [--url WEBEX_URL --emulator CONTROL_URL [--ca PEM_FILE]]   drive a running adaptor (${REMOTE_SCENARIOS.join(', ')} only)`;
/** Where the compiled copy of the target goes (ignored by git). */
const BUILD_DIR = 'bench/results/tmp/build';

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        scenario: { type: 'string', multiple: true },
        duration: { type: 'string' },
        smoke: { type: 'boolean', default: false },
        'no-build': { type: 'boolean', default: false },
        out: { type: 'string', default: 'bench/results' },
        url: { type: 'string' },
        emulator: { type: 'string' },
        ca: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'heap-snapshot': { type: 'string' },
        rate: { type: 'string', multiple: true },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const remote = await remoteAdaptor(values);
  if (typeof remote === 'string') {
    process.stderr.write(`${remote}\n${USAGE}\n`);
    return 2;
  }
  const names = values.scenario ?? (remote ? REMOTE_SCENARIOS : Object.keys(SCENARIOS));
  const unknown = names.filter((n) => !SCENARIOS[n]);
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const local = remote ? names.filter((n) => !REMOTE_SCENARIOS.includes(n)) : [];
  if (local.length > 0) {
    process.stderr.write(`${local.join(', ')} read the daemon's own RSS, CPU and event loop: run without --url so bench starts the daemon\n${USAGE}\n`);
    return 2;
  }
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  if (durationS !== undefined && !(durationS > 0)) {
    process.stderr.write(`--duration must be a positive number of seconds\n${USAGE}\n`);
    return 2;
  }
  const rates = values.rate?.map(Number);
  if (rates && !rates.every((r) => Number.isInteger(r) && r > 0)) {
    process.stderr.write(`--rate takes a whole number of commands per second above 0\n${USAGE}\n`);
    return 2;
  }
  const out = path.resolve(values.out);
  if (remote && values['cpu-prof']) {
    process.stderr.write(`--cpu-prof profiles a daemon bench starts: it cannot go with --url\n${USAGE}\n`);
    return 2;
  }
  const heapSnapshotDir = values['heap-snapshot'] === undefined ? undefined : path.resolve(values['heap-snapshot']);
  if (heapSnapshotDir) await mkdir(heapSnapshotDir, { recursive: true });
  const built = values['no-build'] || remote ? undefined : await compiledTarget();
  const profileDir = values['cpu-prof'] === undefined ? undefined : path.resolve(values['cpu-prof']);
  // Each target process (daemon, bare server) writes its V8 CPU profile there when it exits.
  const targetEntry = profileDir ? withCpuProfile(built ?? defaultTargetEntry(), profileDir) : built;
  let failed = 0;
  for (const name of names) {
    process.stderr.write(`bench: ${name}\n`);
    let result;
    try {
      result = await SCENARIOS[name]!({
        smoke: values.smoke,
        ...(durationS ? { durationS } : {}),
        ...(targetEntry ? { targetEntry } : {}),
        ...(remote ? { remote } : {}),
        ...(heapSnapshotDir ? { heapSnapshotDir } : {}),
        ...(rates ? { rates } : {}),
      });
    } catch (err) {
      // The other scenarios still run: a long run should not be lost to one failure.
      failed += 1;
      process.stderr.write(`bench: ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
      continue;
    }
    if (profileDir) result.notes.push(`profiled (--cpu-prof ${profileDir}): the profiler's own cost is in every figure`);
    if (remote) result.notes.push(`the adaptor at ${remote.url} was driven as it runs (started elsewhere); the bare server ran on this machine`);
    else if (!built) result.notes.push('the daemon ran from the TypeScript sources through tsx (--no-build): its RSS includes the loader\'s share');
    await writeScenario(out, result);
    // Rewritten after each scenario, so a run cut short still leaves what it measured.
    await writeSummary(out);
    process.stdout.write(`${name}: ${JSON.stringify(result.figures)}\n`);
  }
  process.stdout.write(`summary: ${JSON.stringify(await writeSummary(out))}\n`);
  return failed > 0 ? 1 : 0;
}

function withCpuProfile(entry: TargetEntry, dir: string): TargetEntry {
  return { ...entry, execArgv: [...entry.execArgv, '--cpu-prof', `--cpu-prof-dir=${dir}`] };
}

/** The running adaptor `--url` names, an error to print, or undefined without --url. */
async function remoteAdaptor(values: { url?: string; emulator?: string; ca?: string }): Promise<RemoteAdaptor | string | undefined> {
  if (values.url === undefined) return values.emulator || values.ca ? '--emulator and --ca go with --url' : undefined;
  if (!URL.canParse(values.url) || new URL(values.url).protocol !== 'https:') return `--url ${values.url}: give the adaptor's WebEx URL, https://HOST:PORT/PATH`;
  if (!values.emulator || !URL.canParse(values.emulator)) return '--url needs --emulator CONTROL_URL: the bridge side is played through the emulator\'s control interface';
  let ca: string | undefined;
  if (values.ca) {
    try {
      ca = await readFile(values.ca, 'utf8');
    } catch (err) {
      return `--ca ${values.ca}: ${(err as Error).message}`;
    }
  }
  return { url: values.url, emulatorControl: values.emulator, ...(ca ? { ca } : {}) };
}

/**
 * The daemon as deployed runs compiled: from a checkout, compile the sources once (tsc emits
 * even when a file has type errors) and run the target from that copy with plain node.
 */
async function compiledTarget(): Promise<TargetEntry | undefined> {
  const here = fileURLToPath(import.meta.url);
  if (path.extname(here) === '.js') return undefined;
  const root = path.resolve(path.dirname(here), '../../..');
  const outDir = path.join(root, BUILD_DIR);
  process.stderr.write(`bench: compiling the daemon into ${BUILD_DIR}\n`);
  await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root }).catch((err: { stdout?: string }) => {
    process.stderr.write(`bench: tsc reported errors (the copy is still emitted):\n${err.stdout ?? ''}`);
  });
  const file = path.join(outDir, 'src/tools/bench/target-process.js');
  await access(file);
  return { file, execArgv: [] };
}
