/**
 * The decisions of a cluster member, as pure functions: which free lease an instance takes
 * (fair share, then a grace period after which anyone takes it), when an owner hands one back,
 * and which bridge a new conference goes to (most free ports, else a stable hash).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseBridge } from '../../src/adaptor/cluster/bridge-choice.js';
import { fairShare, GRACE_TICKS, shouldHandBack, wantsLease } from '../../src/adaptor/cluster/lease-policy.js';

describe('lease policy', () => {
  it('spreads the bridges: a fair share each, rounded up', () => {
    assert.equal(fairShare(2, 2), 1);
    assert.equal(fairShare(2, 3), 1);
    assert.equal(fairShare(3, 2), 2);
    assert.equal(fairShare(2, 0), 2, 'alone (or seeing no one) means every bridge');
  });

  it('takes a free lease below its share, and any lease free for the grace ticks', () => {
    assert.equal(wantsLease({ owned: 0, bridges: 2, liveInstances: 2, freeTicks: 1 }), true);
    assert.equal(wantsLease({ owned: 1, bridges: 2, liveInstances: 2, freeTicks: 1 }), false, 'at its share: leaves it to the other');
    assert.equal(wantsLease({ owned: 1, bridges: 2, liveInstances: 2, freeTicks: GRACE_TICKS }), true, 'nobody took it: never left unowned');
    assert.equal(wantsLease({ owned: 1, bridges: 2, liveInstances: 1, freeTicks: 1 }), true, 'the other is gone: both are its share');
    assert.equal(wantsLease({ owned: 0, bridges: 2, liveInstances: 2, freeTicks: 0 }), false, 'a held lease is never wanted');
  });

  it('hands one back only to a peer two bridges behind', () => {
    assert.equal(shouldHandBack(2, [0]), true);
    assert.equal(shouldHandBack(2, [1]), false);
    assert.equal(shouldHandBack(1, [0, 0]), false);
    assert.equal(shouldHandBack(2, [1, 0]), true);
    assert.equal(shouldHandBack(2, []), false, 'alone: keeps everything');
  });
});

describe('bridge choice for a new conference', () => {
  const bridges = ['bridge-1', 'bridge-2'];

  it('goes to the bridge with the most free ports its owner published', () => {
    const offers = new Map([['bridge-1', 10], ['bridge-2', 40]]);
    for (const key of ['1', '2', '3', '4']) assert.equal(chooseBridge(key, bridges, offers), 'bridge-2');
    assert.equal(chooseBridge('1', bridges, new Map([['bridge-1', 0]])), 'bridge-1', 'a published figure beats none');
  });

  it('without figures, or on a tie, is a stable hash of the key over the bridges, whatever their order', () => {
    const keys = Array.from({ length: 40 }, (_, i) => String(70_000_000 + i));
    const chosen = keys.map((k) => chooseBridge(k, bridges, new Map()));
    assert.deepEqual(keys.map((k) => chooseBridge(k, [...bridges].reverse(), new Map())), chosen, 'same on every instance');
    assert.deepEqual(keys.map((k) => chooseBridge(k, bridges, new Map([['bridge-1', 5], ['bridge-2', 5]]))), chosen, 'a tie falls back to the hash');
    assert.ok(chosen.includes('bridge-1') && chosen.includes('bridge-2'), 'both bridges get conferences');
  });

  it('asks for a bridge when none is configured', () => {
    assert.throws(() => chooseBridge('1', [], new Map()), /at least one bridge/);
  });
});
