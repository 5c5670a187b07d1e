import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveState } from '../../src/adaptor/live/live-state.js';
import { TIMELINE_ENTRIES_BUDGET, TIMELINE_ENTRIES_MAX, TIMELINES_MAX, Timelines } from '../../src/adaptor/live/timelines.js';
import { fakeConference } from './live-feed-support.js';

let at = 0;
function entry(extConfID: string) {
  return { extConfID, step: { kind: 'w2a' as const, at: ++at, transId: `t${at}`, msgId: `m${at}`, msgType: 'W2A_KeepAliveConference' as const, extConfID } };
}

function fill(timelines: Timelines, extConfID: string, count: number): number[] {
  const ats: number[] = [];
  for (let i = 0; i < count; i++) {
    const e = entry(extConfID);
    timelines.record(e);
    ats.push(e.step.at);
  }
  return ats;
}

const atsOf = (timelines: Timelines, extConfID: string): number[] => timelines.entries(extConfID).map((e) => e.step.at);

test('the worst case (500 busy conferences, each past its cap) never holds more than the total budget', () => {
  const live = new LiveState();
  let most = 0;
  for (let round = 0; round < TIMELINE_ENTRIES_MAX + 10; round++) {
    for (let c = 0; c < TIMELINES_MAX; c++) {
      live.step(entry(`conf-${c}`).step);
      most = Math.max(most, live.timelineEntries);
    }
  }
  assert.equal(most, TIMELINE_ENTRIES_BUDGET);
  const lengths = Array.from({ length: TIMELINES_MAX }, (_, c) => live.timeline(`conf-${c}`).length);
  assert.equal(lengths.reduce((a, b) => a + b, 0), TIMELINE_ENTRIES_BUDGET, 'the running total matches the timelines');
  // Shared out: every conference keeps an equal share (within one entry) of its newest entries.
  assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1, `lengths ${Math.min(...lengths)}..${Math.max(...lengths)}`);
});

test('a conference holding under its share keeps everything while the busiest trims its own oldest', () => {
  const timelines = new Timelines();
  const quiet = fill(timelines, 'quiet', 50);
  const busy = Math.ceil(TIMELINE_ENTRIES_BUDGET / TIMELINE_ENTRIES_MAX) + 5;
  const last: number[][] = [];
  for (let c = 0; c < busy; c++) last.push(fill(timelines, `busy-${c}`, TIMELINE_ENTRIES_MAX));
  assert.equal(timelines.total, TIMELINE_ENTRIES_BUDGET);
  assert.deepEqual(atsOf(timelines, 'quiet'), quiet, 'the quiet conference, older than all, lost nothing');
  for (let c = 0; c < busy; c++) {
    const kept = atsOf(timelines, `busy-${c}`);
    assert.ok(kept.length > 0);
    assert.deepEqual(kept, last[c]!.slice(-kept.length), `busy-${c} keeps its newest entries, in order`);
  }
});

test('over the budget, ended conferences\' timelines go first, the one ended longest ago first, before any active entry', () => {
  const timelines = new Timelines();
  for (let e = 0; e < 10; e++) fill(timelines, `ended-${e}`, TIMELINE_ENTRIES_MAX);
  for (const e of [3, 1, 2, 0, 4, 5, 6, 7, 8, 9]) timelines.ended(`ended-${e}`);
  const active = (TIMELINE_ENTRIES_BUDGET - 5 * TIMELINE_ENTRIES_MAX) / TIMELINE_ENTRIES_MAX;
  for (let a = 0; a < active; a++) fill(timelines, `active-${a}`, TIMELINE_ENTRIES_MAX);
  assert.equal(timelines.total, TIMELINE_ENTRIES_BUDGET);
  for (const gone of [3, 1, 2, 0, 4]) assert.equal(timelines.entries(`ended-${gone}`).length, 0, `ended-${gone} went`);
  for (const kept of [5, 6, 7, 8, 9]) assert.equal(timelines.entries(`ended-${kept}`).length, TIMELINE_ENTRIES_MAX, `ended-${kept} kept`);
  for (let a = 0; a < active; a++) assert.equal(timelines.entries(`active-${a}`).length, TIMELINE_ENTRIES_MAX);

  for (let a = active; a < active + 6; a++) fill(timelines, `active-${a}`, TIMELINE_ENTRIES_MAX);
  for (let e = 0; e < 10; e++) assert.equal(timelines.entries(`ended-${e}`).length, 0);
  const lengths = Array.from({ length: active + 6 }, (_, a) => timelines.entries(`active-${a}`).length);
  assert.ok(Math.max(...lengths) < TIMELINE_ENTRIES_MAX, 'then the active ones share');
  assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1, `lengths ${Math.min(...lengths)}..${Math.max(...lengths)}`);
  assert.equal(timelines.total, TIMELINE_ENTRIES_BUDGET);
});

test('a re-created ExtConfID\'s timeline is an active one again', () => {
  const timelines = new Timelines();
  fill(timelines, 'again', 10);
  timelines.ended('again');
  timelines.reopened('again');
  const active = TIMELINE_ENTRIES_BUDGET / TIMELINE_ENTRIES_MAX;
  for (let a = 0; a < active; a++) fill(timelines, `active-${a}`, TIMELINE_ENTRIES_MAX);
  assert.equal(timelines.entries('again').length, 10);
});

test('conferences ending on the live feed mark their timelines, and past TIMELINES_MAX an ended one is forgotten first', () => {
  const live = new LiveState();
  const ended = { ...fakeConference('ended-1'), status: 'ended' as const, endedAt: 5 };
  live.conference({ conference: fakeConference('ended-1'), changes: [{ kind: 'created' }] }, 1);
  live.conference({ conference: ended, changes: [{ kind: 'status', status: 'ended', was: 'running' }] }, 2);
  assert.equal(live.timeline('ended-1').length, 2);
  for (let c = 0; c < TIMELINES_MAX; c++) live.step(entry(`active-${c}`).step);
  assert.equal(live.timeline('ended-1').length, 0);
  assert.equal(live.timeline('active-0').length, 1);
  assert.equal(live.timelineEntries, TIMELINES_MAX);
});

test('a conference re-created under a new ExtConfID leaves its former timeline among the first to go', () => {
  const live = new LiveState();
  live.conference({ conference: fakeConference('first-id'), changes: [{ kind: 'created' }] }, 1);
  live.step(entry('first-id').step);
  const recreated = { ...fakeConference('first-id'), extConfID: 'second-id', formerExtConfIDs: ['first-id'] };
  live.conference({ conference: recreated, changes: [] }, 2);
  live.step(entry('first-id').step);
  assert.equal(live.timeline('first-id').length, 2);
  assert.equal(live.timeline('second-id').length, 1, 'a step naming the former ExtConfID goes to the current timeline');
  const active = TIMELINE_ENTRIES_BUDGET / TIMELINE_ENTRIES_MAX;
  for (let a = 0; a < active; a++) for (let i = 0; i < TIMELINE_ENTRIES_MAX; i++) live.step(entry(`active-${a}`).step);
  assert.equal(live.timeline('first-id').length, 0);
  assert.equal(live.timeline('second-id').length, 1);
});
