/**
 * Writes a scenario's results: `<name>.json`, `<name>.md` (a summary table) and `<name>.svg`
 * (the latency distribution per message type beside the load curve), plus `summary.json`
 * over the scenarios of the run. The SVG is written by hand: a plot is a few paths.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ScenarioResult } from './scenario.js';

const WIDTH = 1_000;
const HEIGHT = 380;
const PANEL = { w: 440, h: 290, top: 50 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export async function writeScenario(dir: string, result: ScenarioResult): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${result.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(path.join(dir, `${result.name}.md`), markdown(result));
  await writeFile(path.join(dir, `${result.name}.svg`), svg(result));
}

export function markdown(result: ScenarioResult): string {
  const lines = [
    `# ${result.title}`,
    '',
    `${result.date}, ${result.durationS} s, ${result.machine.cores} cores (${result.machine.cpuModel}), Node ${result.machine.node}; load average ${result.loadAverage.start} at the start, ${result.loadAverage.end} at the end.`,
    `Processes: ${result.processes}.`,
    '',
    '| figure | value |',
    '|---|---|',
    ...Object.entries(result.figures).map(([k, v]) => `| ${k} | ${v} |`),
  ];
  const latencies = Object.entries(result.latencies);
  if (latencies.length > 0) {
    lines.push('', '| latency | count | p50 ms | p90 ms | p99 ms | max ms |', '|---|---|---|---|---|---|');
    for (const [name, l] of latencies) lines.push(`| ${name} | ${l.count} | ${l.p50Ms} | ${l.p90Ms} | ${l.p99Ms} | ${l.maxMs} |`);
  }
  if (result.notes.length > 0) lines.push('', ...result.notes.map((n) => `- ${n}`));
  lines.push('', `![plot](${result.name}.svg)`, '');
  return lines.join('\n');
}

export function svg(result: ScenarioResult): string {
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="10" y="18" font-size="13" font-weight="bold">${escape(result.title)}</text>`,
  ];
  const { bucketMs, byName } = result.histograms;
  const distribution = Object.entries(byName).map(([name, counts]) => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    let running = 0;
    // Cumulative share per bucket: comparable across message types of any count.
    return [name, counts.map((c, i): [number, number] => [(i + 1) * bucketMs, ((running += c) / total) * 100])] as const;
  });
  parts.push(panel(40, `latency distribution (cumulative %) per type`, 'ms', '%', Object.fromEntries(distribution)));
  parts.push(panel(540, `load curve`, result.curve.xLabel, result.curve.yLabel, result.curve.series));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function panel(left: number, title: string, xLabel: string, yLabel: string, series: Record<string, readonly [number, number][]>): string {
  const points = Object.values(series).flat();
  const out = [`<g transform="translate(${left},${PANEL.top})">`, `<text x="0" y="-8" font-weight="bold">${escape(title)}</text>`];
  out.push(`<rect width="${PANEL.w}" height="${PANEL.h}" fill="none" stroke="#999"/>`);
  if (points.length === 0) {
    out.push(`<text x="${PANEL.w / 2}" y="${PANEL.h / 2}" text-anchor="middle" fill="#999">no data in this scenario</text></g>`);
    return out.join('\n');
  }
  const maxX = niceMax(Math.max(...points.map((p) => p[0])));
  const maxY = niceMax(Math.max(...points.map((p) => p[1])));
  const x = (v: number): number => (v / maxX) * PANEL.w;
  const y = (v: number): number => PANEL.h - (v / maxY) * PANEL.h;
  for (let i = 0; i <= 4; i++) {
    const vx = (maxX * i) / 4;
    const vy = (maxY * i) / 4;
    out.push(`<text x="${x(vx)}" y="${PANEL.h + 14}" text-anchor="middle">${round(vx)}</text>`);
    out.push(`<text x="-4" y="${y(vy) + 4}" text-anchor="end">${round(vy)}</text>`);
    out.push(`<line x1="0" x2="${PANEL.w}" y1="${y(vy)}" y2="${y(vy)}" stroke="#eee"/>`);
  }
  out.push(`<text x="${PANEL.w / 2}" y="${PANEL.h + 28}" text-anchor="middle">${escape(xLabel)}</text>`);
  out.push(`<text transform="translate(-30,${PANEL.h / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  Object.entries(series).forEach(([name, pts], i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
    for (const p of pts.length <= 30 ? pts : []) out.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2" fill="${colour}"/>`);
    out.push(`<text x="${PANEL.w - 6}" y="${14 + i * 13}" text-anchor="end" fill="${colour}">${escape(name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= v) return step * magnitude;
  return 10 * magnitude;
}

const round = (v: number): string => (v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The keys the project quotes, taken from whichever scenario files exist in `dir`. */
export async function writeSummary(dir: string): Promise<Record<string, unknown>> {
  const read = async (name: string): Promise<ScenarioResult | undefined> => {
    try {
      return JSON.parse(await readFile(path.join(dir, `${name}.json`), 'utf8')) as ScenarioResult;
    } catch {
      return undefined;
    }
  };
  const [throughput, storm, steady, memory] = await Promise.all(['throughput', 'storm', 'steady', 'memory'].map(read));
  const figure = (r: ScenarioResult | undefined, key: string): number | null => r?.figures[key] ?? null;
  const summary = {
    commandsPerSecond: figure(throughput, 'commandsPerSecond'),
    confirmP99Ms: figure(throughput, 'confirmP99Ms'),
    ceilingPerSecond: figure(throughput, 'ceilingPerSecond'),
    ceilingRatio: throughput ? ratio(throughput.figures.commandsPerSecond ?? 0, throughput.figures.ceilingPerSecond ?? 0) : null,
    // CPU per command of the daemon and per request of the bare server: what the other work on a shared machine moves least.
    daemonCpuUsPerCommand: figure(throughput, 'daemonCpuUsPerCommand'),
    ceilingCpuUsPerRequest: figure(throughput, 'ceilingCpuUsPerRequest'),
    // The bridge emulator's, in its own process: the bridge's work, not the adaptor's.
    emulatorCpuUsPerCommand: figure(throughput, 'emulatorCpuUsPerCommand'),
    conferencesPerMinute: figure(storm, 'conferencesPerMinute'),
    createP99Ms: figure(storm, 'createP99Ms'),
    joinNotifyP99Ms: figure(storm, 'joinNotifyP99Ms'),
    portsFilled: figure(storm, 'portsFilled'),
    steadyRssMb: figure(steady, 'rssEndMb'),
    steadyRssGrowthPct: figure(steady, 'rssGrowthPct'),
    eventLoopP99Ms: figure(steady, 'eventLoopP99Ms'),
    lostMessages: figure(steady, 'lostMessages'),
    rssPerCallKb: figure(memory, 'rssPerCallKb'),
    machine: (throughput ?? storm ?? steady ?? memory)?.machine ?? null,
    // Over the whole run: from the first scenario's start to the last one's end.
    loadAverage: runLoadAverage([throughput, storm, steady, memory]),
    date: new Date().toISOString(),
    scenarios: Object.fromEntries(
      [throughput, storm, steady, memory].filter((r): r is ScenarioResult => r !== undefined).map((r) => [r.name, { date: r.date, durationS: r.durationS, loadAverage: r.loadAverage }]),
    ),
  };
  await writeFile(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** Share of the ceiling, two decimals; 0 when no step of the ceiling passed. */
const ratio = (reached: number, ceiling: number): number => (ceiling > 0 ? Math.round((reached / ceiling) * 100) / 100 : 0);

function runLoadAverage(results: (ScenarioResult | undefined)[]): { start: number; end: number } | null {
  const ran = results.filter((r): r is ScenarioResult => r !== undefined).sort((a, b) => a.date.localeCompare(b.date));
  const first = ran[0];
  const last = ran[ran.length - 1];
  return first && last ? { start: first.loadAverage.start, end: last.loadAverage.end } : null;
}
