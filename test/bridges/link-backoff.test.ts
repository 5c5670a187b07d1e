/** Reconnect pacing: capped exponential back-off with full jitter, and a wait close() can cut short. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cancellableDelay, reconnectDelayMs } from '../../src/bridges/link/backoff.js';

describe('reconnect back-off', () => {
  it('doubles the ceiling per attempt up to the cap', () => {
    const ceiling = (attempt: number): number => reconnectDelayMs(attempt, 100, 5_000, () => 0.999_999);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 100].map(ceiling), [99, 199, 399, 799, 1599, 3199, 4999, 4999]);
  });

  it('jitters over the whole range, down to zero', () => {
    assert.equal(reconnectDelayMs(3, 100, 5_000, () => 0), 0);
    assert.equal(reconnectDelayMs(3, 100, 5_000, () => 0.5), 200);
  });

  it('an aborted wait ends at once', async () => {
    const controller = new AbortController();
    const waiting = cancellableDelay(60_000, controller.signal);
    controller.abort();
    await waiting;
    await cancellableDelay(60_000, controller.signal);
  });
});
