/**
 * The operator console of a cluster member in headless Chromium: two members in front of two
 * bridges, the page open on the first. It shows the cluster (this instance's role, each
 * bridge's role and lease, the peers and their heartbeats, the fail-over counters) and the
 * bridges this instance owns; when the other member dies without handing over, the page shows,
 * live, this instance taking its bridge over: the lease, the take-over count, the bridge row.
 * A screenshot is kept in test/artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../ha/support.js';
import { ownerOf, startOpsCluster, type OpsCluster } from './cluster-support.js';
import { ARTIFACTS_DIR, chromiumMissing, openConsole, type Browser } from './console-support.js';

const PAGE_WAIT_MS = 15_000;

describe('operator console of a cluster member in Chromium', { skip: chromiumMissing() }, () => {
  let stack: OpsCluster;
  let browser: Browser | undefined;

  before(async () => {
    stack = await startOpsCluster({ members: 2, bridges: 2, extra: () => ({ deepCheck: { enabled: false } }) });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('shows roles, leases and peers, then a take-over as it happens', async () => {
    await waitFor(() => ownerOf(stack, 'bridge-1') !== undefined && ownerOf(stack, 'bridge-2') !== undefined && ownerOf(stack, 'bridge-1') !== ownerOf(stack, 'bridge-2'),
      15_000, 'one bridge each');
    const [first, second] = stack.members as [NonNullable<OpsCluster['members'][number]>, NonNullable<OpsCluster['members'][number]>];
    const mine = first.member.status().bridges.find((b) => b.role === 'owner')!.bridge;
    const theirs = mine === 'bridge-1' ? 'bridge-2' : 'bridge-1';

    browser = await openConsole(first.adminUrl);
    const { page } = browser;
    await page.waitForSelector('#feed-status[data-state="live"]', { timeout: PAGE_WAIT_MS });
    await page.waitForSelector('#cluster-panel:not([hidden])[data-role="owner"]', { timeout: PAGE_WAIT_MS });
    assert.match(await page.locator('#cluster-summary').innerText(), /adaptor-0\s+OWNER\s+REDIS READY/);
    await page.waitForSelector(`#cluster-bridges tr[data-bridge="${mine}"][data-role="owner"]`, { timeout: PAGE_WAIT_MS });
    await page.waitForSelector(`#cluster-bridges tr[data-bridge="${theirs}"][data-role="standby"]`, { timeout: PAGE_WAIT_MS });
    assert.match(await page.locator(`#cluster-bridges tr[data-bridge="${mine}"]`).innerText(), /\d+:adaptor-0/);
    await page.waitForSelector('#cluster-peers tr[data-peer="adaptor-1"]', { timeout: PAGE_WAIT_MS });
    assert.match(await page.locator('#cluster-peers tr[data-peer="adaptor-0"]').innerText(), /this instance/);
    assert.match(await page.locator('#cluster-peers tr[data-peer="adaptor-1"]').innerText(), new RegExp(theirs));
    // The bridge table shows the bridges this instance drives: its own only.
    await page.waitForSelector(`#bridges tr[data-bridge="${mine}"]`, { timeout: PAGE_WAIT_MS });
    assert.equal(await page.locator(`#bridges tr[data-bridge="${theirs}"]`).count(), 0);

    // The other member dies without handing over: its lease has to expire. (This instance may
    // have held that bridge once already, before the two shared the bridges out.)
    const takeOversBefore = first.member.status().bridges.find((b) => b.bridge === theirs)!.takeOvers;
    await second.member.close();
    await page.waitForSelector(`#cluster-bridges tr[data-bridge="${theirs}"][data-role="owner"]`, { timeout: PAGE_WAIT_MS });
    const row = page.locator(`#cluster-bridges tr[data-bridge="${theirs}"]`);
    assert.match(await row.innerText(), /\d+:adaptor-0/);
    assert.equal(await row.locator('td.take-overs').innerText(), String(takeOversBefore + 1));
    assert.match(await row.innerText(), /\d+ ms/, 'the last take-over\'s duration');
    await page.waitForSelector(`#bridges tr[data-bridge="${theirs}"][data-link="up"]`, { timeout: PAGE_WAIT_MS });

    await mkdir(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'console-cluster.png'), fullPage: true });
    assert.deepEqual(browser.errors, [], 'the page ran without errors');
  });
});
