/**
 * The chaos soak (soak-run.ts) in short: about 20 s of load with faults and one daemon kill,
 * then the same checks as `npm run soak`: no crash, every confirmed command answered once and
 * carried out at most once, every notification delivered, the engine's state equal to the bridge's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from './soak-run.js';

const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 100_000);

test('short chaos soak: faults and a kill under load break no promise', async (t) => {
  t.diagnostic(`seed ${SEED} (replay with SOAK_SEED=${SEED})`);
  const report = await runSoak({ durationMs: 15_000, calls: 40, seed: SEED, commandEveryMs: 150, faultEveryMs: 2_500, killEveryMs: 12_000 });
  t.diagnostic(JSON.stringify({ ...report, violations: report.violations.length }));
  for (const v of report.violations) t.diagnostic(`violation: ${v}`);
  assert.deepEqual(report.violations, []);
  assert.ok(report.kills >= 1, 'the daemon was killed at least once');
  assert.ok(report.confirmed > 0 && report.finalCallers > 0, 'load reached the bridge');
});
