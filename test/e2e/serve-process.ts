/**
 * `tsp-adaptor serve` as a child process, for the tests that need a real process: signals,
 * exit codes, and SIGKILL at any moment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export class ServeProcess {
  readonly lines: Record<string, unknown>[] = [];
  readonly stderr: string[] = [];
  #child: ChildProcess | undefined;
  #lineWaiters = new Set<(line: Record<string, unknown>) => boolean>();
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  /** Starts `serve --config file`; resolves with the WebEx endpoint URL once it is ready. */
  async start(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', configFile], {
      // Tests run side by side: the admin listener takes a free port unless a test names one.
      env: { ...process.env, TSP_ADMIN__PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
    const ready = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve not ready within ${READY_TIMEOUT_MS} ms: ${this.stderr.join('\n')}`)), READY_TIMEOUT_MS);
      void this.#exited!.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code ?? signal}) before it was ready: ${this.stderr.join('\n')}`));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          parsed = { msg: line };
        }
        this.lines.push(parsed);
        for (const waiter of this.#lineWaiters) if (waiter(parsed)) this.#lineWaiters.delete(waiter);
        if (typeof parsed.webex === 'string' && String(parsed.msg).startsWith('tsp-adaptor ready')) {
          clearTimeout(timer);
          resolve(parsed.webex);
        }
      });
    });
    return ready;
  }

  /** Resolves with the first log line (already logged or to come) whose message starts with `prefix`. */
  waitForLine(prefix: string): Promise<Record<string, unknown>> {
    const matches = (line: Record<string, unknown>) => String(line.msg).startsWith(prefix);
    const found = this.lines.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      this.#lineWaiters.add((line) => {
        if (!matches(line)) return false;
        resolve(line);
        return true;
      });
    });
  }

  /** Sends `signal` and resolves with how the process ended. */
  async stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.#child || !this.#exited) throw new Error('ServeProcess.stop: not started');
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    return this.#exited;
  }
}
