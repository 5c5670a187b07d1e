/**
 * deploy/prometheus/ as Prometheus sees it: promtool accepts the scrape configuration and the
 * alert rules, and the rules' unit tests (deploy/prometheus/tests/) pass. The Grafana dashboard
 * is valid JSON whose every query reads tsp_ series or Prometheus' own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

export const PROMETHEUS_DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));

function promtool(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('promtool', args, { cwd: PROMETHEUS_DIR, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** Every expression of the dashboard. */
export async function dashboardExpressions(): Promise<string[]> {
  const dashboard = JSON.parse(await readFile(path.join(PROMETHEUS_DIR, 'grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  return dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
}

describe('Prometheus deployment files', () => {
  test('promtool check rules accepts the alert rules', async () => {
    const { code, output } = await promtool(['check', 'rules', 'tsp-adaptor.rules.yml']);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: 10 rules found/);
  });

  test('promtool test rules passes every rule test', async () => {
    const tests = (await readdir(path.join(PROMETHEUS_DIR, 'tests'))).filter((f) => f.endsWith('.yml')).map((f) => path.join('tests', f));
    assert.ok(tests.length > 0);
    const { code, output } = await promtool(['test', 'rules', ...tests]);
    assert.equal(code, 0, output);
  });

  test('promtool test rules fails when an alert does not fire as a test expects', async () => {
    // A rule test that must fail proves the exit code is read, not just printed.
    const { code } = await promtool(['test', 'rules', path.join('..', '..', 'test', 'ops', 'fixtures', 'prometheus-wrong-expectation.yml')]);
    assert.notEqual(code, 0);
  });

  test('promtool check config accepts the example scrape configuration', async () => {
    const { code, output } = await promtool(['check', 'config', 'prometheus.yml']);
    assert.equal(code, 0, output);
  });

  test('the Grafana dashboard queries only tsp_ series', async () => {
    const expressions = await dashboardExpressions();
    assert.ok(expressions.length >= 10);
    for (const expr of expressions) assert.match(expr, /tsp_[a-z_]+/, expr);
  });
});
