/** Event ordering and de-duplication by the bridge's sequence numbers, without any I/O. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BridgeEvent } from '../../src/bridges/driver.js';
import { EventSequencer } from '../../src/bridges/link/event-sequencer.js';

function conf(seq: number): BridgeEvent {
  return { type: 'conferenceChanged', bridgeConfId: `C${seq}`, state: 'started' };
}

function harness(reorderWindowMs = 60_000, maxHeld = 100, onDeliver: () => void = () => undefined) {
  const delivered: number[] = [];
  const duplicates: number[] = [];
  const gaps: [number, number][] = [];
  const sequencer = new EventSequencer(
    {
      deliver: (_event, seq) => {
        delivered.push(seq);
        onDeliver();
      },
      duplicate: (seq) => duplicates.push(seq),
      gapSkipped: (from, to) => gaps.push([from, to]),
    },
    { reorderWindowMs, maxHeld },
  );
  return { sequencer, delivered, duplicates, gaps };
}

describe('EventSequencer', () => {
  it('holds events until the snapshot, then delivers only those after it, in order', () => {
    const h = harness();
    for (const seq of [12, 10, 11, 13, 11]) h.sequencer.push(seq, conf(seq));
    assert.deepEqual(h.delivered, []);
    h.sequencer.start(11);
    assert.deepEqual(h.delivered, [12, 13]);
    assert.deepEqual(h.duplicates, [11]);
    h.sequencer.stop();
  });

  it('counts repeats of delivered or held events as duplicates', () => {
    const h = harness();
    h.sequencer.start(0);
    for (const seq of [1, 1, 3, 3, 2, 2]) h.sequencer.push(seq, conf(seq));
    assert.deepEqual(h.delivered, [1, 2, 3]);
    assert.deepEqual(h.duplicates, [1, 3, 2]);
    h.sequencer.stop();
  });

  it('skips a gap at once when too much is held behind it', () => {
    const h = harness(60_000, 2);
    h.sequencer.start(0);
    for (const seq of [3, 4, 5]) h.sequencer.push(seq, conf(seq));
    assert.deepEqual(h.delivered, [3, 4, 5]);
    assert.deepEqual(h.gaps, [[1, 2]]);
    h.sequencer.stop();
  });

  it('skips a gap after the reorder window', async () => {
    let delivered!: () => void;
    const firstDelivery = new Promise<void>((resolve) => (delivered = resolve));
    const h = harness(5, 100, () => delivered());
    h.sequencer.start(0);
    h.sequencer.push(2, conf(2));
    assert.deepEqual(h.delivered, []);
    await firstDelivery;
    assert.deepEqual(h.gaps, [[1, 1]]);
    h.sequencer.push(1, conf(1));
    assert.deepEqual(h.duplicates, [1]);
    h.sequencer.stop();
  });

  it('delivers nothing after stop', () => {
    const h = harness();
    h.sequencer.start(0);
    h.sequencer.stop();
    h.sequencer.push(1, conf(1));
    assert.deepEqual(h.delivered, []);
  });
});
