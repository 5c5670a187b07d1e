/**
 * A process of a benchmark, started by `tsp-adaptor bench` with an IPC channel: the daemon
 * (composition root, SQLite store, its driver connected over TCP to a bridge), the bridge
 * emulator that plays that bridge (as `tsp-adaptor emulator` starts it), or the bare HTTPS
 * server that gives the machine's ceiling. Each has its own event loop and CPU account, as a
 * WebEx server, an adaptor and a bridge in separate boxes would.
 *
 * It answers `stats` requests with its own RSS, CPU time, event loop delay (perf_hooks) and,
 * for the daemon, the engine's delivery counters; `gc` first when started with --expose-gc.
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { writeHeapSnapshot } from 'node:v8';
import express from 'express';
import { parseConfig } from '../../adaptor/config.js';
import { Daemon } from '../../adaptor/main.js';
import { parseOptions as parseEmulatorOptions } from '../../bridges/emulator/command.js';
import { Emulator, type EmulatorPorts } from '../../bridges/emulator/emulator.js';

export type TargetStart =
  /** Config on top of the embedded defaults; the store is always SQLite in dataDir. */
  | { kind: 'daemon'; dataDir: string; config?: Record<string, unknown> }
  /** Serves the certificate in dataDir/tls. */
  | { kind: 'ceiling'; dataDir: string }
  /** The options of `tsp-adaptor emulator`, as on its command line. */
  | { kind: 'emulator'; args: string[] };

export interface TargetReady {
  type: 'ready';
  /** The daemon's or the bare server's WebEx URL; the emulator's control interface. */
  url: string;
  /** The ports the emulator bound (emulator only). */
  emulatorPorts?: EmulatorPorts;
}

export interface TargetStats {
  type: 'stats';
  rssBytes: number;
  heapUsedBytes: number;
  /** The V8 heap's pages (used or not): RSS the collector holds. */
  heapTotalBytes: number;
  /** Outside the V8 heap: buffers, TLS, and other native memory V8 is told of. */
  externalBytes: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  deadLetters: number;
  outboxDepth: number;
  outboxDelivered: number;
  transactionsAccepted: number;
}

export type TargetRequest =
  | { type: 'start'; start: TargetStart }
  | { type: 'stats'; gc: boolean; resetLoop: boolean }
  /** Writes a V8 heap snapshot of the process to `file` (after a full collection) and answers with it. */
  | { type: 'heap-snapshot'; file: string }
  | { type: 'stop' };

const FIXED_CONFIRMATION =
  '<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>ceiling</TransID><Confirmation Result="0"></Confirmation></WbxTSPSchema>';
const LOOP_RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
let daemon: Daemon | undefined;
let server: https.Server | undefined;
let emulator: Emulator | undefined;

async function start(request: TargetStart): Promise<TargetReady> {
  if (request.kind === 'emulator') {
    const options = parseEmulatorOptions(request.args);
    emulator = new Emulator(options);
    const ports = await emulator.start();
    return { type: 'ready', url: `http://${options.host ?? '127.0.0.1'}:${ports.control}`, emulatorPorts: ports };
  }
  const tls = path.join(request.dataDir, 'tls');
  if (request.kind === 'ceiling') {
    const keyPair = { cert: await readFile(path.join(tls, 'webex-cert.pem'), 'utf8'), key: await readFile(path.join(tls, 'webex-key.pem'), 'utf8') };
    const app = express();
    // Parses nothing: the yardstick is TLS, HTTP and express alone.
    app.post('/tsp', (_req, res) => {
      res.type('text/xml; charset=utf-8').send(FIXED_CONFIRMATION);
    });
    server = https.createServer(keyPair, app);
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { type: 'ready', url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/tsp` };
  }
  const config = parseConfig(
    { ...request.config, store: { kind: 'sqlite', dataDir: request.dataDir } },
    { source: 'bench', env: {} },
  );
  // Warnings still go somewhere an operator of the run can read: the child's stderr.
  const logDestination = new Writable({
    write(chunk: Buffer, _enc, done) {
      process.stderr.write(chunk);
      done();
    },
  });
  daemon = await Daemon.start(config, { logDestination });
  return { type: 'ready', url: daemon.webexUrl };
}

function stats(request: { gc: boolean; resetLoop: boolean }): TargetStats {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (request.gc && collect) collect();
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const engine = daemon?.engine;
  const answer: TargetStats = {
    type: 'stats',
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    loopDelayP50Ms: loop.percentile(50) / NS_PER_MS,
    loopDelayP99Ms: loop.percentile(99) / NS_PER_MS,
    loopDelayMaxMs: loop.max / NS_PER_MS,
    deadLetters: engine?.counters.deadLetters ?? 0,
    outboxDepth: engine?.outboxDepth().messages ?? 0,
    outboxDelivered: engine?.counters.outboxDelivered ?? 0,
    transactionsAccepted: engine?.counters.transactionsAccepted ?? 0,
  };
  if (request.resetLoop) loop.reset();
  return answer;
}

process.on('message', (request: TargetRequest) => {
  const reply = (message: unknown): void => {
    process.send?.(message);
  };
  if (request.type === 'start') {
    loop.enable();
    start(request.start).then(reply, (err: unknown) => reply({ type: 'error', message: String((err as Error).stack ?? err) }));
  } else if (request.type === 'stats') {
    reply(stats(request));
  } else if (request.type === 'heap-snapshot') {
    (globalThis as { gc?: () => void }).gc?.();
    reply({ type: 'heap-snapshot', file: writeHeapSnapshot(request.file) });
  } else {
    loop.disable();
    const closing = daemon
      ? daemon.stop('benchmark finished')
      : emulator
        ? emulator.close()
        : new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
    void closing.finally(() => {
      reply({ type: 'stopped' });
      process.disconnect?.();
      // Nothing should hold the loop now; the benchmark must not hang on a stray handle.
      setTimeout(() => process.exit(0), 500).unref();
    });
  }
});
