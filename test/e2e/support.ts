/**
 * The end-to-end stack: the real daemon (composition root in-process, SQLite in a temporary
 * data directory), the real emulator it starts, reached over TCP through the voyant2313
 * driver, and the WebEx simulator, all on loopback with ephemeral ports.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/adaptor/config.js';
import { Daemon } from '../../src/adaptor/main.js';
import type { W2AMessage } from '../../src/protocol/index.js';
import type { EmulatorPorts } from '../../src/bridges/emulator/emulator.js';
import type { KeyPair } from '../../src/adaptor/tls.js';
import { WebexSim, type A2WType } from '../../src/webex-sim/webex-sim.js';
import { testKeyPair } from '../shell/support.js';

export interface Stack {
  daemon: Daemon;
  sim: WebexSim;
  dataDir: string;
  emulator: EmulatorClient;
  /** Every log line of the daemon, parsed, for tests that check what was logged. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Shorter waits than production so retries and clean-ups happen within a test's time. */
const FAST = {
  outbox: { initialDelayMs: 20, maxDelayMs: 200 },
  conference: { speakingHoldOffMs: 0 },
  // Probe conferences would appear among a test's own; the deep-check tests turn it on.
  deepCheck: { enabled: false },
};

export async function startStack(overrides: Record<string, unknown> = {}): Promise<Stack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tsp-e2e-'));
  // The daemon reuses a certificate it finds in its data directory (as after a first start),
  // which spares every test the key generation.
  const keyPair = await testKeyPair();
  await mkdir(path.join(dataDir, 'tls'), { recursive: true });
  await writeFile(path.join(dataDir, 'tls', 'webex-cert.pem'), keyPair.cert);
  await writeFile(path.join(dataDir, 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
  const config = parseConfig(
    deepMerge(
      {
        webex: { port: 0 },
        admin: { port: 0 },
        store: { kind: 'sqlite', dataDir },
        log: { level: 'debug' },
        ...FAST,
      },
      overrides,
    ),
    { source: 'e2e' },
  );
  const logs: Record<string, unknown>[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let daemon: Daemon | undefined;
  let sim: WebexSim | undefined;
  try {
    daemon = await Daemon.start(config, { logDestination });
    sim = new WebexSim({ adaptorUrl: daemon.webexUrl, adaptorCa: keyPair.cert, keyPair });
    await sim.start();
  } catch (err) {
    await sim?.close();
    await daemon?.stop('test set-up failed');
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const ports = daemon.emulatorPorts;
  if (!ports) throw new Error('the e2e stack expects the embedded emulator');
  const started = { daemon, sim };
  return {
    ...started,
    dataDir,
    logs,
    emulator: new EmulatorClient(`http://127.0.0.1:${ports.control}`),
    async close() {
      // The daemon first: its drain flushes the outbox to the simulator.
      await started.daemon.stop('test finished');
      await started.sim.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The emulator's HTTP control interface (docs/emulator.md). */
export class EmulatorClient {
  readonly #base: string;

  constructor(base: string) {
    this.#base = base;
  }

  async call<T = unknown>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.#base}${route}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** A caller dials the toll number and keys `confKey#`; resolves with the port taken. */
  async dialIn(confKey: string, callerId = '14085550199'): Promise<string> {
    const res = await this.call<{ state: string; port: string }>('POST', '/callers', {
      dialledNumber: '1,408,5550100',
      digits: `${confKey}#`,
      callerId,
    });
    if (res.status !== 201) throw new Error(`dial-in refused: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.port;
  }

  async state(): Promise<BridgeState> {
    return (await this.call<BridgeState>('GET', '/state')).body;
  }
}

export interface BridgeState {
  ports: { total: number; inUse: number; reserved: number };
  conferences: {
    bridgeConfId: string;
    options: { confKey: string };
    locked: boolean;
    callers: { port: string; legId: string; muted: boolean; mutedBy: string; subConfId: number; callerId?: string }[];
    dialOuts: { dialOutId: string; state: string }[];
  }[];
}

/** Builders for the W2A messages the tests send, with fresh MsgIDs. */
export function w2a(sim: WebexSim) {
  const msg = () => sim.newId('msg');
  return {
    create: (ExtConfID: string, ConfKey: string, extra: Partial<Extract<W2AMessage, { type: 'W2A_CreateConference' }>> = {}): W2AMessage => ({
      type: 'W2A_CreateConference',
      MsgID: msg(),
      ExtConfID,
      ConfKey,
      WbxHostName: sim.url,
      ...extra,
    }),
    mute: (ExtConfID: string, ExtCallID: string, Mute: boolean): W2AMessage => ({
      type: 'W2A_MuteUser',
      MsgID: msg(),
      ExtConfID,
      ExtCallID,
      Mute,
    }),
    end: (ExtConfID: string): W2AMessage => ({ type: 'W2A_EndConference', MsgID: msg(), ExtConfID }),
    lock: (ExtConfID: string, Lock: boolean): W2AMessage => ({ type: 'W2A_LockConference', MsgID: msg(), ExtConfID, Lock }),
    callout: (ExtConfID: string, ExtCallID: string, PhoneNumber: string, extra: { CallType?: 'CallOut' | 'CallBack' } = {}): W2AMessage => ({
      type: 'W2A_Callout',
      MsgID: msg(),
      ExtConfID,
      ExtCallID,
      PhoneNumber,
      ...extra,
    }),
  };
}

/** Sends one command, expects Confirmation 0, and resolves with its response message. */
export async function sendAndAnswer<T extends A2WType>(sim: WebexSim, message: W2AMessage, response: T) {
  const sent = await sim.send([message]);
  if (sent.result !== 0) throw new Error(`${message.type} ${message.MsgID}: Confirmation ${sent.result ?? sent.reason}`);
  return (await sim.next(response, (m) => m.MsgID === message.MsgID)).message;
}

/** Creates a conference and waits until WebEx hears it is running. */
export async function createConference(sim: WebexSim, confId: string, confKey: string, extra = {}): Promise<void> {
  const sent = await sim.send([w2a(sim).create(confId, confKey, extra)]);
  if (sent.result !== 0) throw new Error(`create ${confId}: Confirmation ${sent.result ?? sent.reason}`);
  const rsp = await sim.next('A2W_RspCreateConference', (m) => m.ExtConfID === confId);
  if (rsp.message.Result !== 0) throw new Error(`create ${confId}: Result ${rsp.message.Result}`);
  await sim.next('A2W_NotifyConferenceChange', (m) => m.ExtConfID === confId && m.Status === 0);
}

/** A caller dials in; resolves once WebEx has named it, with its ExtCallID and bridge port. */
export async function dialInAndName(stack: Stack, confId: string, confKey: string, callerId?: string) {
  const port = await stack.emulator.dialIn(confKey, callerId);
  const enter = await stack.sim.next('A2W_NotifyUserEnter', (m) => m.ExtConfID === confId && m.ExtCallID === '');
  const answered = await enter.answered;
  if (answered?.result !== 0 || !enter.answeredExtCallID) throw new Error(`caller on ${port} was not named`);
  return { port, extCallId: enter.answeredExtCallID };
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Where a daemon with `dataDir` finds its WebEx listener's certificate and key (key not readable by others). */
export async function writeWebexTls(dataDir: string, keyPair: KeyPair): Promise<void> {
  await mkdir(path.join(dataDir, 'tls'), { recursive: true });
  await writeFile(path.join(dataDir, 'tls', 'webex-cert.pem'), keyPair.cert);
  await writeFile(path.join(dataDir, 'tls', 'webex-key.pem'), keyPair.key, { mode: 0o600 });
}

/** A voyant2313 bridge entry for an emulator running outside the daemon: fast heartbeats and reconnects. */
export function emulatorBridge(ports: EmulatorPorts, login: { username: string; password: string }) {
  return {
    id: 'bridge-a', driver: 'voyant2313', host: '127.0.0.1', port: ports.voyant2313Request, notifyPort: ports.voyant2313Notify,
    ...login, heartbeatIntervalMs: 200, reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500,
  };
}
