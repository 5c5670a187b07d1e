/**
 * The scenarios that need only the WebEx side (spec 2 and 3): conference life, the answers to
 * unknown conferences and callers, TransID repeats, every invalid input and its Confirmation
 * code, and re-creation by another WebEx server.
 */
import type { WebexSim } from '../../webex-sim/webex-sim.js';
import { expect, type CertifyScenario } from './check.js';

const ENVELOPE_OPEN = '<WbxTSPSchema Name="WTSPDOM" Version="1.0">';
/** Above the largest `webex.maxCommands` the configuration accepts (10,000): 6 on any deployment. */
const TOO_MANY_COMMANDS = 10_001;

/** Posts a raw body and expects this Confirmation Result. */
async function refused(sim: WebexSim, body: string, result: number, what: string): Promise<void> {
  const answer = await sim.sendRaw(body);
  expect(answer.result === result, `${what}: Confirmation ${answer.result ?? `none (HTTP ${answer.status}, ${answer.reason})`}, expected ${result}`);
}

export const WEBEX_SCENARIOS: CertifyScenario[] = [
  {
    name: 'create and end',
    checks: 'W2A_CreateConference -> Confirmation 0, A2W_RspCreateConference Result 0 (same MsgID), NotifyConferenceChange 0; W2A_EndConference -> RspEndConference 0, NotifyConferenceChange 3; a later command answers 13',
    needsEmulator: false,
    async run(ctx) {
      const conference = await ctx.createConference();
      await ctx.endConference(conference.extConfId);
      await ctx.answered(ctx.msg('W2A_LockConference', { ExtConfID: conference.extConfId, Lock: true }), 'A2W_RspLockConference', 13);
    },
  },
  {
    name: 'lock and unlock',
    checks: 'W2A_LockConference 1 -> RspLockConference 0 and NotifyConferenceChange 2; Lock 0 -> 0 and NotifyConferenceChange 0',
    needsEmulator: false,
    async run(ctx) {
      const { extConfId } = await ctx.createConference();
      await ctx.answered(ctx.msg('W2A_LockConference', { ExtConfID: extConfId, Lock: true }), 'A2W_RspLockConference', 0);
      await ctx.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === extConfId && m.Status === 2, 'conference locked');
      await ctx.answered(ctx.msg('W2A_LockConference', { ExtConfID: extConfId, Lock: false }), 'A2W_RspLockConference', 0);
      await ctx.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === extConfId && m.Status === 0, 'conference running again');
      await ctx.endConference(extConfId);
    },
  },
  {
    name: 'mute all and keep-alive',
    checks: 'W2A_MuteConference 1 and 0 -> RspMuteConference 0; W2A_KeepAliveConference -> Confirmation 0 and no response message',
    needsEmulator: false,
    async run(ctx) {
      const { extConfId } = await ctx.createConference();
      await ctx.answered(ctx.msg('W2A_MuteConference', { ExtConfID: extConfId, Mute: true, ApplyToNewCallers: true }), 'A2W_RspMuteConference', 0);
      await ctx.answered(ctx.msg('W2A_MuteConference', { ExtConfID: extConfId, Mute: false }), 'A2W_RspMuteConference', 0);
      const keepAlive = ctx.msg('W2A_KeepAliveConference', { ExtConfID: extConfId });
      await ctx.confirm(keepAlive);
      await ctx.nothingMore(extConfId, (m) => m.MsgID === keepAlive.MsgID, 0, 'messages answering W2A_KeepAliveConference');
      await ctx.endConference(extConfId);
    },
  },
  {
    name: 'unknown conference and caller',
    checks: 'a command for an unknown ExtConfID is confirmed 0 and answered Result 10; for an unknown ExtCallID, Result 20 (MuteUser, ExpelUser, AddToSubConference)',
    needsEmulator: false,
    async run(ctx) {
      const nowhere = ctx.newConference().extConfId;
      await ctx.answered(ctx.msg('W2A_MuteUser', { ExtConfID: nowhere, ExtCallID: 'nobody', Mute: true, WbxHostName: ctx.sim.url }), 'A2W_RspMuteUser', 10);
      const { extConfId } = await ctx.createConference();
      await ctx.answered(ctx.msg('W2A_MuteUser', { ExtConfID: extConfId, ExtCallID: 'nobody', Mute: true }), 'A2W_RspMuteUser', 20);
      await ctx.answered(ctx.msg('W2A_ExpelUser', { ExtConfID: extConfId, ExtCallID: 'nobody' }), 'A2W_RspExpelUser', 20);
      await ctx.answered(ctx.msg('W2A_AddToSubConference', { ExtConfID: extConfId, ExtCallID: 'nobody', SubConfID: 1 }), 'A2W_RspAddToSubConference', 20);
      await ctx.endConference(extConfId);
    },
  },
  {
    name: 'TransID repeat',
    checks: 'a transaction posted again under its TransID gets the same Confirmation and is not carried out again (one response only)',
    needsEmulator: false,
    async run(ctx) {
      const { extConfId } = await ctx.createConference();
      const lock = ctx.msg('W2A_LockConference', { ExtConfID: extConfId, Lock: true });
      const transId = await ctx.confirm(lock);
      await ctx.next('A2W_RspLockConference', (m) => m.MsgID === lock.MsgID, 'the first answer');
      const again = await ctx.sim.send([lock], { transId });
      expect(again.result === 0, `the repeat of ${transId} was confirmed ${again.result ?? again.reason}, expected the same 0`);
      await ctx.nothingMore(extConfId, (m) => m.type === 'A2W_RspLockConference' && m.MsgID === lock.MsgID, 1, `answers to ${lock.MsgID} after its TransID was repeated`);
      await ctx.endConference(extConfId);
    },
  },
  {
    name: 'invalid input',
    checks: 'Confirmation 1 not well-formed, 2 unknown element or missing attribute, 3 a value rule (ConfKey not digits), 4 Version 2.0, 6 too many commands; nothing is carried out',
    needsEmulator: false,
    async run(ctx) {
      const { sim } = ctx;
      const conference = ctx.newConference();
      await refused(sim, `${ENVELOPE_OPEN}<TransID>${sim.newId('trans')}</TransID><W2A_LockConference`, 1, 'a truncated document');
      await refused(sim, `${ENVELOPE_OPEN}<TransID>${sim.newId('trans')}</TransID><W2A_Reboot MsgID="1"></W2A_Reboot></WbxTSPSchema>`, 2, 'an unknown element');
      await refused(sim, `${ENVELOPE_OPEN}<TransID>${sim.newId('trans')}</TransID><W2A_LockConference MsgID="1" Lock="1"></W2A_LockConference></WbxTSPSchema>`, 2, 'a missing ExtConfID');
      const badKey = sim.newId('msg');
      await refused(
        sim,
        `${ENVELOPE_OPEN}<TransID>${sim.newId('trans')}</TransID><W2A_CreateConference MsgID="${badKey}" ExtConfID="${conference.extConfId}" ConfKey="12ab" WbxHostName="${sim.url}"></W2A_CreateConference></WbxTSPSchema>`,
        3,
        'ConfKey "12ab"',
      );
      await refused(sim, `<WbxTSPSchema Name="WTSPDOM" Version="2.0"><TransID>${sim.newId('trans')}</TransID><W2A_KeepAliveConference MsgID="1" ExtConfID="x"></W2A_KeepAliveConference></WbxTSPSchema>`, 4, 'Version 2.0');
      const keepAlive = `<W2A_KeepAliveConference MsgID="k" ExtConfID="${conference.extConfId}"></W2A_KeepAliveConference>`;
      await refused(sim, `${ENVELOPE_OPEN}<TransID>${sim.newId('trans')}</TransID>${keepAlive.repeat(TOO_MANY_COMMANDS)}</WbxTSPSchema>`, 6, `${TOO_MANY_COMMANDS} commands`);
      // The refused create must not have made the conference: it is still unknown.
      await ctx.answered(ctx.msg('W2A_LockConference', { ExtConfID: conference.extConfId, Lock: true, WbxHostName: sim.url }), 'A2W_RspLockConference', 10);
    },
  },
  {
    name: 're-create fail-over',
    checks: 'another WebEx server re-creates a running conference with the same ConfKey and a new ExtConfID: RspCreateConference 0 to it, and the conference then answers it under the new ExtConfID',
    needsEmulator: false,
    async run(ctx) {
      const first = await ctx.createConference();
      const extConfId = `${first.extConfId}-b`;
      const recreate = ctx.msg('W2A_CreateConference', { ExtConfID: extConfId, ConfKey: first.confKey, WbxHostName: ctx.second.url }, ctx.second);
      const rsp = await ctx.answered(recreate, 'A2W_RspCreateConference', 0, ctx.second);
      expect(rsp.ExtConfID === extConfId, `RspCreateConference names ${rsp.ExtConfID}, expected the new ${extConfId}`);
      await ctx.answered(ctx.msg('W2A_LockConference', { ExtConfID: extConfId, Lock: true }, ctx.second), 'A2W_RspLockConference', 0, ctx.second);
      await ctx.endConference(extConfId, ctx.second);
    },
  },
];
