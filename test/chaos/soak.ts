/**
 * `npm run soak [-- --minutes 10 --calls 350 --seed 1 --kill-every-s 60]`: the chaos soak
 * (soak-run.ts) at full length. Prints a summary with the figures; exits 1 on any violation.
 * `--ha`: two cluster members on Redis, the bridge owner killed and Redis restarted.
 */
import { parseArgs } from 'node:util';
import { runSoak } from './soak-run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    calls: { type: 'string', default: '350' },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
    'command-every-ms': { type: 'string', default: '200' },
    'fault-every-s': { type: 'string', default: '8' },
    'kill-every-s': { type: 'string', default: '60' },
    ha: { type: 'boolean', default: false },
  },
});

const report = await runSoak({
  durationMs: Number(values.minutes) * 60_000,
  calls: Number(values.calls),
  seed: Number(values.seed),
  commandEveryMs: Number(values['command-every-ms']),
  faultEveryMs: Number(values['fault-every-s']) * 1000,
  killEveryMs: Number(values['kill-every-s']) * 1000,
  ha: values.ha,
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});

console.log(`soak${values.ha ? ' (HA: 2 instances on Redis)' : ''} seed ${values.seed}: ${report.seconds} s`);
console.log(`  conferences created ${report.conferencesCreated}, WebEx commands confirmed ${report.confirmed} ${JSON.stringify(report.commandsByType)}`);
console.log(`  bridge commands carried out ${report.bridgeCommands}, notifications received ${report.notificationsReceived}`);
console.log(`  traffic ${JSON.stringify(report.traffic)}`);
console.log(`  faults ${JSON.stringify(report.faults)}, adaptor kills ${report.kills} (starts retried as not ready in time: ${report.slowStarts})`);
if (values.ha) console.log(`  error lines during the deliberate Redis outages (not violations): ${report.toleratedErrorLines}`);
console.log(`  at the end: ${report.finalConferences} conferences, ${report.finalCallers} callers on the bridge`);
console.log(`  violations ${report.violations.length}`);
for (const v of report.violations) console.log(`    ${v}`);
process.exitCode = report.violations.length > 0 ? 1 : 0;
