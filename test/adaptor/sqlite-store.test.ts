/**
 * The SQLite store's group commit and its checkpoints: a call that throws fails only itself
 * (the others of its batch are kept), and the WAL is copied back into the database by the
 * checkpoint thread, never by a commit on the event loop, and written from its start again
 * under commits without a pause.
 */
import assert from 'node:assert/strict';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import type { ConferenceState } from '../../src/adaptor/conference/state.js';
import type { OutboxInput } from '../../src/adaptor/store/store.js';
import { openSqliteStore, SQLITE_FILE_NAME } from '../../src/adaptor/store/sqlite-store.js';
import { WalCheckpointer } from '../../src/adaptor/store/wal-checkpointer.js';
import type { W2AMessage } from '../../src/protocol/index.js';

const WAIT_LIMIT_MS = 10_000;
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsp-sqlite-'));
  dirs.push(dir);
  return dir;
}

function mute(i: number): W2AMessage {
  return { type: 'W2A_MuteUser', MsgID: `m${i}`, ExtConfID: 'c1', ExtCallID: `u${i}`, Mute: 1, WbxHostName: 'wbx.example.com' } as unknown as W2AMessage;
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_LIMIT_MS} ms`)), WAIT_LIMIT_MS); });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

test('a call that throws fails alone: the other calls of its group commit are kept, and the next batch goes on', async () => {
  const dir = dataDir();
  const store = await openSqliteStore(dir);
  // Queued in one turn, so one transaction on the store's thread; a NOT NULL column left empty
  // makes the middle call throw there.
  const unwritable = { orderKey: null, url: 'https://wbx.example.com/tsp', transId: 'a2w-1', message: {}, createdAt: 1 } as unknown as OutboxInput;
  const [first, broken, third] = await Promise.allSettled([
    store.recordTransaction({ transId: 't1', messages: [mute(1)], receivedAt: 1, result: 0 }),
    store.applyChange({ outbox: [unwritable] }),
    store.recordTransaction({ transId: 't2', messages: [mute(2)], receivedAt: 2, result: 0 }),
  ]);
  assert.equal(first.status, 'fulfilled');
  assert.equal(broken.status, 'rejected');
  assert.match(String((broken as PromiseRejectedResult).reason), /NOT NULL/);
  assert.equal(third.status, 'fulfilled');
  await store.recordTransaction({ transId: 't3', messages: [mute(3)], receivedAt: 3, result: 0 });
  await store.close();

  const reopened = await openSqliteStore(dir);
  assert.deepEqual((await reopened.unfinishedCommands()).map((c) => c.transId), ['t1', 't2', 't3']);
  assert.deepEqual(await reopened.loadConferences(), []);
  assert.deepEqual(await reopened.recordTransaction({ transId: 't2', messages: [mute(2)], receivedAt: 4, result: 0 }), { kind: 'repeat', result: 0 });
  await reopened.close();
});

test('a call holding what cannot cross to the store\'s thread fails alone; the calls beside it are kept', async () => {
  const store = await openSqliteStore(dataDir());
  const uncopyable = { confId: 'bad', callers: [], notData: () => undefined } as unknown as ConferenceState;
  const [first, broken, third] = await Promise.allSettled([
    store.recordTransaction({ transId: 't1', messages: [mute(1)], receivedAt: 1, result: 0 }),
    store.applyChange({ conferences: [uncopyable] }),
    store.recordTransaction({ transId: 't2', messages: [mute(2)], receivedAt: 2, result: 0 }),
  ]);
  assert.equal(first.status, 'fulfilled');
  assert.match(String((broken as PromiseRejectedResult).reason), /cannot hand this call/);
  assert.equal(third.status, 'fulfilled');
  assert.deepEqual((await store.unfinishedCommands()).map((c) => c.transId), ['t1', 't2']);
  await store.close();
});

test('the store checkpoints on its thread: the WAL is copied back while commits go on, and everything reads back after a reopen', async () => {
  const dir = dataDir();
  const store = await openSqliteStore(dir);
  const copied = new Promise<number>((resolve) => {
    store.checkpointer.on('checkpoint', (report) => { if (report.checkpointed > 0) resolve(report.checkpointed); });
  });
  // Well past SQLite's own 1,000-page trigger, which the store turned off.
  const TRANSACTIONS = 400;
  const big = 'x'.repeat(8_000);
  await Promise.all(Array.from({ length: TRANSACTIONS }, (_, i) =>
    store.recordTransaction({ transId: `t${i}`, messages: [{ ...mute(i), MsgID: `${big}${i}` } as W2AMessage], receivedAt: i, result: 0 })));
  assert.ok(await within(copied, 'a checkpoint from the thread') > 0);
  await store.close();

  const reopened = await openSqliteStore(dir);
  assert.equal((await reopened.unfinishedCommands()).length, TRANSACTIONS);
  await reopened.close();
});

/** A database in WAL mode as the store keeps it (no automatic checkpoint), with one table. */
function walTable(): { file: string; db: Database.Database; insert: Database.Statement } {
  const file = join(dataDir(), SQLITE_FILE_NAME);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (v TEXT)');
  return { file, db, insert: db.prepare('INSERT INTO t (v) VALUES (?)') };
}

test('a WAL past its bound is copied whole and emptied', async () => {
  const { file, db, insert } = walTable();
  for (let i = 0; i < 200; i++) insert.run('y'.repeat(4_000));
  assert.ok(statSync(`${file}-wal`).size > 64 * 1024);
  const checkpointer = new WalCheckpointer(file, { intervalMs: 10, truncateAboveBytes: 64 * 1024 });
  try {
    const truncated = new Promise<void>((resolve) => checkpointer.on('checkpoint', (r) => { if (r.truncated) resolve(); }));
    await within(truncated, 'a truncating checkpoint');
    assert.equal(statSync(`${file}-wal`).size, 0);
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 200);
  } finally {
    await checkpointer.close();
    db.close();
  }
});

test('under commits without a pause the WAL is written from its start again: the file stays a fraction of what was written', async () => {
  const { file, db, insert } = walTable();
  const wal = openSync(`${file}-wal`, 'r');
  const checkpointer = new WalCheckpointer(file, { intervalMs: 10 });
  let restarted = false;
  checkpointer.on('checkpoint', (r) => { restarted ||= r.restarted; });
  try {
    await within(new Promise((resolve) => checkpointer.once('checkpoint', resolve)), 'the first checkpoint');
    const initialBytes = statSync(`${file}-wal`).size;
    // As the store commits: one write transaction, then the WAL fsynced, again and again, so a
    // passive checkpoint always finds frames added while it copied. Bounded in count and time.
    const COMMITS = 1_500;
    const deadline = Date.now() + 5_000;
    let written = 0;
    let largest = 0;
    for (let i = 0; i < COMMITS && Date.now() < deadline; i++) {
      insert.run('z'.repeat(200));
      fsyncSync(wal);
      written++;
      if (i % 25 === 0) largest = Math.max(largest, statSync(`${file}-wal`).size);
    }
    // Each commit added a 4 KiB page: without restarts the file would hold all of them.
    assert.ok(largest - initialBytes < (written * 4_096) / 4, `the WAL grew by ${largest - initialBytes} bytes over ${written} commits`);
    await within(new Promise((resolve) => checkpointer.once('checkpoint', resolve)), 'a checkpoint after the commits');
    assert.ok(restarted, 'no checkpoint restarted the WAL');
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), written);
  } finally {
    await checkpointer.close();
    closeSync(wal);
    db.close();
  }
});

test('a checkpoint thread that cannot work says so, so the store can take checkpoints back', async () => {
  const checkpointer = new WalCheckpointer(join(dataDir(), 'missing', 'no.sqlite'), { intervalMs: 10 });
  const reason = await within(new Promise<string>((resolve) => checkpointer.on('stopped', resolve)), 'the stop');
  assert.match(reason, /checkpoint thread/);
  await checkpointer.close();
});

test('a store that cannot be opened says which file and what to check', async () => {
  const dir = dataDir();
  mkdirSync(join(dir, SQLITE_FILE_NAME));
  await assert.rejects(openSqliteStore(dir), (err: Error) => err.message.includes(join(dir, SQLITE_FILE_NAME)) && /permissions and free space/.test(err.message));
});
