/**
 * The long HA run (not part of npm test): MEMBERS cluster members as child processes on one
 * redis-server, in front of two emulated bridges (served from this process, every command
 * reaching them counted), and a WebEx simulator running a scripted load of meetings (create,
 * lock, mute all, dial-out, end) against every member URL with WebEx's retries.
 *
 * The owner of a randomly chosen bridge is SIGKILLed at random moments KILLS times (restarted
 * each time), then SIGSTOPped past its lease and SIGCONTed STOPS times.
 *
 * Reports: take-over time per kill (SIGKILL -> another member owns the bridge with its engine
 * running; 50 ms status resolution) p50/p99/max; confirmed commands; lost (confirmed, never at
 * the bridge); carried out twice (at the bridge more than once); responses missing or under a
 * second TransID; notifications repeated under a new TransID; what is left in the outboxes;
 * fencing refusals (all members, and those of each resumed owner).
 *
 *   node --import tsx test/ha/kill-run.ts [KILLS=50] [STOPS=5] [MEMBERS=2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { bridgeKeys } from '../../src/adaptor/store/redis/keys.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { testKeyPair } from '../shell/support.js';
import { MeetingLoad, verify } from './meetings.js';
import { startRedis } from './redis-server.js';
import { BRIDGE_IDS, EmulatedBridges, memberConfig, memberDir } from './support.js';

const KILLS = Number(process.argv[2] ?? 50);
const STOPS = Number(process.argv[3] ?? 5);
const MEMBERS = Number(process.argv[4] ?? 2);
const GROUP = 'kill';
const TAKE_OVER_LIMIT_MS = 20_000;
const CONCURRENT_MEETINGS = 6;
const SETTLE_LIMIT_MS = 60_000;

interface BridgeStatus { bridge: string; role: string; lease?: string; fencingRefusals: number }
interface Status { role?: string; fencingRefusals?: number; bridges?: BridgeStatus[]; at?: number }
interface Member { index: number; child: ChildProcess; url: string; status: Status; sim?: WebexSim }

const redis = await startRedis();
const bridges = new EmulatedBridges();
await bridges.start();
const keyPair = await testKeyPair();
const dirs: string[] = [];
const members: Member[] = [];
/** Fencing refusals of members at the moment they were killed (their counters die with them). */
let refusalsOfDead = 0;

async function startMember(index: number): Promise<Member> {
  dirs[index] ??= await memberDir(keyPair, 'tsp-ha-kill-');
  const config = memberConfig(index, { dir: dirs[index], redis: { url: `redis://127.0.0.1:${redis.port}` }, bridges: bridges.config(), group: GROUP });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'instance-process.ts')], {
    env: { ...process.env, TSP_HA_CONFIG: JSON.stringify({ ...config, log: { level: 'silent' } }) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const member: Member = { index, child, url: '', status: {} };
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`member ${index} exited (${code}) before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('READY ')) { member.url = line.slice(6); resolve(); }
      if (!line.startsWith('STATUS ')) return;
      // A member killed mid-write leaves a cut line: the previous status stands.
      try { member.status = JSON.parse(line.slice(7)) as Status; } catch { /* cut line */ }
    });
  });
  // A restarted member listens on a new port: its URL's simulator is replaced.
  const previous = members[index]?.sim;
  member.sim = await newSim(member.url);
  members[index] = member;
  await previous?.close();
  return member;
}

async function newSim(url: string): Promise<WebexSim> {
  const sim = new WebexSim({ adaptorUrl: url, adaptorCa: keyPair.cert, keyPair });
  await sim.start();
  return sim;
}

async function waitUntil(check: () => boolean, limitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const roleOf = (m: Member, bridge: string): string | undefined => m.status.bridges?.find((b) => b.bridge === bridge)?.role;
const ownerOf = (bridge: string, exclude?: Member): Member | undefined => members.find((m) => m !== exclude && roleOf(m, bridge) === 'owner');
const allOwned = (exclude?: Member): boolean => BRIDGE_IDS.every((b) => ownerOf(b, exclude) !== undefined);

for (let i = 0; i < MEMBERS; i++) await startMember(i);
await waitUntil(() => allOwned(), TAKE_OVER_LIMIT_MS, 'first owners');

// Notifications go to `receiver`; commands go to every member URL (primary/secondary by meeting).
const receiver = await newSim(members[0]!.url);
let running = true;
const load = new MeetingLoad(receiver, () => members.map((m) => m.sim!));
const loader = load.run(CONCURRENT_MEETINGS, () => running);

const takeOvers: number[] = [];
/** How many bridges each victim owned when killed (1: the other bridge had another owner). */
const victimOwned: number[] = [];
for (let k = 0; k < KILLS; k++) {
  await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1_200));
  const bridge = BRIDGE_IDS[Math.floor(Math.random() * BRIDGE_IDS.length)]!;
  const victim = ownerOf(bridge);
  if (!victim) { k--; continue; }
  refusalsOfDead += victim.status.fencingRefusals ?? 0;
  victimOwned.push(BRIDGE_IDS.filter((b) => roleOf(victim, b) === 'owner').length);
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  victim.status = {};
  await waitUntil(() => { const o = ownerOf(bridge, victim); return o !== undefined && Number(o.status.at) > killedAt; }, TAKE_OVER_LIMIT_MS, `take-over after kill ${k + 1}`);
  takeOvers.push(Number(ownerOf(bridge, victim)!.status.at) - killedAt);
  await startMember(victim.index);
  process.stderr.write(`kill ${k + 1}/${KILLS} (${bridge}): take-over ${takeOvers.at(-1)} ms, commands confirmed so far ${load.confirmed.length}\n`);
}

// SIGSTOP an owner past its lease, let another take over, SIGCONT it: it must act no more.
const stopReports: { bridges: string[]; refusalsBefore: number; refusalsAfter: number; ownsAfter: string[] }[] = [];
for (let s = 0; s < STOPS; s++) {
  await waitUntil(() => allOwned(), TAKE_OVER_LIMIT_MS, 'owners before SIGSTOP');
  const victim = ownerOf(BRIDGE_IDS[s % BRIDGE_IDS.length]!)!;
  const owned = BRIDGE_IDS.filter((b) => roleOf(victim, b) === 'owner');
  const refusalsBefore = victim.status.fencingRefusals ?? 0;
  // Work in flight on the victim when it freezes: meetings whose primary URL is the victim's.
  const burst = [0, 1, 2].map((j) => load.meeting(1_000_000 + (s * 3 + j) * members.length + victim.index));
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
  const stoppedAt = Date.now();
  victim.child.kill('SIGSTOP');
  await waitUntil(() => owned.every((b) => { const o = ownerOf(b, victim); return o !== undefined && Number(o.status.at) > stoppedAt; }),
    TAKE_OVER_LIMIT_MS, 'take-over from a stopped owner');
  const resumedAt = Date.now();
  victim.child.kill('SIGCONT');
  await waitUntil(() => Number(victim.status.at) > resumedAt + 500, 10_000, 'the resumed owner reports again');
  stopReports.push({
    bridges: owned, refusalsBefore, refusalsAfter: victim.status.fencingRefusals ?? 0,
    ownsAfter: BRIDGE_IDS.filter((b) => roleOf(victim, b) === 'owner' && ownerOf(b, victim) !== undefined),
  });
  await Promise.all(burst);
  process.stderr.write(`stop ${s + 1}/${STOPS}: ${JSON.stringify(stopReports.at(-1))}\n`);
}

running = false;
await loader;
// Every confirmed command answered and every outbox empty (bounded).
const client = redis.client();
const backlog = async (): Promise<Record<string, number>> => Object.fromEntries(await Promise.all(BRIDGE_IDS.flatMap((b) => {
  const k = bridgeKeys(GROUP, b);
  return [
    client.hlen(k.commands).then((n) => [`${b} unfinished commands`, n] as const),
    client.hlen(k.outbox).then((n) => [`${b} undelivered A2W`, n] as const),
    client.hlen(k.deadLetters).then((n) => [`${b} dead letters`, n] as const),
  ];
})));
const settleBy = Date.now() + SETTLE_LIMIT_MS;
let left = await backlog();
while (Object.entries(left).some(([what, n]) => n > 0 && !what.endsWith('dead letters')) && Date.now() < settleBy) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  left = await backlog();
}
const verdict = verify(load, bridges.tally, receiver);
const sorted = [...takeOvers].sort((a, b) => a - b);
const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const fencing = members.reduce((sum, m) => sum + (m.status.fencingRefusals ?? 0), 0) + refusalsOfDead;
const byType = new Map<string, number>();
for (const c of load.confirmed) byType.set(c.type, (byType.get(c.type) ?? 0) + 1);
const report = {
  members: MEMBERS, bridges: BRIDGE_IDS.length, kills: takeOvers.length, leaseMs: 1_500, renewMs: 300,
  takeOverMs: { p50: pct(50), p99: pct(99), max: sorted.at(-1) },
  killsOfAnOwnerOfOneBridge: victimOwned.filter((n) => n === 1).length,
  commandsConfirmed: verdict.commandsConfirmed, byType: Object.fromEntries(byType), commandsUnconfirmed: load.unconfirmed.length, carriedOutUnconfirmed: verdict.carriedOutUnconfirmed,
  failedResults: load.confirmed.filter((c) => c.result !== 0).map((c) => `${c.type} ${c.key}: ${c.result}`),
  bridgeCommandsByOp: Object.fromEntries([...new Set(bridges.tally.commands.map((c) => c.op))].map((op) => [op, bridges.tally.commands.filter((c) => c.op === op).length])),
  lost: verdict.lost.length, lostDetail: verdict.lost, doubleExecuted: verdict.doubled.length, doubleDetail: verdict.doubled,
  unaskedBridgeCommands: verdict.unasked,
  missingResponses: verdict.missingResponses, responsesUnderTwoTransIds: verdict.responsesUnderTwoTransIds,
  notificationsUnderTwoTransIds: verdict.notificationsUnderTwoTransIds, retriedDeliveries: verdict.retriedDeliveries,
  leftInRedis: left, fencingRefusals: fencing, sigstop: stopReports,
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

client.disconnect();
await receiver.close();
for (const m of members) {
  await m.sim?.close();
  const exited = new Promise((resolve) => m.child.once('exit', resolve));
  m.child.kill('SIGTERM');
  await exited;
}
await bridges.close();
await redis.stop();
for (const d of dirs) await rm(d, { recursive: true, force: true });
process.exit(verdict.lost.length === 0 && verdict.doubled.length === 0 ? 0 : 1);
