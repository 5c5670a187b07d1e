/**
 * `node --import tsx bench/heap-compare.ts START.heapsnapshot END.heapsnapshot [TOP]`: what
 * grew between two V8 heap snapshots of one process (`tsp-adaptor bench --scenario steady
 * --heap-snapshot DIR` writes one at the start and one at the end of the steady state): live
 * objects counted and their own sizes summed by kind and constructor (objects and closures
 * by name, plain objects by their property names as well, strings and numbers by kind), the
 * groups whose size grew most first. A group that keeps growing with the run is held
 * somewhere; a bounded cache filling stops at its bound.
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Kinds whose name says what they are (a constructor, a function, an internal array's role). */
const NAMED_KINDS = new Set(['object', 'closure', 'native', 'array', 'hidden', 'code', 'object shape', 'synthetic']);
const NAME_CHARS = 80;
/** A plain object is told apart by its first property names, sorted: enough to find it in the source. */
const SHAPE_KEYS = 6;

function groups(file: string): Map<string, Group> {
  const heap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const fields = heap.snapshot.meta.node_fields;
  const kinds = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const at = { type: fields.indexOf('type'), name: fields.indexOf('name'), size: fields.indexOf('self_size'), edges: fields.indexOf('edge_count') };
  const edgeFields = heap.snapshot.meta.edge_fields;
  const edgeWidth = edgeFields.length;
  const edgeAt = { type: edgeFields.indexOf('type'), name: edgeFields.indexOf('name_or_index') };
  const property = heap.snapshot.meta.edge_types[0].indexOf('property');
  const out = new Map<string, Group>();
  let edge = 0;
  for (let i = 0; i < heap.nodes.length; i += width) {
    const kind = kinds[heap.nodes[i + at.type]!] ?? 'unknown';
    const name = heap.strings[heap.nodes[i + at.name]!]!;
    const edges = heap.nodes[i + at.edges]!;
    let key = NAMED_KINDS.has(kind) ? `${kind} ${name.slice(0, NAME_CHARS)}` : kind;
    if (kind === 'object' && name === 'Object') {
      const names: string[] = [];
      for (let e = edge; e < edge + edges * edgeWidth; e += edgeWidth) {
        if (heap.edges[e + edgeAt.type] === property) names.push(heap.strings[heap.edges[e + edgeAt.name]!]!);
      }
      key += ` {${names.filter((n) => n !== '__proto__').sort().slice(0, SHAPE_KEYS).join(',')}}`;
    }
    edge += edges * edgeWidth;
    const group = out.get(key) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += heap.nodes[i + at.size]!;
    out.set(key, group);
  }
  return out;
}

function main(): void {
  const [startFile, endFile, topArg] = process.argv.slice(2);
  if (!startFile || !endFile) {
    process.stderr.write('usage: node --import tsx bench/heap-compare.ts START.heapsnapshot END.heapsnapshot [TOP]\n');
    process.exit(2);
  }
  const top = Number(topArg ?? 30);
  const start = groups(startFile);
  const end = groups(endFile);
  const total = (m: Map<string, Group>): Group => [...m.values()].reduce((a, g) => ({ count: a.count + g.count, bytes: a.bytes + g.bytes }), { count: 0, bytes: 0 });
  const [t0, t1] = [total(start), total(end)];
  const kb = (bytes: number): string => (bytes / 1_024).toFixed(0);
  process.stdout.write(`live objects ${t0.count} -> ${t1.count}, self size ${kb(t0.bytes)} -> ${kb(t1.bytes)} KB (${kb(t1.bytes - t0.bytes)} KB)\n\n`);
  process.stdout.write(`${'KB start'.padStart(10)} ${'KB end'.padStart(10)} ${'KB diff'.padStart(9)} ${'count start'.padStart(12)} ${'count end'.padStart(10)} ${'diff'.padStart(8)}  kind and name\n`);
  const rows = [...new Set([...start.keys(), ...end.keys()])].map((key) => {
    const a = start.get(key) ?? { count: 0, bytes: 0 };
    const b = end.get(key) ?? { count: 0, bytes: 0 };
    return { key, a, b, grew: b.bytes - a.bytes };
  });
  for (const { key, a, b, grew } of rows.sort((x, y) => Math.abs(y.grew) - Math.abs(x.grew)).slice(0, top)) {
    process.stdout.write(
      `${kb(a.bytes).padStart(10)} ${kb(b.bytes).padStart(10)} ${kb(grew).padStart(9)} ${String(a.count).padStart(12)} ${String(b.count).padStart(10)} ${String(b.count - a.count).padStart(8)}  ${key}\n`,
    );
  }
}

main();
