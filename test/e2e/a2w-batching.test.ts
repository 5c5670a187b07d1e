/**
 * Issue 7: A2W messages batched per WebEx URL, over real HTTPS to the WebEx simulator, with the
 * daemon as a real process. What one command produced goes at once; the responses that queue
 * behind it go in one POST, in their conference's order; a refused batch is posted again
 * byte for byte; and after a SIGKILL the restarted daemon posts the same TransID, set and body.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Emulator } from '../../src/bridges/emulator/emulator.js';
import type { A2WMessage } from '../../src/protocol/index.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { freePort } from '../ha/redis-server.js';
import { testKeyPair } from '../shell/support.js';
import { ServeProcess } from './serve-process.js';
import { createConference, emulatorBridge, w2a, writeWebexTls } from './support.js';

const LOGIN = { username: 'tsp', password: 'batching-test' };
const CONF = 'conf-batch';
const EVENT_WAIT_MS = 20_000;

interface Posted { transId: string; messages: A2WMessage[]; body: string }

describe('A2W batching over HTTPS (issue 7)', () => {
  let dir: string;
  let emulator: Emulator;
  let sim: WebexSim;
  let configFile: string;
  let current: ServeProcess | undefined;
  let locksExecuted = 0;
  const posts: Posted[] = [];
  /** Resolves once `ready()` holds, checked at each A2W POST and each bridge command; bounded in time. */
  const waiters = new Set<() => boolean>();
  const check = (): void => { for (const w of waiters) if (w()) waiters.delete(w); };
  const until = (what: string, ready: () => boolean): Promise<void> => new Promise((resolve, reject) => {
    if (ready()) return resolve();
    const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out waiting for ${what}`)); }, EVENT_WAIT_MS);
    const w = (): boolean => (ready() ? (clearTimeout(timer), resolve(), true) : false);
    waiters.add(w);
  });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-batch-'));
    // Outside the daemon, so the conference outlives the kill.
    emulator = new Emulator({ ...LOGIN, heartbeatIntervalMs: 200 });
    const ports = await emulator.start();
    const execute = emulator.endpoint.execute.bind(emulator.endpoint);
    emulator.endpoint.execute = async (command) => {
      const reply = await execute(command);
      if (command.op === 'lockConference') locksExecuted++;
      check();
      return reply;
    };
    const keyPair = await testKeyPair();
    await writeWebexTls(path.join(dir, 'var'), keyPair);
    const webexPort = await freePort();
    configFile = path.join(dir, 'batching.yaml');
    await writeFile(configFile, JSON.stringify({
      webex: { port: webexPort },
      store: { kind: 'sqlite', dataDir: path.join(dir, 'var') },
      emulator: { enabled: false },
      deepCheck: { enabled: false },
      bridges: [emulatorBridge(ports, LOGIN)],
      outbox: { initialDelayMs: 50, maxDelayMs: 200 },
      log: { level: 'info' },
    }));
    sim = new WebexSim({ adaptorUrl: `https://127.0.0.1:${webexPort}/tsp`, adaptorCa: keyPair.cert, keyPair, answerRetries: 100 });
    sim.on('posted', (p) => {
      posts.push(p);
      check();
    });
    await sim.start();
  });

  after(async () => {
    await current?.stop('SIGKILL');
    await sim?.close();
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('queued messages go in one POST in lane order, a refused batch is posted again byte for byte, and after a SIGKILL under the same TransID', async () => {
    current = new ServeProcess();
    await current.start(configFile);
    await createConference(sim, CONF, '424242');
    const w = w2a(sim);

    // WebEx refuses for now: the first response finds nothing waiting and goes alone.
    sim.setPolicy({ kind: 'result', result: 7 });
    const head = w.lock(CONF, true);
    assert.equal((await sim.send([head])).result, 0);
    const postsOf = (msgId: string): Posted[] => posts.filter((p) => p.messages.some((m) => m.MsgID === msgId));
    await until('the first response posted', () => postsOf(head.MsgID).length > 0);
    // A lock answers and notifies in one commit: both go at once, with nothing of later commands.
    assert.deepEqual(postsOf(head.MsgID)[0]!.messages.filter((m) => m.type === 'A2W_RspLockConference').map((m) => m.MsgID), [head.MsgID]);

    // Three more responses queue behind it in the conference's lane.
    const rest = [w.lock(CONF, false), w.lock(CONF, true), w.lock(CONF, false)];
    for (const m of rest) assert.equal((await sim.send([m])).result, 0);
    await until('the bridge carried out every lock', () => locksExecuted >= 4);
    // Two more refusals of the head: the last response, stored right after its bridge answer, waits too.
    const headPosts = postsOf(head.MsgID).length;
    await until('two more retries of the first response', () => postsOf(head.MsgID).length >= headPosts + 2);

    // WebEx takes the head, then refuses the batch that follows twice.
    const headTransId = postsOf(head.MsgID)[0]!.transId;
    const batchPosts = (): Posted[] => posts.filter((p) => p.transId !== headTransId && p.messages.some((m) => m.MsgID === rest[0]!.MsgID));
    const taken = (r: { message: A2WMessage }): void => {
      if (r.message.MsgID === head.MsgID) sim.setPolicy({ kind: 'result', result: 7 });
    };
    sim.on('message', taken);
    sim.setPolicy({ kind: 'ok' });
    await until('the batch refused twice', () => batchPosts().length >= 2);
    sim.off('message', taken);
    const [first, second] = batchPosts();
    assert.ok(first!.messages.length >= 2, `the waiting responses share one POST (got ${first!.messages.length})`);
    const ours = first!.messages.filter((m) => m.type === 'A2W_RspLockConference').map((m) => m.MsgID);
    assert.deepEqual(ours, rest.map((m) => m.MsgID).slice(0, ours.length), 'in the conference\'s order');
    assert.equal(second!.transId, first!.transId);
    assert.equal(second!.body, first!.body, 'a retry repeats the body byte for byte');

    // A crash with the batch in flight: the restarted daemon posts the same batch.
    await current.stop('SIGKILL');
    const before = posts.length;
    sim.setPolicy({ kind: 'ok' });
    current = new ServeProcess();
    await current.start(configFile);
    const last = await sim.next('A2W_RspLockConference', (m) => m.MsgID === rest[2]!.MsgID, EVENT_WAIT_MS);
    const again = posts.slice(before).filter((p) => p.transId === first!.transId);
    assert.ok(again.length >= 1, 'the batch is posted again after the restart');
    assert.equal(again[0]!.body, first!.body, 'same TransID, set and body');
    assert.ok(posts.slice(before).every((p) => p.transId === first!.transId || !p.messages.some((m) => ours.includes(m.MsgID))),
      'no member of the batch is posted under another TransID');
    // Every response arrived once, in order.
    const received = sim.received.filter((r) => r.message.type === 'A2W_RspLockConference' && r.message.ExtConfID === CONF).map((r) => r.message.MsgID);
    assert.deepEqual(received, [head, ...rest].map((m) => m.MsgID));
    assert.ok(last.seq > 0);
  });
});
