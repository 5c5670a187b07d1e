/**
 * `node --import tsx bench/cpu-profile.ts [--svg OUT.svg] FILE.cpuprofile [TOP]`: what a V8 CPU
 * profile of the daemon says, as text: the busy time by activity (each sample charged to the
 * innermost frame that names one: the WebEx route, A2W posts, the store, the protocol,
 * commands, the bridge driver and emulator, observers), then the functions with the most self
 * and total time; with --svg, also a flame graph of it (bench/flame-graph.ts). Profiles come
 * from `tsp-adaptor bench --cpu-prof DIR` (docs/benchmarks.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { flameGraphSvg, frameLabel, type CpuProfile, type ProfileNode } from './flame-graph.js';

/** Innermost match wins; the order only matters for frames two rules could both name. */
const ACTIVITIES: [string, RegExp][] = [
  ['bridge emulator', /bridges\/emulator\//],
  ['bridge driver and link', /bridges\//],
  ['A2W posts (hand-over to the poster thread; poster, undici)', /adaptor\/(threaded-)?poster\.js|undici\//],
  ['A2W outbox', /outbox\/outbox\.js/],
  ['store (SQLite)', /sqlite-store|better-sqlite3/],
  ['observers (live feed, metrics)', /adaptor\/live\/|metrics\//],
  ['commands and transitions', /command-runner|conference\//],
  ['engine', /adaptor\/engine\.js/],
  ['W2A route (express, tsp-route, Confirmation write)', /tsp-route|express|router\//],
  ['HTTP server (node)', /_http_server|_http_common/],
  ['protocol (decode, encode)', /protocol\//],
];
const LOOP_STATES = new Set(['(idle)', '(garbage collector)', '(program)']);

const USAGE = 'usage: node --import tsx bench/cpu-profile.ts [--svg OUT.svg] FILE.cpuprofile [TOP]\n';
let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { svg: { type: 'string' } } });
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const [file, topArg] = parsed.positionals;
if (!file) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
if (parsed.values.svg) {
  writeFileSync(parsed.values.svg, flameGraphSvg(profile, path.basename(file)));
  process.stderr.write(`flame graph written to ${parsed.values.svg}\n`);
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const msPerSample = (profile.endTime - profile.startTime) / profile.samples.length / 1_000;
const label = (n: ProfileNode): string => frameLabel(n.callFrame);

const activity = new Map<string, number>();
const self = new Map<string, number>();
const total = new Map<string, number>();
const add = (map: Map<string, number>, key: string, count: number): void => void map.set(key, (map.get(key) ?? 0) + count);
for (const [id, count] of hits) {
  const leaf = byId.get(id)!;
  add(self, label(leaf), count);
  const seen = new Set<string>();
  let named = LOOP_STATES.has(leaf.callFrame.functionName) ? leaf.callFrame.functionName : undefined;
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const node = byId.get(at)!;
    const key = label(node);
    if (!seen.has(key)) add(total, key, count);
    seen.add(key);
    named ??= ACTIVITIES.find(([, pattern]) => pattern.test(node.callFrame.url))?.[0];
  }
  add(activity, named ?? `other: ${leaf.callFrame.functionName || '(anonymous)'}`, count);
}

const idle = activity.get('(idle)') ?? 0;
const busy = profile.samples.length - idle;
const line = (count: number, name: string): string =>
  `${(count * msPerSample).toFixed(0).padStart(8)} ms ${((100 * count) / busy).toFixed(1).padStart(5)}%  ${name}`;
const print = (title: string, map: Map<string, number>, skipIdle: boolean): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, count] of [...map].filter(([n]) => !skipIdle || !(n.startsWith('(idle)') || n.startsWith('(root)'))).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${line(count, name)}\n`);
  }
};
process.stdout.write(`${file}: ${((profile.samples.length * msPerSample) / 1_000).toFixed(1)} s sampled, ${((busy * msPerSample) / 1_000).toFixed(1)} s busy (shares are of busy time)\n`);
print('by activity', activity, true);
print('self time', self, true);
print('total time', total, true);
