/**
 * Writes call detail records to one file per UTC day (`call-records-YYYY-MM-DD.jsonl` or
 * `.csv`) in the configured directory, each record fsynced before `append` resolves. The engine
 * awaits that before it keeps the state change that ended the leg, so a crash can repeat a
 * record (the change is applied again) but never lose one; the writer drops a record whose
 * recordId it already wrote today or yesterday, so the files hold each leg once.
 *
 * `rotate()` is the daily job: it closes the previous day's file and deletes files older than
 * `keepDays`. Files are never rewritten, so readers may tail them.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { CSV_COLUMNS, toCsvLine, type CallRecord, type CallRecordSink } from './call-record.js';

export type CallRecordFormat = 'jsonl' | 'csv';

export interface CallRecordWriterOptions {
  dir: string;
  format: CallRecordFormat;
  /** Days of files kept by `rotate()`, today included. */
  keepDays: number;
  /** Digits of a phone number kept in clear. */
  digitsKept: number;
  logger: Logger;
}

/** The `callRecords` configuration section. */
export interface CallRecordsConfig {
  enabled: boolean;
  dir?: string | undefined;
  format: CallRecordFormat;
  keepDays: number;
  digitsKept: number;
  rotateSchedule: string;
}

/** Names the rotation in the job runner's logs and metrics. */
export const ROTATION_JOB_NAME = 'call-record-rotation';

const FILE_PATTERN = /^call-records-(\d{4}-\d{2}-\d{2})\.(jsonl|csv)$/;
const DAY_MS = 86_400_000;

export class CallRecordWriter implements CallRecordSink {
  readonly digitsKept: number;
  #options: CallRecordWriterOptions;
  #files = new Map<string, FileHandle>();
  /** recordIds written to the files of the last two days. */
  #written = new Set<string>();
  /** Appends run one at a time, in call order. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: CallRecordWriterOptions) {
    this.#options = options;
    this.digitsKept = options.digitsKept;
  }

  /** Opened as configured (default directory: `call-records` in `dataDir`); undefined when disabled. */
  static async fromConfig(config: CallRecordsConfig, dataDir: string, logger: Logger): Promise<CallRecordWriter | undefined> {
    if (!config.enabled) return undefined;
    const writer = new CallRecordWriter({
      dir: path.resolve(dataDir, config.dir ?? 'call-records'),
      format: config.format,
      keepDays: config.keepDays,
      digitsKept: config.digitsKept,
      logger,
    });
    await writer.open();
    return writer;
  }

  /** The daily rotation, for the job runner. */
  rotationJob(schedule: string): { name: string; schedule: string; run: () => Promise<{ deleted: string[] }> } {
    return { name: ROTATION_JOB_NAME, schedule, run: async () => ({ deleted: await this.rotate() }) };
  }

  get dir(): string {
    return this.#options.dir;
  }

  /** Creates the directory and remembers what the recent files already hold. */
  async open(now = Date.now()): Promise<void> {
    await mkdir(this.#options.dir, { recursive: true, mode: 0o750 });
    for (const day of [dayOf(now - DAY_MS), dayOf(now)]) {
      for (const id of await this.#recordIdsIn(this.#fileName(day))) this.#written.add(id);
    }
  }

  /** Resolves once every record is on disk (fsynced). */
  append(records: readonly CallRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error('CallRecordWriter.append: closed; call records after the stop are not written'));
    const work = this.#tail.then(() => this.#write(records));
    this.#tail = work.catch(() => undefined);
    return work;
  }

  /** The daily job: closes files of past days, deletes those beyond `keepDays`. Returns the files deleted. */
  async rotate(now = Date.now()): Promise<string[]> {
    const today = dayOf(now);
    await this.#tail;
    for (const [day, fh] of this.#files) {
      if (day === today) continue;
      this.#files.delete(day);
      await fh.close();
    }
    const oldestKept = dayOf(now - (this.#options.keepDays - 1) * DAY_MS);
    const deleted: string[] = [];
    for (const name of await readdir(this.#options.dir)) {
      const day = FILE_PATTERN.exec(name)?.[1];
      if (day === undefined || day >= oldestKept) continue;
      await unlink(path.join(this.#options.dir, name));
      deleted.push(name);
    }
    // Only the last two days can still see a repeated record.
    this.#written = new Set();
    for (const day of [dayOf(now - DAY_MS), today]) {
      for (const id of await this.#recordIdsIn(this.#fileName(day))) this.#written.add(id);
    }
    if (deleted.length > 0) this.#options.logger.info({ deleted, keepDays: this.#options.keepDays }, 'call record files past retention deleted');
    return deleted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    for (const fh of this.#files.values()) await fh.close();
    this.#files.clear();
  }

  async #write(records: readonly CallRecord[]): Promise<void> {
    const byDay = new Map<string, string[]>();
    for (const record of records) {
      if (this.#written.has(record.recordId)) continue;
      const day = record.end.slice(0, 10);
      const lines = byDay.get(day) ?? [];
      lines.push(this.#options.format === 'csv' ? toCsvLine(record) : JSON.stringify(record));
      byDay.set(day, lines);
    }
    for (const [day, lines] of byDay) {
      const fh = await this.#file(day);
      await fh.write(`${lines.join('\n')}\n`);
      await fh.datasync();
    }
    for (const record of records) this.#written.add(record.recordId);
  }

  async #file(day: string): Promise<FileHandle> {
    const existing = this.#files.get(day);
    if (existing) return existing;
    const file = path.join(this.#options.dir, this.#fileName(day));
    const fh = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
    const { size } = await fh.stat();
    if (size > 0 && (await lastByte(file, size)) !== 0x0a) {
      // A crash tore the last line: end it, so the next record starts on a line of its own.
      await fh.write('\n');
    }
    if (size === 0) {
      if (this.#options.format === 'csv') await fh.write(`${CSV_COLUMNS.join(',')}\n`);
      // The new name must survive a crash too.
      const dir = await open(this.#options.dir, constants.O_RDONLY);
      await dir.sync().finally(() => dir.close());
    }
    this.#files.set(day, fh);
    return fh;
  }

  #fileName(day: string): string {
    return `call-records-${day}.${this.#options.format}`;
  }

  async #recordIdsIn(name: string): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(path.join(this.#options.dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const lines = text.split('\n').filter((l) => l !== '');
    if (this.#options.format === 'csv') return lines.slice(1).map((l) => l.split(',')[0]!);
    return lines.flatMap((l) => {
      try {
        return [(JSON.parse(l) as CallRecord).recordId];
      } catch {
        // A line torn by a crash mid-write: its record is written again in full.
        return [];
      }
    });
  }
}

async function lastByte(file: string, size: number): Promise<number> {
  const fh = await open(file, constants.O_RDONLY);
  try {
    const { buffer } = await fh.read(Buffer.alloc(1), 0, 1, size - 1);
    return buffer[0]!;
  } finally {
    await fh.close();
  }
}

/** YYYY-MM-DD in UTC. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
