import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AcceptedTransaction } from '../../src/adaptor/engine.js';
import type { WebexListener } from '../../src/adaptor/http/webex-listener.js';
import { HttpPoster } from '../../src/adaptor/poster.js';
import { CONFIRMATION, createCodec, type A2WMessage, type TspCodec } from '../../src/protocol/index.js';
import { WebexSim } from '../../src/webex-sim/webex-sim.js';
import { startTestListener, testKeyPair } from './support.js';

/** The adaptor side, reduced to an endpoint whose engine only records what it is given. */
describe('the WebEx simulator', () => {
  let codec: TspCodec;
  let listener: WebexListener;
  let sim: WebexSim;
  let poster: HttpPoster;
  const accepted: AcceptedTransaction[] = [];
  let onAccept: ((tx: AcceptedTransaction) => void) | undefined;

  before(async () => {
    const keyPair = await testKeyPair();
    codec = await createCodec();
    let adaptorUrl: string;
    ({ listener, url: adaptorUrl } = await startTestListener({
      codec,
      accept: async (tx) => {
        accepted.push(tx);
        onAccept?.(tx);
        return CONFIRMATION.OK;
      },
    }));
    sim = new WebexSim({ adaptorUrl, adaptorCa: keyPair.cert, keyPair, codec });
    await sim.start();
    poster = new HttpPoster({ isAllowed: () => true, trustLoopbackPeers: true, maxSockets: 2, keepAliveMs: 1_000 });
  });
  after(async () => {
    await poster.close();
    await sim.close();
    await listener.close();
    codec.close();
  });

  const a2w = async (transId: string, ...messages: A2WMessage[]) => {
    const answer = await poster.post(sim.url, codec.encode(transId, messages), { timeoutMs: 5_000 });
    const confirmation = codec.decodeConfirmation(answer.body);
    return { status: answer.status, result: confirmation.ok ? confirmation.result : undefined };
  };

  test('posts W2A transactions under its own TransIDs and returns the Confirmation', async () => {
    const outcome = await sim.send([
      { type: 'W2A_CreateConference', MsgID: sim.newId('msg'), ExtConfID: 'c1', ConfKey: '123456', WbxHostName: sim.url },
    ]);
    assert.equal(outcome.result, 0);
    assert.equal(accepted.at(-1)?.transId, outcome.transId);
    const again = await sim.send([{ type: 'W2A_KeepAliveConference', MsgID: sim.newId('msg'), ExtConfID: 'c1' }], {
      transId: outcome.transId,
    });
    assert.equal(again.transId, outcome.transId, 'a repeat keeps its TransID');
  });

  test('takes A2W messages in order, and a repeated TransID is confirmed but not taken twice', async () => {
    const waiting = sim.next('A2W_RspCreateConference', (m) => m.ExtConfID === 'c1');
    assert.equal((await a2w('a2w-1', { type: 'A2W_RspCreateConference', MsgID: '1', ExtConfID: 'c1', Result: 0 })).result, 0);
    assert.equal((await waiting).transId, 'a2w-1');
    assert.equal((await a2w('a2w-1', { type: 'A2W_RspCreateConference', MsgID: '1', ExtConfID: 'c1', Result: 0 })).result, 0);
    assert.equal(sim.all('A2W_RspCreateConference').length, 1);
    assert.equal(sim.repeats.get('a2w-1'), 1);
  });

  test('confirms as told: a Result, an HTTP error, down; then takes the retry', async () => {
    const notify: A2WMessage = { type: 'A2W_NotifyConferenceChange', MsgID: '2', ExtConfID: 'c1', Status: 0 };
    sim.setPolicy({ kind: 'result', result: CONFIRMATION.BUSY });
    assert.equal((await a2w('a2w-2', notify)).result, 7);
    sim.setPolicy({ kind: 'http', status: 503, retryAfterS: 1 });
    const refused = await poster.post(sim.url, codec.encode('a2w-2', [notify]), { timeoutMs: 5_000 });
    assert.equal(refused.status, 503);
    assert.equal(refused.retryAfterMs, 1_000);
    sim.setPolicy({ kind: 'down' });
    await assert.rejects(a2w('a2w-2', notify), { code: 'A2W_ERR_NETWORK' });
    assert.equal(sim.all('A2W_NotifyConferenceChange').length, 0);
    sim.setPolicy({ kind: 'ok' });
    assert.equal((await a2w('a2w-2', notify)).result, 0);
    assert.equal((await sim.next('A2W_NotifyConferenceChange')).message.Status, 0);
  });

  test('answers NotifyUserEnter with RspNotifyUserEnter, creating the ExtCallID of a dial-in caller', async () => {
    const answered = new Promise<AcceptedTransaction>((resolve) => {
      onAccept = (tx) => {
        if (tx.messages[0]?.type === 'W2A_RspNotifyUserEnter') resolve(tx);
      };
    });
    await a2w('a2w-3', { type: 'A2W_NotifyUserEnter', MsgID: '31', ExtConfID: 'c1', ExtCallID: '' });
    const record = await sim.next('A2W_NotifyUserEnter');
    const rsp = (await answered).messages[0]!;
    assert.ok(record.answeredExtCallID);
    assert.deepEqual(rsp, {
      type: 'W2A_RspNotifyUserEnter',
      MsgID: '31',
      ExtConfID: 'c1',
      ExtCallID: record.answeredExtCallID,
    });
  });

  test('sends any body as it is, to see how the adaptor refuses it', async () => {
    const answer = await sim.sendRaw('<WbxTSPSchema');
    assert.equal(answer.status, 200);
    assert.equal(answer.result, CONFIRMATION.NOT_WELL_FORMED);
  });

  test('next() names what it waited for when it times out', async () => {
    await assert.rejects(sim.next('A2W_RspExpelUser', () => true, 50), /no A2W_RspExpelUser within 50 ms/);
  });
});
