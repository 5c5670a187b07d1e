import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConferenceRegistry } from '../../src/adaptor/conference/registry.js';
import { promisedPorts, type CallerState, type ConferenceState } from '../../src/adaptor/conference/state.js';

function conference(confId: string, bridgeId: string, attendeeCount: number, joined: number, status: ConferenceState['status'] = 'running'): ConferenceState {
  const callers = Array.from({ length: joined }, (_, i) => ({ phase: 'joined', extCallID: `${confId}-c${i}` }) as unknown as CallerState);
  return {
    confId, confKey: `1000${confId}`, extConfID: `ext-${confId}`, formerExtConfIDs: [], wbxHostName: undefined, bridgeId,
    bridgeConfId: undefined, status, entryTone: 'none', silentJoin: false, muteOnEntry: false, attendeeCount,
    classes: {} as ConferenceState['classes'], muteAll: undefined, lastActivityAt: 0, recentDialOutsAt: [], callers,
  } as ConferenceState;
}

/** What admission used to compute on every create: the sum over the open conferences. */
function scanned(registry: ConferenceRegistry, bridgeId: string): number {
  return registry.open(bridgeId).reduce((sum, c) => sum + promisedPorts(c), 0);
}

test('the ports promised per bridge follow every put and remove, as a scan of the open conferences gives them', () => {
  const registry = new ConferenceRegistry();
  registry.put(conference('a', 'b1', 10, 0));
  registry.put(conference('b', 'b1', 4, 1));
  registry.put(conference('c', 'b2', 6, 0));
  assert.equal(registry.promisedPorts('b1'), 13);
  assert.equal(registry.promisedPorts('b2'), 6);
  // Callers join: fewer ports still promised.
  registry.put(conference('a', 'b1', 10, 7));
  assert.equal(registry.promisedPorts('b1'), 6);
  // Ended conferences promise nothing; compaction forgets them.
  registry.put(conference('b', 'b1', 4, 1, 'ended'));
  assert.equal(registry.promisedPorts('b1'), 3);
  registry.remove('b');
  registry.remove('c');
  for (const bridgeId of ['b1', 'b2', 'unknown']) assert.equal(registry.promisedPorts(bridgeId), scanned(registry, bridgeId), bridgeId);
  assert.equal(registry.promisedPorts('b2'), 0);
});

test('a copy shares nothing with the kept version: changing it deeply leaves the registry as it was', () => {
  const registry = new ConferenceRegistry();
  const kept = conference('a', 'b1', 4, 2);
  kept.muteAll = { muted: true, applyToNewCallers: false };
  kept.recentDialOutsAt = [1, 2];
  (kept.callers[0] as unknown as { held: unknown[] }).held = [{ type: 'A2W_NotifyUserLeave', MsgID: 'm1' }];
  registry.put(kept);
  const before = structuredClone(registry.get('a'));
  const copy = registry.copy(registry.get('a'))!;
  assert.deepEqual(copy, before);
  copy.formerExtConfIDs.push('old');
  copy.muteAll!.muted = false;
  copy.recentDialOutsAt.push(3);
  copy.classes.tollCallIn = true;
  (copy.callers[0] as unknown as { held: { MsgID: string }[] }).held[0]!.MsgID = 'changed';
  (copy.callers[1] as unknown as { extCallID: string }).extCallID = 'changed';
  copy.callers.pop();
  assert.deepEqual(registry.get('a'), before);
  assert.equal(registry.copy(undefined), undefined);
});
