/**
 * The shape every benchmark scenario returns, and the machine it ran on. Figures are whole
 * numbers measured in the run; the plot data feeds report.ts.
 */
import os from 'node:os';
import type { LatencySummary } from './latency.js';
import type { TargetEntry } from './target.js';

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemoryMb: number;
}

export interface ScenarioSettings {
  /** A short smoke run (seconds) instead of the full one. */
  smoke: boolean;
  /** Overrides the scenario's main duration, in seconds. */
  durationS?: number;
  /** What runs the daemon and the bare server (a compiled copy for the recorded figures). */
  targetEntry?: TargetEntry;
  /** An adaptor already running, driven instead of one the bench starts. */
  remote?: RemoteAdaptor;
  /** Where the steady state writes heap snapshots of the daemon at its start and end. */
  heapSnapshotDir?: string;
  /** Throughput: these offered rates (commands/s), each measured, instead of the climb. */
  rates?: number[];
}

/** A running adaptor: its WebEx URL, its bridge emulator's control interface, its CA (PEM). */
export interface RemoteAdaptor {
  url: string;
  emulatorControl: string;
  ca?: string;
}

export interface ScenarioResult {
  name: string;
  title: string;
  machine: Machine;
  date: string;
  /** Where the load generator ran relative to the daemon. */
  processes: string;
  durationS: number;
  /** 1-minute load average before and after: other work on the machine depresses the figures. */
  loadAverage: { start: number; end: number };
  figures: Record<string, number>;
  /** Latency per message type (or per measured path), whole milliseconds. */
  latencies: Record<string, LatencySummary>;
  /** Per latency name: counts in buckets of `bucketMs`, for the distribution plot. */
  histograms: { bucketMs: number; byName: Record<string, number[]> };
  /** The load curve: named series of [x, y] points. */
  curve: { xLabel: string; yLabel: string; series: Record<string, [number, number][]> };
  notes: string[];
  /** Scenario-specific raw figures (load steps, RSS samples). */
  detail?: unknown;
}

export type Scenario = (settings: ScenarioSettings) => Promise<ScenarioResult>;

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
  };
}

/** Runs `body` and stamps the common fields (machine, date, duration, load average). */
export async function measured(
  name: string,
  title: string,
  body: () => Promise<Omit<ScenarioResult, 'name' | 'title' | 'machine' | 'date' | 'durationS' | 'loadAverage'>>,
): Promise<ScenarioResult> {
  const date = new Date().toISOString();
  const loadStart = os.loadavg()[0]!;
  const started = performance.now();
  const result = await body();
  return {
    name,
    title,
    machine: machine(),
    date,
    durationS: Math.round((performance.now() - started) / 1_000),
    loadAverage: { start: round2(loadStart), end: round2(os.loadavg()[0]!) },
    ...result,
  };
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export const MB = 2 ** 20;
export const toMb = (bytes: number): number => Math.round(bytes / MB);

/** The harness options the settings decide: the target entry, or the running adaptor to drive. */
export function entry(settings: ScenarioSettings): { targetEntry?: TargetEntry; url?: string; emulatorControl?: string; ca?: string } {
  const { remote, targetEntry } = settings;
  if (remote) return { url: remote.url, emulatorControl: remote.emulatorControl, ...(remote.ca ? { ca: remote.ca } : {}) };
  return targetEntry ? { targetEntry } : {};
}
