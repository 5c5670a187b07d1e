/**
 * The console in headless Chromium against a feed the test controls (a loopback express server
 * with the console and the feed mounted as the admin listener mounts them): when the feed goes
 * away the page says so instead of showing stale data as live, reconnects by itself and redraws
 * from the new snapshot; a down bridge is shown in words; text from the feed stays text.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import pino from 'pino';
import { mountConsole } from '../../src/adaptor/console/mount-console.js';
import { mountLiveFeed, type LiveFeed } from '../../src/adaptor/live/live-feed.js';
import { chromiumMissing, openConsole, type Browser } from './console-support.js';
import { FakeEngine, fakeCaller, fakeConference } from './live-feed-support.js';

/** Covers the page's first reconnection delay (1 s, jittered up to 1.25 s) with room to spare. */
const PAGE_WAIT_MS = 10_000;

describe('console reconnecting to the feed', { skip: chromiumMissing() }, () => {
  const logger = pino({ level: 'silent' });
  let server: http.Server;
  let base: string;
  let feed: LiveFeed | undefined;
  let browser: Browser | undefined;

  before(async () => {
    const router = express.Router();
    mountConsole(router);
    const app = express();
    app.use(router);
    server = http.createServer(app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await browser?.close();
    await feed?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('says the feed is down, comes back on its own, and redraws from the new snapshot', async () => {
    const first = new FakeEngine();
    first.conferences = [fakeConference('FIRST-1', [fakeCaller(1, { name: '<img src=x id=injected>' })])];
    feed = mountLiveFeed(server, first, { logger });
    browser = await openConsole(base);
    const { page } = browser;
    await page.waitForSelector('#feed-status[data-state="live"]', { timeout: PAGE_WAIT_MS });
    await page.waitForSelector('article[data-ext-conf-id="FIRST-1"]', { timeout: PAGE_WAIT_MS });
    // A caller's name is shown as the text it is.
    assert.equal(await page.locator('#injected').count(), 0);
    assert.match(await page.locator('tr.caller td.who').innerText(), /<img src=x id=injected>/);

    await feed.close();
    await page.waitForSelector('#feed-status[data-state="down"]', { timeout: PAGE_WAIT_MS });
    assert.match(await page.locator('#feed-status').innerText(), /FEED DOWN \(adaptor stopping\).*data may be stale/);

    const second = new FakeEngine();
    second.conferences = [fakeConference('SECOND-1', [fakeCaller(2, { muted: true, mutedBy: 'Self' })])];
    second.bridges = [{
      id: 'bridge-b', model: 'Voyant 2035', link: { state: 'down', error: 'connection refused', retryInMs: 4_000 }, ports: undefined, promisedPorts: 0, lastHeartbeatAt: 0,
    }];
    feed = mountLiveFeed(server, second, { logger });
    await page.waitForSelector('#feed-status[data-state="live"]', { timeout: PAGE_WAIT_MS });
    await page.waitForSelector('article[data-ext-conf-id="SECOND-1"] tr.caller[data-muted="true"]', { timeout: PAGE_WAIT_MS });
    assert.equal(await page.locator('article[data-ext-conf-id="FIRST-1"]').count(), 0, 'the new snapshot replaced the old state');
    assert.match(await page.locator('#bridges tr[data-bridge="bridge-b"]').innerText(), /DOWN\s+connection refused/);
    assert.match(await page.locator('tr.caller td.mute').innerText(), /MUTED\s+by Self/);
    assert.deepEqual(browser.errors.filter((e) => !/WebSocket|ERR_CONNECTION/.test(e)), [], 'no page errors besides the dropped feed');
  });
});
