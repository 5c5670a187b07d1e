/**
 * The long HA run (not part of npm test): two cluster members as child processes on one
 * redis-server, the emulator as the bridge, and a WebEx simulator posting a steady load of
 * CreateConference commands to both members in turn. The owner is SIGKILLed at random moments
 * KILLS times (restarted each time), then SIGSTOPped past its lease and SIGCONTed STOPS times.
 *
 * Reports: take-over time (kill -> another member owns and has its engine running) p50/p99,
 * confirmed commands lost (no conference on the bridge), carried out twice (two conferences for
 * one ConfKey), responses missing or repeated under a new TransID, fencing refusals.
 *
 *   node --import tsx test/ha/kill-run.ts [KILLS=50] [STOPS=5]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Emulator } from '../../src/bridges/emulator/emulator.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { EmulatorClient, w2a } from '../e2e/support.js';
import { testKeyPair } from '../shell/support.js';
import { startRedis } from './redis-server.js';

const KILLS = Number(process.argv[2] ?? 50);
const STOPS = Number(process.argv[3] ?? 5);
const LEASE_MS = 1_500;
const RENEW_MS = 300;
const TAKE_OVER_LIMIT_MS = 20_000;
const SEND_RETRIES = 40;

interface Member { index: number; child: ChildProcess; url: string; status: Record<string, unknown> & { role?: string; fencingRefusals?: number; lastTakeOverMs?: number } }

const redis = await startRedis();
const emu = new Emulator({ username: 'tsp', password: 'tsp-emulator' });
const ports = await emu.start();
const emulator = new EmulatorClient(`http://127.0.0.1:${ports.control}`);
const keyPair = await testKeyPair();
const dirs: string[] = [];
const members: Member[] = [];
const refusalsOfDead: number[] = [];

async function startMember(index: number): Promise<Member> {
  const dir = dirs[index] ?? await mkdtemp(path.join(os.tmpdir(), 'tsp-ha-kill-'));
  if (!dirs[index]) {
    dirs[index] = dir;
    await mkdir(path.join(dir, 'tls'), { recursive: true });
    await writeFile(path.join(dir, 'tls', 'webex-cert.pem'), keyPair.cert);
    await writeFile(path.join(dir, 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
  }
  const config = {
    instance: { id: `adaptor-${index}` }, webex: { port: 0 }, admin: { port: 0 }, log: { level: 'silent' },
    store: { kind: 'redis', dataDir: dir, redis: { url: `redis://127.0.0.1:${redis.port}`, commandTimeoutMs: 500 } },
    cluster: { group: 'kill', leaseMs: LEASE_MS, renewMs: RENEW_MS },
    outbox: { initialDelayMs: 20, maxDelayMs: 200 },
    // The run's conferences get no keep-alives: they must not be ended as idle while it lasts.
    conference: { keepAliveTimeoutMs: 24 * 60 * 60_000 },
    bridges: [{ id: 'bridge-1', driver: 'voyant2313', host: '127.0.0.1', port: ports.voyant2313Request, notifyPort: ports.voyant2313Notify,
      username: 'tsp', password: 'tsp-emulator', reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 }],
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'instance-process.ts')], {
    env: { ...process.env, TSP_HA_CONFIG: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const member: Member = { index, child, url: '', status: {} };
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`member ${index} exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('READY ')) { member.url = line.slice(6); resolve(); }
      if (line.startsWith('STATUS ')) member.status = JSON.parse(line.slice(7)) as Member['status'];
    });
  });
  members[index] = member;
  return member;
}

async function waitUntil(check: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const owner = (): Member | undefined => members.find((m) => m.status.role === 'owner');

await startMember(0);
await startMember(1);
await waitUntil(() => owner() !== undefined, TAKE_OVER_LIMIT_MS, 'first owner');

// Notifications go to `receiver`; commands alternate between the members' URLs.
const receiver = new WebexSim({ adaptorUrl: members[0]!.url, adaptorCa: keyPair.cert, keyPair });
await receiver.start();
const senders = new Map<string, WebexSim>();
async function senderFor(url: string): Promise<WebexSim> {
  let sim = senders.get(url);
  if (!sim) {
    sim = new WebexSim({ adaptorUrl: url, adaptorCa: keyPair.cert, keyPair });
    await sim.start();
    senders.set(url, sim);
  }
  return sim;
}

let running = true;
const confirmed: { confKey: string; msgId: string; confId: string }[] = [];
let unconfirmed = 0;
let sent = 0;
async function load(): Promise<void> {
  while (running) {
    const n = ++sent;
    const confId = `kill-${n}`;
    const confKey = String(80_000_000 + n);
    const create = w2a(receiver).create(confId, confKey);
    const transId = receiver.newId('trans');
    let done = false;
    // WebEx retries one TransID on the primary and secondary URL until it gets a Confirmation.
    for (let attempt = 0; attempt < SEND_RETRIES && !done; attempt++) {
      const m = members[(n + attempt) % members.length]!;
      try {
        const out = await (await senderFor(m.url)).send([create], { transId });
        if (out.result === 0) done = true;
      } catch { /* member gone: the next attempt goes to the other URL */ }
      if (!done) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (done) confirmed.push({ confKey, msgId: create.MsgID, confId });
    else unconfirmed++;
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}
const loader = load();

const takeOvers: number[] = [];
for (let k = 0; k < KILLS; k++) {
  await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1_200));
  const victim = owner();
  if (!victim) { k--; continue; }
  refusalsOfDead.push(victim.status.fencingRefusals ?? 0);
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  victim.status = {};
  const other = members.find((m) => m !== victim)!;
  await waitUntil(() => other.status.role === 'owner' && Number(other.status.at) > killedAt, TAKE_OVER_LIMIT_MS, `take-over after kill ${k + 1}`);
  takeOvers.push(Number(other.status.at) - killedAt);
  await startMember(victim.index);
  process.stderr.write(`kill ${k + 1}/${KILLS}: take-over ${takeOvers.at(-1)} ms, confirmed so far ${confirmed.length}\n`);
}

// SIGSTOP the owner past its lease, let the other take over, SIGCONT it: it must act no more.
const stopReports: { refusalsBefore: number; refusalsAfter: number; roleAfter: string | undefined }[] = [];
for (let s = 0; s < STOPS; s++) {
  await waitUntil(() => owner() !== undefined, TAKE_OVER_LIMIT_MS, 'an owner before SIGSTOP');
  const victim = owner()!;
  const other = members.find((m) => m !== victim)!;
  const refusalsBefore = victim.status.fencingRefusals ?? 0;
  const stoppedAt = Date.now();
  victim.child.kill('SIGSTOP');
  await waitUntil(() => other.status.role === 'owner' && Number(other.status.at) > stoppedAt, TAKE_OVER_LIMIT_MS, 'take-over from a stopped owner');
  victim.child.kill('SIGCONT');
  await waitUntil(() => Number(victim.status.at) > Date.now() - 50 && victim.status.role !== 'owner', 5_000, 'the resumed owner steps down');
  await new Promise((resolve) => setTimeout(resolve, 500));
  stopReports.push({ refusalsBefore, refusalsAfter: victim.status.fencingRefusals ?? 0, roleAfter: victim.status.role });
}

running = false;
await loader;
await waitUntil(() => confirmed.every((c) => receiver.received.some((r) => r.message.type === 'A2W_RspCreateConference' && r.message.MsgID === c.msgId)), 30_000, 'every response delivered')
  .catch((err: Error) => process.stderr.write(`${err.message}\n`));
const state = await emulator.state();
const byKey = new Map<string, number>();
for (const c of state.conferences) byKey.set(c.options.confKey, (byKey.get(c.options.confKey) ?? 0) + 1);
const lostOnes = confirmed.filter((c) => !byKey.has(c.confKey));
const lost = lostOnes.length;
// What WebEx heard about each conference missing from the bridge: a failure Result it was told
// about is not a lost command.
const heard = lostOnes.map((c) => ({
  confId: c.confId,
  messages: receiver.received.filter((r) => r.message.ExtConfID === c.confId)
    .map((r) => `${r.message.type}${'Result' in r.message ? ` Result=${String(r.message.Result)}` : ''}${'Status' in r.message ? ` Status=${String(r.message.Status)}` : ''}`),
}));
const twice = confirmed.filter((c) => (byKey.get(c.confKey) ?? 0) > 1).length;
const rsps = receiver.received.filter((r) => r.message.type === 'A2W_RspCreateConference');
const rspMsgIds = new Map<string, Set<string>>();
for (const r of rsps) {
  const set = rspMsgIds.get(r.message.MsgID) ?? new Set<string>();
  set.add(r.transId);
  rspMsgIds.set(r.message.MsgID, set);
}
const missingResponses = confirmed.filter((c) => !rspMsgIds.has(c.msgId)).length;
const responsesUnderTwoTransIds = [...rspMsgIds.values()].filter((s) => s.size > 1).length;
const sorted = [...takeOvers].sort((a, b) => a - b);
const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const fencing = members.reduce((sum, m) => sum + (m.status.fencingRefusals ?? 0), 0) + refusalsOfDead.reduce((a, b) => a + b, 0);
const report = {
  kills: takeOvers.length, leaseMs: LEASE_MS, renewMs: RENEW_MS,
  takeOverMs: { p50: pct(50), p99: pct(99), max: sorted.at(-1) },
  commandsConfirmed: confirmed.length, commandsUnconfirmed: unconfirmed,
  lost, lostDetail: heard, doubleExecuted: twice, missingResponses, responsesUnderTwoTransIds,
  fencingRefusals: fencing, sigstop: stopReports,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

await receiver.close();
for (const s of senders.values()) await s.close();
for (const m of members) {
  const exited = new Promise((resolve) => m.child.once('exit', resolve));
  m.child.kill('SIGTERM');
  await exited;
}
await emu.close();
await redis.stop();
for (const d of dirs) await rm(d, { recursive: true, force: true });
process.exit(lost === 0 && twice === 0 ? 0 : 1);
