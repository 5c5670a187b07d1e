import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CallRecord } from '../../src/adaptor/cdr/call-record.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { ServeProcess } from '../e2e/serve-process.js';
import { createConference, EmulatorClient, sendAndAnswer, w2a } from '../e2e/support.js';
import { serveDir, upAndServing } from './lifecycle-process.js';

async function readRecords(dir: string): Promise<CallRecord[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort();
  const lines = await Promise.all(files.map(async (f) => (await readFile(path.join(dir, f), 'utf8')).split('\n').filter((l) => l !== '')));
  return lines.flat().map((l) => JSON.parse(l) as CallRecord);
}

describe('call detail records survive a crash', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-cdr-crash-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('legs that ended before a SIGKILL are all on disk after it, once each, also after a restart', { timeout: 90_000 }, async () => {
    const files = await serveDir(dir);
    const recordsDir = path.join(files.dataDir, 'call-records');
    const serve = new ServeProcess();
    const url = await serve.start(files.config, { NOTIFY_SOCKET: '' });
    const sim = new WebexSim({ adaptorUrl: url, adaptorCa: files.keyPair.cert, keyPair: files.keyPair });
    await sim.start();
    const restarted = new ServeProcess();
    try {
      const ready = await serve.waitForLine('tsp-adaptor ready');
      const emulator = new EmulatorClient(`http://127.0.0.1:${(ready.emulator as { control: number }).control}`);
      await createConference(sim, 'conf-cdr', '44556677');

      const port = await emulator.dialIn('44556677', '14085550199');
      const enter = await sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === 'conf-cdr' && m.ExtCallID === '');
      const named = (await enter.answered)?.result === 0 ? enter.answeredExtCallID : undefined;
      assert.ok(named, 'the dial-in caller was named');

      const callback = await sendAndAnswer(sim, w2a(sim).callout('conf-cdr', 'call-back-1', '1,212,5550000', { CallType: 'CallBack' }), 'A2W_RspCallout');
      assert.equal(callback.Result, 0);
      await sim.next('A2W_NotifyUserEnter', (m) => m.ExtCallID === 'call-back-1');

      const hangUp = await emulator.call('DELETE', `/ports/${port.replace('/', '-')}`);
      assert.ok(hangUp.status < 300, `hang-up: ${hangUp.status}`);
      await sim.next('A2W_NotifyUserChange', (m) => m.ExtCallID === named && m.Status === 1);
      await sendAndAnswer(sim, w2a(sim).end('conf-cdr'), 'A2W_RspEndConference');
      // WebEx hears of a change only after it is stored, and records are written before that.
      await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === 'conf-cdr' && m.Status === 3);

      assert.equal((await serve.stop('SIGKILL')).signal, 'SIGKILL');
      const check = (records: CallRecord[]) => {
        assert.deepEqual(
          records.map((r) => [r.ExtConfID, r.ExtCallID, r.direction, r.endReason, r.port !== '', r.answer !== null]).sort(),
          [
            ['conf-cdr', 'call-back-1', 'call-back', 'ConferenceEnded', true, true],
            ['conf-cdr', named, 'call-in', 'Hangup', true, true],
          ].sort(),
        );
        const callIn = records.find((r) => r.direction === 'call-in')!;
        assert.equal(callIn.callerNumber, '*******0199', 'numbers are masked but for the last digits');
        assert.equal(callIn.confKey, '44556677');
        assert.ok(callIn.durationSec >= 0 && Date.parse(callIn.end) >= Date.parse(callIn.answer!));
        const back = records.find((r) => r.direction === 'call-back')!;
        assert.ok(Date.parse(back.start) <= Date.parse(back.answer!), 'a call-back starts at its first ring');
      };
      check(await readRecords(recordsDir));

      await restarted.start(files.config, { NOTIFY_SOCKET: '' });
      await upAndServing(restarted);
      assert.deepEqual(await restarted.stop('SIGTERM'), { code: 0, signal: null });
      check(await readRecords(recordsDir));
    } finally {
      await serve.stop('SIGKILL');
      await restarted.stop('SIGKILL').catch(() => undefined);
      await sim.close();
    }
  });
});
