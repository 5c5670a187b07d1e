/**
 * A real Prometheus (Debian's /usr/bin/prometheus, on loopback, with a temporary data directory)
 * scrapes a real daemon (in-process, with the embedded emulator) every second. Through
 * Prometheus' HTTP API the test waits until the target is up and the tsp_ series have arrived,
 * then checks that the alert rules loaded and that every dashboard query is valid PromQL.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createConference, startStack, type Stack } from '../e2e/support.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMETHEUS_DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
/** Bounds of every wait on Prometheus: it starts, scrapes every second, evaluates every second. */
const WAIT_MS = 30_000;
const POLL_MS = 200;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `probe` until it returns a value, within WAIT_MS; the last failure is in the error. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`Prometheus: ${what} not seen within ${WAIT_MS} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

describe('a real Prometheus scraping the daemon', () => {
  let stack: Stack;
  let prometheus: ChildProcess | undefined;
  let dir: string;
  let api: string;
  const output: string[] = [];

  const get = async <T>(route: string): Promise<ApiAnswer<T>> => (await (await fetch(`${api}${route}`)).json()) as ApiAnswer<T>;
  const query = (expr: string) => get<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);

  before(async () => {
    // The deep check runs once, by hand (no loopback number: its caller steps are skipped).
    stack = await startStack({ deepCheck: { enabled: true }, jobs: { deepCheck: '0 0 1 1 *' } });
    await createConference(stack.sim, 'conf-scraped', '5550002');
    assert.equal(await stack.daemon.jobs.trigger('deep-check'), 'success');
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-prometheus-'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const target = new URL(stack.daemon.adminUrl).host;
    await writeFile(path.join(dir, 'prometheus.yml'), [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(path.join(PROMETHEUS_DIR, 'tsp-adaptor.rules.yml'))}`,
      'scrape_configs:',
      '  - job_name: tsp-adaptor',
      '    static_configs:',
      `      - targets: [${JSON.stringify(target)}]`,
      '',
    ].join('\n'));
    prometheus = spawn(PROMETHEUS, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    prometheus.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = once(prometheus, 'exit');
      prometheus.kill('SIGTERM');
      await exited;
    }
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the daemon is an up target and its tsp_ series arrive', async () => {
    const up = await waitFor('the tsp-adaptor target up', async () => {
      const targets = await get<{ activeTargets: { labels: Record<string, string>; health: string }[] }>('/api/v1/targets');
      return targets.data.activeTargets.find((t) => t.labels.job === 'tsp-adaptor' && t.health === 'up');
    });
    assert.equal(up.labels.instance, new URL(stack.daemon.adminUrl).host);
    const bridgeUp = await waitFor('tsp_bridge_up', async () => (await query('tsp_bridge_up')).data.result[0]);
    assert.equal(bridgeUp.metric.bridge, 'emulator');
    assert.equal(bridgeUp.value[1], '1');
    const conferences = await waitFor('tsp_conferences', async () => (await query('tsp_conferences{state="running"}')).data.result[0]);
    assert.equal(conferences.value[1], '1');
    const deepCheck = await waitFor('tsp_deep_check_success', async () => (await query('tsp_deep_check_success')).data.result[0]);
    assert.equal(deepCheck.value[1], '1');
    const names = await get<string[]>('/api/v1/label/__name__/values');
    assert.ok(names.data.filter((n) => n.startsWith('tsp_')).length >= 30, `tsp_ series seen: ${names.data.filter((n) => n.startsWith('tsp_')).join(' ')}`);
  });

  test('the alert rules are loaded and none fires on a healthy daemon', async () => {
    const rules = await get<{ groups: { rules: { name: string; health: string }[] }[] }>('/api/v1/rules');
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    assert.equal(loaded.length, 10, output.join(''));
    const firing = await query('ALERTS{alertstate="firing"}');
    assert.deepEqual(firing.data.result.map((r) => r.metric.alertname), []);
  });

  test('every tsp_ series the rules and the dashboard name is one the daemon exports', async () => {
    const exported = await (await fetch(`${stack.daemon.adminUrl}/metrics`)).text();
    const referenced = new Set([
      ...(await readFile(path.join(PROMETHEUS_DIR, 'tsp-adaptor.rules.yml'), 'utf8')).matchAll(/tsp_[a-z0-9_]+/g),
      ...(await readFile(path.join(PROMETHEUS_DIR, 'grafana-dashboard.json'), 'utf8')).matchAll(/tsp_[a-z0-9_]+/g),
    ].map((m) => m[0]));
    for (const name of referenced) assert.match(exported, new RegExp(`^# TYPE ${name.replace(/_(bucket|count|sum)$/, '')} `, 'm'), `${name} is not exported`);
  });

  test('every dashboard query is valid PromQL that Prometheus answers', async () => {
    const dashboard = JSON.parse(await readFile(path.join(PROMETHEUS_DIR, 'grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    for (const expr of dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))) {
      const answer = await query(expr.replaceAll('$instance', '.+'));
      assert.equal(answer.status, 'success', `${expr}: ${answer.error}`);
    }
  });
});
