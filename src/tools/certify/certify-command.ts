/**
 * `tsp-adaptor certify URL [--emulator CONTROL_URL] [--ca FILE | --insecure]
 * [--listen HOST[:PORT]] [--timeout MS]`: plays WebEx against a running adaptor (any
 * deployment) and prints a pass/fail table per scenario; exits 1 on any failure, 2 on bad
 * arguments. The simulator's A2W receiver listens on --listen (127.0.0.1 by default) and is
 * given to the adaptor as WbxHostName, so the adaptor's webex.allowedHosts must allow it.
 * With --emulator (the bridge emulator's control interface) the caller flows are played too.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createCodec } from '../../protocol/index.js';
import { WebexSim } from '../../webex-sim/webex-sim.js';
import { EmulatorClient } from '../emulator-client.js';
import { CALLER_SCENARIOS } from './caller-scenarios.js';
import { CertifyContext, type CertifyScenario } from './check.js';
import { WEBEX_SCENARIOS } from './webex-scenarios.js';

const USAGE = 'usage: tsp-adaptor certify URL [--emulator CONTROL_URL] [--ca FILE | --insecure] [--listen HOST[:PORT]] [--timeout MS]';
const DEFAULT_TIMEOUT_MS = 10_000;

export interface ScenarioOutcome {
  name: string;
  passed: boolean;
  skipped: boolean;
  ms: number;
  detail: string;
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        emulator: { type: 'string' },
        ca: { type: 'string' },
        insecure: { type: 'boolean', default: false },
        listen: { type: 'string', default: '127.0.0.1' },
        timeout: { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [url, ...extra] = positionals;
  const listen = /^(?<host>\[[^\]]+\]|[^:]+)(?::(?<port>\d+))?$/.exec(values.listen)?.groups;
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(values.timeout);
  const problem =
    !url || extra.length > 0 ? 'give exactly one adaptor URL, e.g. https://tsp.example.com/tsp'
    : !/^https?:\/\//.test(url) ? `${url} is not an http(s) URL`
    : values.ca && values.insecure ? '--ca and --insecure exclude each other'
    : !listen ? `--listen ${values.listen}: expected HOST or HOST:PORT`
    : !(timeoutMs > 0) ? '--timeout must be a positive number of milliseconds'
    : undefined;
  if (problem || !url || !listen) {
    process.stderr.write(`certify: ${problem}\n${USAGE}\n`);
    return 2;
  }
  let ca: string | undefined;
  try {
    ca = values.ca ? await readFile(values.ca, 'utf8') : undefined;
  } catch (err) {
    process.stderr.write(`certify: cannot read --ca ${values.ca}: ${(err as Error).message}\n`);
    return 2;
  }
  // As curl -k: the operator asked not to verify the adaptor's certificate.
  if (values.insecure) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const outcomes = await certify({
    url,
    ...(ca ? { ca } : {}),
    ...(values.emulator ? { emulator: values.emulator } : {}),
    host: listen.host!.replace(/^\[|\]$/g, ''),
    ...(listen.port ? { port: Number(listen.port) } : {}),
    timeoutMs,
  });
  process.stdout.write(table(outcomes));
  return outcomes.some((o) => !o.passed && !o.skipped) ? 1 : 0;
}

/** Runs every scenario against the adaptor at `url`, in order, each on its own conferences. */
export async function certify(options: { url: string; ca?: string; emulator?: string; host?: string; port?: number; timeoutMs?: number }): Promise<ScenarioOutcome[]> {
  const codec = await createCodec();
  const simOptions = { adaptorUrl: options.url, codec, host: options.host ?? '127.0.0.1', ...(options.ca ? { adaptorCa: options.ca } : {}) };
  const sim = new WebexSim({ ...simOptions, ...(options.port ? { port: options.port } : {}) });
  const second = new WebexSim({ ...simOptions, ...(options.port ? { port: options.port + 1 } : {}) });
  const undelivered: string[] = [];
  for (const s of [sim, second]) s.on('error', (err) => undelivered.push(err.message));
  const outcomes: ScenarioOutcome[] = [];
  try {
    await sim.start();
    await second.start();
    const ctx = new CertifyContext({ sim, second, ...(options.emulator ? { emulator: new EmulatorClient(options.emulator) } : {}), timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    for (const scenario of [...WEBEX_SCENARIOS, ...CALLER_SCENARIOS]) outcomes.push(await runOne(scenario, ctx, !!options.emulator, undelivered));
  } finally {
    await second.close();
    await sim.close();
    codec.close();
  }
  return outcomes;
}

async function runOne(scenario: CertifyScenario, ctx: CertifyContext, haveEmulator: boolean, undelivered: string[]): Promise<ScenarioOutcome> {
  if (scenario.needsEmulator && !haveEmulator) return { name: scenario.name, passed: false, skipped: true, ms: 0, detail: 'needs --emulator' };
  const started = performance.now();
  const before = undelivered.length;
  try {
    await scenario.run(ctx);
    const failedAnswers = undelivered.slice(before);
    if (failedAnswers.length > 0) throw new Error(failedAnswers.join('; '));
    return { name: scenario.name, passed: true, skipped: false, ms: Math.round(performance.now() - started), detail: scenario.checks };
  } catch (err) {
    return { name: scenario.name, passed: false, skipped: false, ms: Math.round(performance.now() - started), detail: (err as Error).message };
  }
}

export function table(outcomes: ScenarioOutcome[]): string {
  const width = Math.max(...outcomes.map((o) => o.name.length), 'scenario'.length);
  const rows = outcomes.map((o) => `${o.name.padEnd(width)}  ${(o.skipped ? 'SKIP' : o.passed ? 'PASS' : 'FAIL').padEnd(6)}${String(o.ms).padStart(6)} ms  ${o.detail}`);
  const failed = outcomes.filter((o) => !o.passed && !o.skipped).length;
  const skipped = outcomes.filter((o) => o.skipped).length;
  return [
    `${'scenario'.padEnd(width)}  result    time  detail`,
    ...rows,
    '',
    `${outcomes.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped`,
    '',
  ].join('\n');
}
