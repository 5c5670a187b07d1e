/**
 * The scenarios played on the bridge through the emulator's control interface (--emulator):
 * callers dialling in and being named, host and keypad mutes, speaking, sub-conferences,
 * dial-out outcomes, expel, hang-up, the roster re-announced on fail-over, and the end of a
 * conference with callers in it.
 */
import { expect, type CertifyContext, type CertifyScenario } from './check.js';

/** Numbers the dial-out plan answers with each outcome, and the Result WebEx must get. */
const DIAL_OUTCOMES: { outcome: string; number: string; result: number; confirm?: boolean }[] = [
  { outcome: 'busy', number: '1,408,5550401', result: 40 },
  { outcome: 'no-answer', number: '1,408,5550402', result: 41 },
  { outcome: 'rejected', number: '1,408,5550404', result: 42, confirm: true },
  { outcome: 'invalid', number: '1,408,5550403', result: 43 },
];
const ANSWERED_NUMBER = '1,408,5550405';
const RING_MS = 50;
const TALK_MS = 1_500;

async function withCaller(ctx: CertifyContext, callerId: string, body: (c: { extConfId: string; confKey: string }, caller: { port: string; extCallId: string }) => Promise<void>): Promise<void> {
  const conference = await ctx.createConference();
  const caller = await ctx.dialIn(conference, callerId);
  await body(conference, caller);
  await ctx.endConference(conference.extConfId);
}

export const CALLER_SCENARIOS: CertifyScenario[] = [
  {
    name: 'dial-in and leave',
    checks: 'a caller keying the ConfKey is announced by NotifyUserEnter with an empty ExtCallID and the CallerID; after W2A_RspNotifyUserEnter a hang-up is NotifyUserChange Status 1 Reason Hangup under the ExtCallID WebEx gave',
    needsEmulator: true,
    async run(ctx) {
      await withCaller(ctx, '14085550601', async (_c, caller) => {
        await ctx.emulator.hangUp(caller.port);
        const left = await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Status === 1, 'the caller left');
        expect(left.message.Reason === 'Hangup', `Reason ${left.message.Reason}, expected Hangup`);
      });
    },
  },
  {
    name: 'host mute',
    checks: 'W2A_MuteUser -> RspMuteUser 0, NotifyUserChange Mute 1 MuteBy Host, and the caller muted on the bridge; Mute 0 undoes it',
    needsEmulator: true,
    async run(ctx) {
      await withCaller(ctx, '14085550602', async (c, caller) => {
        await ctx.answered(ctx.msg('W2A_MuteUser', { ExtConfID: c.extConfId, ExtCallID: caller.extCallId, Mute: true }), 'A2W_RspMuteUser', 0);
        const change = await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Mute === true, 'muted');
        expect(change.message.MuteBy === 'Host', `MuteBy ${change.message.MuteBy}, expected Host`);
        expect((await ctx.emulator.caller(c.confKey, caller.port))?.muted === true, 'the caller is not muted on the bridge');
        await ctx.answered(ctx.msg('W2A_MuteUser', { ExtConfID: c.extConfId, ExtCallID: caller.extCallId, Mute: false }), 'A2W_RspMuteUser', 0);
        await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Mute === false, 'unmuted');
      });
    },
  },
  {
    name: 'mute by keypad',
    checks: '*6 on the caller\'s keypad -> NotifyUserChange Mute 1 MuteBy Self; *6 again -> Mute 0',
    needsEmulator: true,
    async run(ctx) {
      await withCaller(ctx, '14085550603', async (_c, caller) => {
        await ctx.emulator.keys(caller.port, '*6');
        const muted = await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Mute === true, 'self-muted');
        expect(muted.message.MuteBy === 'Self', `MuteBy ${muted.message.MuteBy}, expected Self`);
        await ctx.emulator.keys(caller.port, '*6');
        await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Mute === false, 'self-unmuted');
      });
    },
  },
  {
    name: 'speaking',
    checks: 'a talking burst -> NotifyUserChange Speaking 1, then Speaking 0 when it ends',
    needsEmulator: true,
    async run(ctx) {
      await withCaller(ctx, '14085550604', async (_c, caller) => {
        const talk = await ctx.emulator.talk(caller.port, TALK_MS);
        expect(talk.talking, 'the bridge did not hear the caller');
        await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Speaking === true, 'speaking');
        await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Speaking === false, 'stopped speaking');
      });
    },
  },
  {
    name: 'sub-conference and expel',
    checks: 'W2A_AddToSubConference 2 -> 0 and NotifyUserChange Status 2 SubConfID 2; W2A_ExpelUser -> 0 and NotifyUserChange Status 1 Reason Expelled; the port is freed',
    needsEmulator: true,
    async run(ctx) {
      await withCaller(ctx, '14085550605', async (c, caller) => {
        await ctx.answered(ctx.msg('W2A_AddToSubConference', { ExtConfID: c.extConfId, ExtCallID: caller.extCallId, SubConfID: 2 }), 'A2W_RspAddToSubConference', 0);
        const moved = await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Status === 2, 'in sub-conference 2');
        expect(moved.message.SubConfID === 2, `SubConfID ${moved.message.SubConfID}, expected 2`);
        await ctx.answered(ctx.msg('W2A_ExpelUser', { ExtConfID: c.extConfId, ExtCallID: caller.extCallId }), 'A2W_RspExpelUser', 0);
        const left = await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Status === 1, 'expelled');
        expect(left.message.Reason === 'Expelled', `Reason ${left.message.Reason}, expected Expelled`);
        expect((await ctx.emulator.caller(c.confKey, caller.port)) === undefined, 'the expelled caller is still on the bridge');
      });
    },
  },
  {
    name: 'dial-out outcomes',
    checks: 'W2A_Callout answered -> RspCallout 0 then NotifyUserEnter with the same ExtCallID; busy 40, no answer 41, not confirmed 42, invalid number 43',
    needsEmulator: true,
    async run(ctx) {
      const rules = [...DIAL_OUTCOMES, { outcome: 'answered', number: ANSWERED_NUMBER }].map(({ outcome, number }) => ({ match: 'exact' as const, number, outcome }));
      await ctx.emulator.dialOutPlan({ rules, ringMs: RING_MS });
      const { extConfId } = await ctx.createConference();
      const extCallId = ctx.sim.newId('call');
      await ctx.answered(ctx.msg('W2A_Callout', { ExtConfID: extConfId, ExtCallID: extCallId, PhoneNumber: ANSWERED_NUMBER }), 'A2W_RspCallout', 0);
      await ctx.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === extConfId && m.ExtCallID === extCallId, 'the callee joined');
      for (const { outcome, number, result, confirm } of DIAL_OUTCOMES) {
        const callout = ctx.msg('W2A_Callout', { ExtConfID: extConfId, ExtCallID: ctx.sim.newId('call'), PhoneNumber: number, ...(confirm ? { Confirm: true } : {}) });
        try {
          await ctx.answered(callout, 'A2W_RspCallout', result);
        } catch (err) {
          throw new Error(`${outcome}: ${(err as Error).message}`);
        }
      }
      await ctx.endConference(extConfId);
    },
  },
  {
    name: 'fail-over roster',
    checks: 'a re-creation by another WebEx server re-announces every caller to it: NotifyUserEnter with the known ExtCallID, and NotifyUserChange for a muted one',
    needsEmulator: true,
    async run(ctx) {
      const first = await ctx.createConference();
      const muted = await ctx.dialIn(first, '14085550606');
      const plain = await ctx.dialIn(first, '14085550607');
      await ctx.answered(ctx.msg('W2A_MuteUser', { ExtConfID: first.extConfId, ExtCallID: muted.extCallId, Mute: true }), 'A2W_RspMuteUser', 0);
      await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === muted.extCallId && m.Mute === true, 'muted before the fail-over');
      const extConfId = `${first.extConfId}-b`;
      await ctx.answered(ctx.msg('W2A_CreateConference', { ExtConfID: extConfId, ConfKey: first.confKey, WbxHostName: ctx.second.url }, ctx.second), 'A2W_RspCreateConference', 0, ctx.second);
      for (const caller of [muted, plain]) {
        await ctx.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === extConfId && m.ExtCallID === caller.extCallId, `${caller.extCallId} re-announced`, ctx.second);
      }
      const change = await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === muted.extCallId, 'the muted caller\'s state', ctx.second);
      expect(change.message.Mute === true, `the re-announced caller has Mute ${change.message.Mute}, expected 1`);
      await ctx.endConference(extConfId, ctx.second);
    },
  },
  {
    name: 'end with callers',
    checks: 'W2A_EndConference with a caller in it -> NotifyUserChange Status 1 Reason ConferenceEnded, NotifyConferenceChange 3, the conference gone from the bridge',
    needsEmulator: true,
    async run(ctx) {
      const conference = await ctx.createConference();
      const caller = await ctx.dialIn(conference, '14085550608');
      await ctx.answered(ctx.msg('W2A_EndConference', { ExtConfID: conference.extConfId }), 'A2W_RspEndConference', 0);
      const left = await ctx.next('A2W_NotifyUserChange', (m) => m.ExtCallID === caller.extCallId && m.Status === 1, 'the caller disconnected');
      expect(left.message.Reason === 'ConferenceEnded', `Reason ${left.message.Reason}, expected ConferenceEnded`);
      await ctx.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === conference.extConfId && m.Status === 3, 'conference ended');
      const state = await ctx.emulator.state();
      expect(!state.conferences.some((c) => c.options.confKey === conference.confKey), 'the conference is still on the bridge');
    },
  },
];
