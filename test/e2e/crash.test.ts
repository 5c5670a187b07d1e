import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BridgeCommand } from '../../src/bridges/driver.js';
import { Emulator } from '../../src/bridges/emulator/emulator.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import { WebexSim, type A2WType } from '../../src/webex-sim/webex-sim.js';
import { testKeyPair } from '../shell/support.js';
import { ServeProcess } from './serve-process.js';
import { EmulatorClient, emulatorBridge, w2a, writeWebexTls } from './support.js';

/**
 * Issue 4, "a crash test": the daemon is SIGKILLed at random moments of a scripted meeting and
 * restarted each time. Afterwards every confirmed command was carried out exactly once on the
 * bridge, every response arrived exactly once, and WebEx heard every notification.
 */
const KILLS = Number(process.env.CRASH_KILLS ?? 5);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
/** Meetings run one after another until the kills are done, within these bounds. */
const MIN_ROUNDS = 2;
const MAX_ROUNDS = Math.max(20, 2 * KILLS);
/** Random kill moments, after each restart is ready. */
const KILL_AFTER_MIN_MS = 100;
const KILL_AFTER_MAX_MS = 800;
/** Retries of one W2A transaction while the daemon is down (each waits up to 1 s). */
const SEND_RETRIES = 120;
const A2W_WAIT_MS = 60_000;
const LOGIN = { username: 'tsp', password: 'crash-test' };

/** A small deterministic generator, so a failing run can be replayed with CRASH_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('crash test: SIGKILL at random moments of a meeting', () => {
  let dir: string;
  let emulator: Emulator;
  let control: EmulatorClient;
  let sim: WebexSim;
  let configFile: string;
  let current: ServeProcess | undefined;
  const executed: BridgeCommand[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-crash-'));
    emulator = new Emulator({ ...LOGIN, heartbeatIntervalMs: 200 });
    const ports = await emulator.start();
    control = new EmulatorClient(`http://127.0.0.1:${ports.control}`);
    // Every command the bridge carried out, in order: the ground truth for "exactly once".
    const execute = emulator.endpoint.execute.bind(emulator.endpoint);
    emulator.endpoint.execute = async (command) => {
      const reply = await execute(command);
      if (command.op !== 'snapshot') executed.push(command);
      return reply;
    };

    const keyPair = await testKeyPair();
    await writeWebexTls(path.join(dir, 'var'), keyPair);
    const webexPort = await freePort();
    configFile = path.join(dir, 'crash.yaml');
    await writeFile(
      configFile,
      JSON.stringify({
        webex: { port: webexPort },
        store: { kind: 'sqlite', dataDir: path.join(dir, 'var') },
        emulator: { enabled: false },
        // The bridge's command log is the measure here: the scheduled deep check's probe
        // conference (test/ops/health-deep-check) would count as work WebEx never asked for.
        deepCheck: { enabled: false },
        bridges: [emulatorBridge(ports, LOGIN)],
        outbox: { initialDelayMs: 50, maxDelayMs: 500 },
        conference: { speakingHoldOffMs: 0 },
        log: { level: 'info' },
      }),
    );
    sim = new WebexSim({
      adaptorUrl: `https://127.0.0.1:${webexPort}/tsp`,
      adaptorCa: keyPair.cert,
      keyPair,
      answerRetries: SEND_RETRIES,
    });
    await sim.start();
  });

  after(async () => {
    await current?.stop('SIGKILL');
    await sim?.close();
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test(`the meeting survives ${KILLS} kills: every command once on the bridge, every message delivered`, async (t) => {
    t.diagnostic(`seed ${SEED} (replay with CRASH_SEED=${SEED})`);
    const next = random(SEED);
    current = new ServeProcess();
    await current.start(configFile);

    let scriptDone = false;
    let kills = 0;
    const killer = (async () => {
      while (!scriptDone && kills < KILLS) {
        const waitMs = KILL_AFTER_MIN_MS + next() * (KILL_AFTER_MAX_MS - KILL_AFTER_MIN_MS);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        if (scriptDone) break;
        await current!.stop('SIGKILL');
        kills += 1;
        current = new ServeProcess();
        await current.start(configFile);
      }
    })();

    const confirmed: W2AMessage[] = [];
    const transIds = new Map<W2AMessage, string>();
    /** Sends until confirmed, then waits for the response: the script's next step relies on it. */
    const send = async (message: W2AMessage): Promise<void> => {
      const outcome = await sim.send([message], { retries: SEND_RETRIES });
      assert.equal(outcome.result, 0, `${message.type} ${message.MsgID}: ${outcome.reason ?? ''}`);
      confirmed.push(message);
      transIds.set(message, outcome.transId);
      const response = message.type.replace('W2A_', 'A2W_Rsp') as A2WType;
      const rsp = await sim.next(response, (m) => m.MsgID === message.MsgID, A2W_WAIT_MS);
      assert.equal((rsp.message as { Result: number }).Result, 0, `${rsp.message.type} ${message.MsgID}`);
    };
    const build = w2a(sim);
    const callers = new Map<string, string>();
    const dialIn = async (confId: string, confKey: string, label: string): Promise<void> => {
      await control.dialIn(confKey, `1408555${String(callers.size).padStart(4, '0')}`);
      const enter = await sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === confId && m.ExtCallID === '', A2W_WAIT_MS);
      assert.equal((await enter.answered)?.result, 0);
      callers.set(label, enter.answeredExtCallID!);
    };

    let rounds = 0;
    try {
      for (let round = 1; round <= MAX_ROUNDS && (round <= MIN_ROUNDS || kills < KILLS); round += 1) {
        rounds = round;
        const confId = `conf-crash-${round}`;
        const confKey = `710000${String(round).padStart(2, '0')}`;
        await send(build.create(confId, confKey));
        await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === confId && m.Status === 0, A2W_WAIT_MS);
        await dialIn(confId, confKey, `${round}a`);
        await send(build.mute(confId, callers.get(`${round}a`)!, true));
        await send(build.lock(confId, true));
        await send(build.lock(confId, false));
        await dialIn(confId, confKey, `${round}b`);
        await send(build.mute(confId, callers.get(`${round}a`)!, false));
        await send(build.mute(confId, callers.get(`${round}b`)!, true));
        await send(build.mute(confId, callers.get(`${round}b`)!, false));
        await send(build.end(confId));
        await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === confId && m.Status === 3, A2W_WAIT_MS);
      }
    } finally {
      scriptDone = true;
      await killer;
    }
    t.diagnostic(`kills survived: ${kills} in ${rounds} meetings`);
    assert.ok(kills >= Math.min(KILLS, 1), 'the daemon was killed at least once');

    // Every response arrived exactly once (a retry of the same TransID is not a second one).
    for (const m of confirmed) {
      const copies = sim.received.filter((r) => r.message.type.startsWith('A2W_Rsp') && r.message.MsgID === m.MsgID);
      assert.equal(copies.length, 1, `one response to ${m.type} ${m.MsgID}`);
    }

    // Every confirmed command was carried out exactly once on the bridge.
    const count = (op: BridgeCommand['op']) => executed.filter((c) => c.op === op).length;
    const countOf = (type: W2AMessage['type']) => confirmed.filter((m) => m.type === type).length;
    assert.equal(count('createConference'), countOf('W2A_CreateConference'));
    assert.equal(count('endConference'), countOf('W2A_EndConference'));
    assert.equal(count('lockConference'), countOf('W2A_LockConference'));
    assert.equal(count('mute'), countOf('W2A_MuteUser'));
    assert.deepEqual((await control.state()).conferences, [], 'every conference ended on the bridge');

    // TransIDs are remembered across restarts: the very first one, sent again, is confirmed
    // and not acted on. A later command of the same conference closes the window.
    const first = confirmed[0]!;
    const commandsBefore = executed.length;
    assert.equal((await sim.send([first], { transId: transIds.get(first)!, retries: SEND_RETRIES })).result, 0);
    const marker = build.mute(first.ExtConfID, 'call-none', true);
    assert.equal((await sim.send([marker], { retries: SEND_RETRIES })).result, 0);
    await sim.next('A2W_RspMuteUser', (m) => m.MsgID === marker.MsgID, A2W_WAIT_MS);
    assert.equal(sim.received.filter((r) => r.message.MsgID === first.MsgID).length, 1, 'no second response');
    assert.equal(executed.length, commandsBefore, 'nothing carried out again');

    // WebEx heard every notification of the meeting, in order, each once: a message may come
    // again only as a retry of its TransID, which the simulator takes once.
    for (let round = 1; round <= rounds; round += 1) {
      const confId = `conf-crash-${round}`;
      const statuses = sim.all('A2W_NotifyConferenceChange').filter((r) => r.message.ExtConfID === confId).map((r) => r.message.Status);
      assert.deepEqual(statuses, [1, 0, 2, 0, 3], `conference changes of ${confId}`);
      for (const label of [`${round}a`, `${round}b`]) {
        const extCallId = callers.get(label)!;
        const changes = sim
          .all('A2W_NotifyUserChange')
          .filter((r) => r.message.ExtCallID === extCallId)
          .map((r) => ({ Status: r.message.Status, ...(r.message.Status === 0 ? { Mute: r.message.Mute } : { Reason: r.message.Reason }) }));
        assert.deepEqual(
          changes,
          [{ Status: 0, Mute: true }, { Status: 0, Mute: false }, { Status: 1, Reason: 'ConferenceEnded' }],
          `changes of caller ${label}`,
        );
      }
    }
  });
});
