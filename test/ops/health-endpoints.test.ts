/**
 * /healthz and /readyz on the admin listener of a real daemon with the embedded emulator, and
 * readiness as a pure function for the cases a daemon cannot easily be put in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LOOP_DELAY_LIMIT_MS } from '../../src/adaptor/admin/health-routes.js';
import { readiness } from '../../src/adaptor/health/readiness.js';
import { startStack, type Stack } from '../e2e/support.js';

describe('health endpoints', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack?.close());

  test('the admin listener is plain HTTP on loopback, apart from the WebEx listener', async () => {
    assert.match(stack.daemon.adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(stack.daemon.adminUrl).port, new URL(stack.daemon.webexUrl).port);
    const res = await fetch(`${stack.daemon.adminUrl}/tsp`);
    assert.equal(res.status, 404);
  });

  test('/healthz answers 200 with the loop delay', async () => {
    const res = await fetch(`${stack.daemon.adminUrl}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { healthy: boolean; loopDelayMs: { max: number } };
    assert.equal(body.healthy, true);
    assert.equal(typeof body.loopDelayMs.max, 'number');
  });

  test('/healthz answers 503 after the event loop was blocked past its limit, and 200 again after', async () => {
    await fetch(`${stack.daemon.adminUrl}/healthz`); // starts a fresh window
    const blockedUntil = performance.now() + LOOP_DELAY_LIMIT_MS * 1.5;
    while (performance.now() < blockedUntil) {
      // The daemon shares this loop: nothing else runs until the limit is passed.
    }
    const blocked = await fetch(`${stack.daemon.adminUrl}/healthz`);
    assert.equal(blocked.status, 503);
    assert.equal(((await blocked.json()) as { healthy: boolean }).healthy, false);
    assert.equal((await fetch(`${stack.daemon.adminUrl}/healthz`)).status, 200);
  });

  test('/readyz answers 200 once the emulator bridge is up', async () => {
    const res = await fetch(`${stack.daemon.adminUrl}/readyz`);
    const body = (await res.json()) as { ready: boolean; reasons: string[]; bridges: { id: string; link: string }[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.ready, true);
    assert.deepEqual(body.bridges.map((b) => [b.id, b.link]), [['emulator', 'up']]);
  });
});

describe('readiness', () => {
  const up = { state: 'up', since: 1 } as const;

  test('draining is not ready, and says so', () => {
    const r = readiness({ storeOpen: true, engine: 'draining', bridges: [{ id: 'a', status: up }] });
    assert.equal(r.ready, false);
    assert.match(r.reasons.join(), /draining/);
  });

  test('no bridge up is not ready, naming each bridge and its state', () => {
    const r = readiness({ storeOpen: true, engine: 'running', bridges: [{ id: 'a', status: { state: 'stale', missed: 3 } }] });
    assert.equal(r.ready, false);
    assert.match(r.reasons.join(), /a is stale/);
  });

  test('a bridge up but failing its deep check is not usable; another usable bridge keeps it ready', () => {
    const failed = { outcome: 'failed', at: 1, step: 'mute', error: 'timeout' } as const;
    const alone = readiness({ storeOpen: true, engine: 'running', bridges: [{ id: 'a', status: up, deepCheck: failed }] });
    assert.equal(alone.ready, false);
    assert.match(alone.reasons.join(), /a failed its deep check at step mute/);
    const pair = readiness({ storeOpen: true, engine: 'running', bridges: [{ id: 'a', status: up, deepCheck: failed }, { id: 'b', status: up }] });
    assert.equal(pair.ready, true);
  });

  test('a closed store is not ready', () => {
    const r = readiness({ storeOpen: false, engine: 'running', bridges: [{ id: 'a', status: up }] });
    assert.deepEqual(r.reasons, ['the store is closed']);
  });
});
