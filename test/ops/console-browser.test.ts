/**
 * The operator console end to end in headless Chromium: the real daemon with its emulator,
 * callers joined through the emulator's control interface, one muted by the host through the
 * TSP endpoint (the WebEx simulator), and the page showing it live, with the caller's timeline
 * from the WebEx command to the notification. A screenshot is kept in test/artifacts/.
 * Also: the console's files are found from the source and the built layout alike.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { consoleDir } from '../../src/adaptor/console/mount-console.js';
import { createConference, startStack, type Stack } from '../e2e/support.js';
import { ARTIFACTS_DIR, chromiumMissing, hostMute, joinCaller, openConsole, type Browser } from './console-support.js';

const PAGE_WAIT_MS = 10_000;
const ROOT = path.resolve(import.meta.dirname, '..', '..');

describe('operator console files', () => {
  test('are found from the source layout and from the built one (dist/ holds no copy)', () => {
    const fromSource = consoleDir(path.join(ROOT, 'src', 'adaptor', 'console'));
    assert.equal(fromSource, path.join(ROOT, 'src', 'adaptor', 'console', 'public'));
    assert.equal(consoleDir(path.join(ROOT, 'dist', 'src', 'adaptor', 'console')), fromSource);
    assert.equal(consoleDir(), fromSource);
  });
});

describe('operator console in Chromium', { skip: chromiumMissing() }, () => {
  let stack: Stack;
  let browser: Browser | undefined;
  const extConfID = 'CONSOLE-E2E-1';
  const confKey = '4455';

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('is served on the admin listener with a strict policy, and / leads to it', async () => {
    const page = await fetch(`${stack.daemon.adminUrl}/console/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="app.js">/);
    const script = await fetch(`${stack.daemon.adminUrl}/console/app.js`);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    await script.arrayBuffer();
    const root = await fetch(`${stack.daemon.adminUrl}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
  });

  test('shows a caller muted by the host through the TSP endpoint, live, with its timeline', async () => {
    await createConference(stack.sim, extConfID, confKey);
    const alice = await joinCaller(stack, extConfID, confKey, 'Alice Example', '14085550111');
    await joinCaller(stack, extConfID, confKey, 'Bob Example', '14085550122');

    browser = await openConsole(stack.daemon.adminUrl);
    const { page } = browser;
    await page.waitForSelector('#feed-status[data-state="live"]', { timeout: PAGE_WAIT_MS });
    const row = `tr.caller[data-ext-call-id="${alice.extCallId}"]`;
    await page.waitForSelector(`${row}[data-muted="false"]`, { timeout: PAGE_WAIT_MS });
    assert.equal(await page.locator(`article[data-ext-conf-id="${extConfID}"] tr.caller`).count(), 2);
    assert.match(await page.locator('#bridges tr[data-bridge="emulator"]').innerText(), /UP/);

    // The page is already open: the change must arrive over the feed.
    assert.equal(await hostMute(stack, extConfID, alice.extCallId, true), 0);
    await page.waitForSelector(`${row}[data-muted="true"]`, { timeout: PAGE_WAIT_MS });
    assert.match(await page.locator(`${row} td.mute`).innerText(), /MUTED\s+by Host/);

    await page.click(row);
    // Locators, not a predicate string: polling a string means eval in the page, which its
    // content policy refuses whenever the first check finds the timeline still filling.
    for (const step of ['W2A_MuteUser received', 'mute port', 'muted by Host', 'A2W_RspMuteUser delivered']) {
      await page.locator('#timeline', { hasText: step }).waitFor({ timeout: PAGE_WAIT_MS });
    }
    const kinds = await page.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-kind')));
    for (const kind of ['w2a', 'bridge-command', 'change', 'a2w']) assert.ok(kinds.includes(kind), `timeline has a ${kind} entry: ${kinds.join(',')}`);
    assert.match(await page.locator('#timeline-title').innerText(), /Alice Example/);

    await mkdir(ARTIFACTS_DIR, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'console-e2e.png'), fullPage: true });
    assert.deepEqual(browser.errors, [], 'the page ran without errors');
  });
});
