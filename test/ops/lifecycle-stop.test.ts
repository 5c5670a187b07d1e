import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nextEvent } from '../../src/common/typed-emitter.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { ServeProcess } from '../e2e/serve-process.js';
import { w2a } from '../e2e/support.js';
import { serveDir } from './lifecycle-process.js';

describe('graceful stop of a serve process (SIGTERM)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-stop-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('new work meets Confirmation 7, the answer waiting in the outbox is delivered, then exit 0', { timeout: 60_000 }, async () => {
    const files = await serveDir(dir);
    const serve = new ServeProcess();
    const url = await serve.start(files.config, { NOTIFY_SOCKET: '' });
    const sim = new WebexSim({ adaptorUrl: url, adaptorCa: files.keyPair.cert, keyPair: files.keyPair });
    await sim.start();
    try {
      // WebEx refuses posts for now, so the answer waits in the outbox.
      sim.setPolicy({ kind: 'down' });
      const create = w2a(sim).create('conf-stop', '99887766');
      assert.equal((await sim.send([create])).result, 0);
      await nextEvent(sim, 'refused');

      const exited = serve.stop('SIGTERM');
      await serve.waitForLine('shutting down (SIGTERM)');
      const late = await sim.send([w2a(sim).create('conf-late', '99887755')]);
      assert.equal(late.result, 7, 'no new work once the stop has begun');

      sim.setPolicy({ kind: 'ok' });
      const rsp = await sim.next('A2W_RspCreateConference', (m) => m.MsgID === create.MsgID);
      assert.equal(rsp.message.Result, 0, 'the answer accepted before the stop still reaches WebEx');
      assert.deepEqual(await exited, { code: 0, signal: null });
      const messages = serve.lines.map((l) => String(l.msg));
      assert.equal(messages.filter((m) => m.startsWith('drain ended with A2W messages undelivered')).length, 0);
      assert.ok(messages.some((m) => m.startsWith('stopped (SIGTERM)')));
    } finally {
      await serve.stop('SIGKILL');
      await sim.close();
    }
  });
});
