import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveState } from '../../src/adaptor/live/live-state.js';
import { TIMELINE_ENTRIES_MAX } from '../../src/adaptor/live/timelines.js';

test('a full timeline keeps its newest entries, oldest first', () => {
  const live = new LiveState();
  const steps = TIMELINE_ENTRIES_MAX + 25;
  for (let i = 0; i < steps; i++) {
    live.step({ kind: 'w2a', at: i, transId: `t${i}`, msgId: `m${i}`, msgType: 'W2A_KeepAliveConference', extConfID: 'conf-1' });
  }
  const timeline = live.timeline('conf-1');
  assert.equal(timeline.length, TIMELINE_ENTRIES_MAX);
  assert.deepEqual(timeline.map((e) => e.step.at), Array.from({ length: TIMELINE_ENTRIES_MAX }, (_, i) => steps - TIMELINE_ENTRIES_MAX + i));
  // A copy: the caller cannot change what is kept.
  timeline.length = 0;
  assert.equal(live.timeline('conf-1').length, TIMELINE_ENTRIES_MAX);
});
