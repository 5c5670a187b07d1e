/**
 * Starts a worker thread from a module next to the caller, the same way from the compiled build
 * (a .js file) and from a checkout run through tsx (a .ts file), and closes one politely.
 *
 * Why the detour from a checkout: on Node 20 a .ts entry point given to `new Worker` is not run
 * through tsx's hooks, but a dynamic import made from an evaluated script is, once registered.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** `callerUrl` is the caller's `import.meta.url`; `baseName` the worker module's name without extension. */
export function startWorker(callerUrl: string, baseName: string, workerData: unknown): Worker {
  const here = fileURLToPath(callerUrl);
  if (path.extname(here) === '.js') return new Worker(path.join(path.dirname(here), `${baseName}.js`), { workerData });
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL(`./${baseName}.ts`, callerUrl).href);
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}); })`, { eval: true, workerData });
}

/** Posts `closeMessage` and waits for the worker to exit, terminating it after `timeoutMs`. */
export async function closeWorker(worker: Worker, closeMessage: unknown, timeoutMs: number): Promise<void> {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.postMessage(closeMessage);
  const timer = setTimeout(() => void worker.terminate(), timeoutMs);
  await exited;
  clearTimeout(timer);
}
