/**
 * The HA chaos soak (soak-run.ts with `ha`) in short: two cluster members on a real Redis, about
 * 20 s of load with bridge and WebEx faults, the bridge owner SIGKILLed and Redis restarted,
 * then the same checks as `npm run soak -- --ha`.
 *
 * Part of `npm test`; `npm run test:chaos-ha` runs it alone (SOAK_SEED repeats its choices).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from './soak-run.js';

const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 100_000);

test('short HA chaos soak: owner kills and Redis restarts under load break no promise', async (t) => {
  t.diagnostic(`seed ${SEED} (replay with SOAK_SEED=${SEED})`);
  const report = await runSoak({ durationMs: 20_000, calls: 30, seed: SEED, commandEveryMs: 150, faultEveryMs: 2_500, killEveryMs: 4_000, ha: true });
  t.diagnostic(JSON.stringify({ ...report, violations: report.violations.length }));
  for (const v of report.violations) t.diagnostic(`violation: ${v}`);
  assert.deepEqual(report.violations, []);
  assert.ok(report.kills >= 1, 'an adaptor instance was killed');
  assert.ok((report.faults['redis-kill'] ?? 0) + (report.faults['redis-shutdown'] ?? 0) >= 1, 'Redis was restarted');
  assert.ok(report.confirmed > 0 && report.finalCallers > 0, 'load reached the bridge');
});
