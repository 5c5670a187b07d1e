/**
 * What the process-level ops tests share: a `serve` configuration in a temporary directory
 * (with a certificate already in place, sparing the key generation), a notify socket like
 * systemd's that records what the daemon sends, and signals that do not wait for the exit.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { testKeyPair } from '../shell/support.js';
import type { ServeProcess } from '../e2e/serve-process.js';

const require = createRequire(import.meta.url);
const WAIT_MS = 20_000;

export interface ServeDir {
  dir: string;
  config: string;
  dataDir: string;
  keyPair: Awaited<ReturnType<typeof testKeyPair>>;
  /** Rewrites the configuration file with `yaml` appended to the base settings. */
  write(yaml?: string): Promise<void>;
}

export async function serveDir(parent: string): Promise<ServeDir> {
  const dir = await mkdtemp(path.join(parent, 'serve-'));
  const dataDir = path.join(dir, 'var');
  const config = path.join(dir, 'serve.yaml');
  const keyPair = await testKeyPair();
  await mkdir(path.join(dataDir, 'tls'), { recursive: true });
  await writeFile(path.join(dataDir, 'tls', 'webex-cert.pem'), keyPair.cert);
  await writeFile(path.join(dataDir, 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
  const base = [
    `store:\n  dataDir: ${JSON.stringify(dataDir)}`,
    'webex:\n  port: 0',
    'admin:\n  port: 0',
    'outbox:\n  initialDelayMs: 20\n  maxDelayMs: 200',
    'conference:\n  speakingHoldOffMs: 0',
  ].join('\n');
  const write = (yaml = '') => writeFile(config, `${base}\n${yaml}\n`);
  await write();
  return { dir, config, dataDir, keyPair, write };
}

/**
 * Resolves once the child has served a request on its admin listener. The ready log line is
 * written a moment before serve installs its signal handlers; a round trip through the event
 * loop proves that moment has passed (under systemd, READY=1 is that proof).
 */
export async function upAndServing(serve: ServeProcess): Promise<void> {
  const ready = await serve.waitForLine('tsp-adaptor ready');
  const res = await fetch(`${String(ready.admin)}/healthz`);
  await res.body?.cancel();
}

/** Sends `signal` to the child without waiting for it to end (SIGHUP, SIGKILL whose end is awaited apart). */
export function signal(serve: ServeProcess, sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return serve.stop(sig);
}

/** SIGTERM under systemd: STOPPING=1 with the reason, then exit 0. */
export async function stopsUnderSystemd(serve: ServeProcess, socket: NotifySocket): Promise<void> {
  const exit = serve.stop('SIGTERM');
  const stopping = await socket.waitFor(/^STOPPING=1$/);
  assert.match(stopping, /^STATUS=stopping \(SIGTERM\)$/m);
  assert.deepEqual(await exit, { code: 0, signal: null });
}

interface DgramSocket {
  on(event: 'message', listener: (buf: Buffer) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'listening', listener: () => void): void;
  bind(path: string): void;
  close(): void;
}

/** An AF_UNIX datagram socket bound to a path, as systemd's notify socket; keeps every datagram. */
export class NotifySocket {
  readonly path: string;
  readonly messages: string[] = [];
  #socket: DgramSocket;
  #waiters = new Set<() => void>();

  private constructor(socketPath: string, socket: DgramSocket) {
    this.path = socketPath;
    this.#socket = socket;
    socket.on('message', (buf) => {
      this.messages.push(buf.toString('utf8'));
      for (const w of this.#waiters) w();
    });
  }

  static async bind(dir: string): Promise<NotifySocket> {
    const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
    const socketPath = path.join(dir, 'notify.sock');
    const socket = unix.createSocket('unix_dgram');
    const bound = new Promise<void>((resolve, reject) => {
      socket.on('listening', resolve);
      socket.on('error', reject);
    });
    socket.bind(socketPath);
    await bound;
    return new NotifySocket(socketPath, socket);
  }

  /** Resolves with the `count`th datagram (received or to come) with a line matching `pattern`. */
  waitFor(pattern: RegExp, count = 1): Promise<string> {
    const find = () => this.messages.filter((m) => m.split('\n').some((line) => pattern.test(line)))[count - 1];
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${pattern} on the notify socket within ${WAIT_MS} ms; got ${JSON.stringify(this.messages)}`));
      }, WAIT_MS);
      const check = () => {
        const m = find();
        if (m === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(m);
      };
      this.#waiters.add(check);
    });
  }

  close(): void {
    this.#socket.close();
  }
}
