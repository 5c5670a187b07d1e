/**
 * What the console test and the screenshot script share: Debian's Chromium driven by
 * playwright-core with a fresh profile, and callers put into the real daemon's conferences
 * through the emulator's control interface and the TSP endpoint.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { W2AMessage } from '../../src/protocol/index.js';
import { sendAndAnswer, type Stack } from '../e2e/support.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const ARTIFACTS_DIR = path.resolve(import.meta.dirname, '..', 'artifacts');
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Why the browser tests cannot run here, or undefined. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is not installed (Debian package chromium); the console's browser test is skipped`;
}

export interface Browser {
  page: Page;
  /** Page errors and console errors, so a test can say the page ran cleanly. */
  errors: string[];
  close(): Promise<void>;
}

export async function openConsole(adminUrl: string, viewport = { width: 1440, height: 900 }): Promise<Browser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'tsp-console-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, viewport });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${adminUrl}/console/`);
    const opened = context;
    return {
      page,
      errors,
      async close() {
        await opened.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}

/** A caller dials in with a name; resolves once WebEx has named it. */
export async function joinCaller(stack: Stack, extConfID: string, confKey: string, name: string, callerId: string) {
  const res = await stack.emulator.call<{ port: string }>('POST', '/callers', { dialledNumber: '1,408,5550100', digits: `${confKey}#`, callerId, name });
  if (res.status !== 201) throw new Error(`dial-in refused: ${res.status} ${JSON.stringify(res.body)}`);
  const enter = await stack.sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === extConfID && m.Name === name);
  const answered = await enter.answered;
  if (answered?.result !== 0 || !enter.answeredExtCallID) throw new Error(`${name} on ${res.body.port} was not named`);
  return { port: res.body.port, extCallId: enter.answeredExtCallID };
}

/** The host mutes (or unmutes) a caller through the TSP endpoint; resolves with the Result. */
export async function hostMute(stack: Stack, ExtConfID: string, ExtCallID: string, Mute: boolean): Promise<number> {
  const msg: W2AMessage = { type: 'W2A_MuteUser', MsgID: stack.sim.newId('msg'), ExtConfID, ExtCallID, Mute };
  return (await sendAndAnswer(stack.sim, msg, 'A2W_RspMuteUser')).Result;
}

/** Emulator control paths write a port `1/2` as `1-2`. */
export const portPath = (port: string): string => port.replace('/', '-');
