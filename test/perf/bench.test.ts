import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../../src/tools/bench/bench-command.js';
import { prepareDataDir, startTargets, type BenchTargets } from '../../src/tools/bench/harness.js';

const SUMMARY_KEYS = [
  'commandsPerSecond', 'confirmP99Ms', 'ceilingPerSecond', 'ceilingRatio', 'conferencesPerMinute', 'createP99Ms',
  'joinNotifyP99Ms', 'steadyRssMb', 'steadyRssGrowthPct', 'eventLoopP99Ms', 'lostMessages',
];

/**
 * A seconds-long smoke run of every benchmark scenario: each drives a real daemon in a child
 * process and writes its results. The figures of such a run mean nothing and are not checked;
 * that each scenario runs to the end and writes well-formed results is.
 */
describe('tsp-adaptor bench --smoke', () => {
  let out: string;
  let exitCode: number;
  const printed: string[] = [];

  before(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'bench-smoke-'));
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => (printed.push(chunk), true)) as typeof process.stdout.write;
    try {
      exitCode = await run(['--smoke', '--no-build', '--out', out]);
    } finally {
      process.stdout.write = write;
    }
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
  });

  test('runs every scenario and writes its JSON, Markdown and SVG', async () => {
    assert.equal(exitCode, 0, printed.join(''));
    const files = (await readdir(out)).sort();
    for (const name of ['throughput', 'storm', 'steady', 'memory']) {
      for (const ext of ['json', 'md', 'svg']) assert.ok(files.includes(`${name}.${ext}`), `${name}.${ext} written`);
      const result = JSON.parse(await readFile(path.join(out, `${name}.json`), 'utf8')) as Record<string, unknown>;
      assert.equal(result.name, name);
      assert.equal((result.machine as { cores: number }).cores > 0, true);
      for (const [key, value] of Object.entries(result.figures as Record<string, unknown>)) assert.ok(Number.isInteger(value), `${name}.${key} is a whole number`);
      assert.match(await readFile(path.join(out, `${name}.svg`), 'utf8'), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    }
  });

  test('runs the bridge emulator in a process of its own, its CPU counted apart from the daemon\'s', async () => {
    const throughput = JSON.parse(await readFile(path.join(out, 'throughput.json'), 'utf8')) as { figures: Record<string, number> };
    assert.ok(throughput.figures.daemonCpuUsPerCommand! > 0, 'the daemon\'s CPU per command is read');
    assert.ok(throughput.figures.emulatorCpuUsPerCommand! > 0, 'the bridge commands cost the emulator process CPU');
    for (const name of ['steady', 'storm']) {
      const result = JSON.parse(await readFile(path.join(out, `${name}.json`), 'utf8')) as { figures: Record<string, number> };
      assert.equal(typeof result.figures.emulatorCpuPct, 'number', `${name} records the emulator's CPU`);
    }
    const memory = JSON.parse(await readFile(path.join(out, 'memory.json'), 'utf8')) as { figures: Record<string, number> };
    assert.ok(memory.figures.emulatorRss0CallsMb! > 0, 'the emulator process\'s RSS is read');
  });

  test('writes summary.json with every key the project quotes', async () => {
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    for (const key of SUMMARY_KEYS) assert.equal(typeof summary[key], 'number', key);
    assert.equal(summary.lostMessages, 0, 'nothing lost even in a smoke run');
    assert.ok(summary.machine && summary.date);
  });

  test('refuses an unknown scenario with exit code 2', async () => {
    assert.equal(await run(['--scenario', 'nonesuch']), 2);
  });
});

/**
 * `--url`: an adaptor bench did not start (here a daemon and its bridge emulator in child
 * processes it is told about) is driven as it runs; the scenarios that read the daemon's own
 * process are refused.
 */
describe('tsp-adaptor bench --url', () => {
  let out: string;
  let prepared: Awaited<ReturnType<typeof prepareDataDir>>;
  let targets: BenchTargets;
  let url: string;
  let control: string;

  before(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'bench-url-'));
    prepared = await prepareDataDir();
    targets = await startTargets(prepared.dataDir, { webex: { port: 0 }, admin: { port: 0 }, log: { level: 'warn' } });
    url = targets.daemon.ready.url;
    control = targets.emulator.ready.url;
  });
  after(async () => {
    await targets?.stop();
    await rm(out, { recursive: true, force: true });
    if (prepared) await rm(prepared.dataDir, { recursive: true, force: true });
  });

  test('runs the throughput scenario against the running adaptor', async () => {
    const write = process.stdout.write;
    const printed: string[] = [];
    process.stdout.write = ((chunk: string) => (printed.push(chunk), true)) as typeof process.stdout.write;
    let exitCode;
    try {
      exitCode = await run(['--smoke', '--scenario', 'throughput', '--url', url, '--emulator', control, '--out', out]);
    } finally {
      process.stdout.write = write;
    }
    assert.equal(exitCode, 0, printed.join(''));
    const result = JSON.parse(await readFile(path.join(out, 'throughput.json'), 'utf8')) as { figures: Record<string, number>; notes: string[] };
    assert.ok(result.figures.peakPerSecond! > 0, 'commands were confirmed by the running adaptor');
    assert.ok(result.notes.some((n) => n.includes(url)), 'the results name the adaptor driven');
  });

  test('refuses the scenarios that need the daemon started by bench, and --url without --emulator', async () => {
    assert.equal(await run(['--scenario', 'memory', '--url', url, '--emulator', control]), 2);
    assert.equal(await run(['--url', url]), 2);
  });
});
