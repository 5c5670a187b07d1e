/**
 * Replays every kept fuzz input (corpus/<target>/) and every input that ever found a bug
 * (findings/<target>/) through its target: none may break its decoder's contract again.
 * The same targets the fuzzer drives (targets.ts), so a replay is exactly a fuzz execution.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusDir, createTarget, findingsDir, TARGET_NAMES, type TargetName } from './targets.js';

/** One replay well inside a hang's budget; a slower one is a regression of a fixed hang. */
const REPLAY_BUDGET_MS = 1_000;

function inputs(dir: string): { file: string; input: Buffer }[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();
  } catch {
    return [];
  }
  return files.map((f) => ({ file: join(dir, f), input: readFileSync(join(dir, f)) }));
}

for (const name of TARGET_NAMES) {
  test(`fuzz corpus and findings of ${name} replay within their contracts`, async () => {
    const target = await createTarget(name as TargetName);
    try {
      const all = [...target.seeds().map((input, i) => ({ file: `seed ${i}`, input })), ...inputs(corpusDir(name)), ...inputs(findingsDir(name))];
      for (const { file, input } of all) {
        const started = performance.now();
        assert.doesNotThrow(() => target.run(input), file);
        const ms = performance.now() - started;
        assert.ok(ms < REPLAY_BUDGET_MS, `${file} took ${ms.toFixed(0)} ms`);
      }
    } finally {
      target.close();
    }
  });
}
