/**
 * Takes docs/console.png: the real daemon and emulator with a few conferences in the states an
 * operator meets (callers muted by the host and by themselves, one speaking, one in a
 * sub-conference, a locked conference, a dial-out still ringing), drawn by the console in
 * headless Chromium with one caller's timeline open.
 *
 *   node --import tsx test/ops/console-screenshot.ts [output.png]
 */
import path from 'node:path';
import type { W2AMessage } from '../../src/protocol/index.js';
import { createConference, sendAndAnswer, startStack, w2a } from '../e2e/support.js';
import { chromiumMissing, hostMute, joinCaller, openConsole, portPath } from './console-support.js';

const OUTPUT = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..', '..', 'docs', 'console.png'));
const WAIT_MS = 15_000;
/** Long enough that the talker and the ringing dial-out are still so when the picture is taken. */
const HOLD_MS = 10 * 60_000;

const missing = chromiumMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}

const stack = await startStack();
const { sim, emulator } = stack;
try {
  const msgId = () => sim.newId('msg');

  await createConference(sim, 'MTG-2291-0412', '771204');
  const dana = await joinCaller(stack, 'MTG-2291-0412', '771204', 'Dana Whitfield', '14155550142');
  const marco = await joinCaller(stack, 'MTG-2291-0412', '771204', 'Marco Ruiz', '442075550198');
  const priya = await joinCaller(stack, 'MTG-2291-0412', '771204', 'Priya Nair', '919845550123');
  await joinCaller(stack, 'MTG-2291-0412', '771204', 'Conf room 4B', '14155550100');
  await hostMute(stack, 'MTG-2291-0412', dana.extCallId, true);
  await emulator.call('POST', `/ports/${portPath(priya.port)}/dtmf`, { digits: '*6' });
  await emulator.call('POST', `/ports/${portPath(marco.port)}/talk`, { ms: HOLD_MS });

  await createConference(sim, 'MTG-3305-1187', '330511');
  await joinCaller(stack, 'MTG-3305-1187', '330511', 'Support desk', '18005550111');
  const jon = await joinCaller(stack, 'MTG-3305-1187', '330511', 'Jon Park', '16175550177');
  const sub: W2AMessage = { type: 'W2A_AddToSubConference', MsgID: msgId(), ExtConfID: 'MTG-3305-1187', ExtCallID: jon.extCallId, SubConfID: 2 };
  await sendAndAnswer(sim, sub, 'A2W_RspAddToSubConference');
  await emulator.call('PUT', '/dial-out-plan', { rules: [{ match: 'exact', number: '1,212,5550188', outcome: 'answered', ringMs: HOLD_MS }], ringMs: HOLD_MS });
  const callout: W2AMessage = { type: 'W2A_Callout', MsgID: msgId(), ExtConfID: 'MTG-3305-1187', ExtCallID: 'wbx-callout-1', PhoneNumber: '1,212,5550188', Name: 'Lee Chen' };
  const sent = await sim.send([callout]);
  if (sent.result !== 0) throw new Error(`callout: Confirmation ${sent.result}`);
  await sendAndAnswer(sim, w2a(sim).lock('MTG-3305-1187', true), 'A2W_RspLockConference');

  await createConference(sim, 'MTG-4410-0090', '441009');
  await joinCaller(stack, 'MTG-4410-0090', '441009', 'Front desk', '13125550160');

  const browser = await openConsole(stack.daemon.adminUrl);
  try {
    const { page } = browser;
    await page.waitForSelector('#feed-status[data-state="live"]', { timeout: WAIT_MS });
    await page.waitForSelector('tr.caller.speaking', { timeout: WAIT_MS });
    await page.waitForSelector('tr.caller .badge.ring', { timeout: WAIT_MS });
    await page.click(`tr.caller[data-ext-call-id="${dana.extCallId}"]`);
    await page.waitForSelector('#timeline li[data-kind="w2a"]', { timeout: WAIT_MS });
    await page.screenshot({ path: OUTPUT });
    if (browser.errors.length > 0) throw new Error(`the page reported errors: ${browser.errors.join('; ')}`);
    console.log(`wrote ${OUTPUT}`);
  } finally {
    await browser.close();
  }
} finally {
  await stack.close();
}
