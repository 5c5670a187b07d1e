import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { endedLegs, type CallRecord } from '../../src/adaptor/cdr/call-record.js';
import { CallRecordWriter, ROTATION_JOB_NAME } from '../../src/adaptor/cdr/call-record-writer.js';
import type { ConferenceState, DialingCaller, JoinedCaller } from '../../src/adaptor/conference/state.js';
import type { A2WMessage } from '../../src/protocol/index.js';
import { startStack } from '../e2e/support.js';
import { silentLogger } from '../shell/support.js';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const ctx = (now: number) => ({ now, digitsKept: 4 });

function conference(callers: ConferenceState['callers'], over: Partial<ConferenceState> = {}): ConferenceState {
  return {
    confId: 'c1', confKey: '11223344', extConfID: 'ext-1', formerExtConfIDs: [], wbxHostName: 'https://wbx', bridgeId: 'b1',
    bridgeConfId: 'bc1', status: 'running', entryTone: 'beep', silentJoin: false, muteOnEntry: false,
    attendeeCount: 2, classes: { tollCallIn: true, tollFreeCallIn: true, domesticCallBack: true, intlCallBack: true },
    muteAll: undefined, lastActivityAt: T0, recentDialOutsAt: [], callers, ...over,
  };
}

function joined(over: Partial<JoinedCaller> = {}): JoinedCaller {
  return {
    phase: 'joined', extCallID: 'call-1', enterMsgID: 'e1', port: '1/1', legId: 'leg-1', muted: false, mutedBy: 'Bridge',
    speaking: false, subConfId: 0, held: [], joinedAt: T0, callerId: '14085550199', dialledNumber: '1,408,5550100', ...over,
  };
}

const leave = (ExtCallID: string, Reason: 'Hangup' | 'Expelled'): A2WMessage =>
  ({ type: 'A2W_NotifyUserChange', MsgID: 'm', ExtConfID: 'ext-1', ExtCallID, Status: 1, Reason }) as A2WMessage;

describe('call detail records from state changes', () => {
  test('a dial-in caller who hangs up: one call-in record, numbers masked, duration from answer', () => {
    const before = conference([joined()]);
    const after = conference([]);
    const [record, ...rest] = endedLegs(before, after, [leave('call-1', 'Hangup')], ctx(T0 + 61_400));
    assert.equal(rest.length, 0);
    assert.deepEqual(record, {
      recordId: 'c1/leg-1', confKey: '11223344', ExtConfID: 'ext-1', ExtCallID: 'call-1', bridge: 'b1', port: '1/1',
      direction: 'call-in', callerNumber: '*******0199', dialledNumber: '*,***,***0100',
      start: '2026-11-22T10:00:00.000Z', answer: '2026-11-22T10:00:00.000Z', end: '2026-11-22T10:01:01.400Z',
      durationSec: 61, endReason: 'Hangup',
    } satisfies CallRecord);
  });

  test('an answered call-back starts at the first ring; an expelled caller says so', () => {
    const caller = joined({ dialOutId: 'd1', dialStartedAt: T0 - 15_000, callType: 'CallBack' });
    const [record] = endedLegs(conference([caller]), conference([]), [leave('call-1', 'Expelled')], ctx(T0 + 5_000));
    assert.equal(record?.direction, 'call-back');
    assert.equal(record?.start, '2026-11-22T09:59:45.000Z');
    assert.equal(record?.answer, '2026-11-22T10:00:00.000Z');
    assert.equal(record?.endReason, 'Expelled');
  });

  test('a dial-out that is not answered is a call-out record without answer, with the A2W Result', () => {
    const dialing: DialingCaller = {
      phase: 'dialing', extCallID: 'call-9', dialOutId: 'd9', number: '44,20,79460001', state: 'ringing',
      request: { MsgID: 'r', url: undefined }, startedAt: T0,
    };
    const busy = { type: 'A2W_RspCallout', MsgID: 'r', ExtConfID: 'ext-1', ExtCallID: 'call-9', Result: 41 } as A2WMessage;
    const [record] = endedLegs(conference([dialing]), conference([]), [busy], ctx(T0 + 20_000));
    assert.equal(record?.direction, 'call-out');
    assert.equal(record?.answer, null);
    assert.equal(record?.durationSec, 0);
    assert.equal(record?.endReason, 'NotAnswered-41');
    assert.equal(record?.dialledNumber, '**,**,****0001');
  });

  test('an answered dial-out joining is no record yet; the conference ending records everyone', () => {
    const dialing: DialingCaller = {
      phase: 'dialing', extCallID: 'call-2', dialOutId: 'd2', number: '1,212,5550000', state: 'answered',
      request: { MsgID: 'r', url: undefined }, startedAt: T0,
    };
    const answered = joined({ extCallID: 'call-2', legId: 'leg-2', port: '1/2', dialOutId: 'd2' });
    assert.deepEqual(endedLegs(conference([dialing]), conference([answered]), [], ctx(T0 + 1_000)), []);
    const records = endedLegs(conference([joined(), answered]), conference([], { status: 'ended', endedAt: T0 + 9_000 }), [], ctx(T0 + 9_000));
    assert.deepEqual(records.map((r) => [r.recordId, r.direction, r.endReason]), [
      ['c1/leg-1', 'call-in', 'ConferenceEnded'],
      ['c1/leg-2', 'call-out', 'ConferenceEnded'],
    ]);
  });

  test('a change that keeps the caller, or a conference seen for the first time, records nothing', () => {
    assert.deepEqual(endedLegs(conference([joined()]), conference([joined({ muted: true })]), [], ctx(T0)), []);
    assert.deepEqual(endedLegs(undefined, conference([]), [], ctx(T0)), []);
  });
});

describe('the call record writer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-cdr-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const record = (id: string, end: string): CallRecord => ({
    recordId: id, confKey: 'k', ExtConfID: 'e', ExtCallID: 'c', bridge: 'b', port: '1/1', direction: 'call-in',
    callerNumber: '', dialledNumber: '', start: end, answer: end, end, durationSec: 0, endReason: 'Hangup, "then" gone',
  });
  const writer = (sub: string, format: 'jsonl' | 'csv' = 'jsonl', keepDays = 2) =>
    new CallRecordWriter({ dir: path.join(dir, sub), format, keepDays, digitsKept: 4, logger: silentLogger });

  test('one JSON line per record in the file of its end day; a record written again is dropped, also after a reopen', async () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    const first = writer('jsonl');
    await first.open(now);
    await first.append([record('a', '2026-11-22T11:00:00.000Z'), record('b', '2026-11-21T23:59:59.000Z')]);
    await first.append([record('a', '2026-11-22T11:00:00.000Z')]);
    await first.close();
    const second = writer('jsonl');
    await second.open(now);
    await second.append([record('a', '2026-11-22T11:00:00.000Z'), record('c', '2026-11-22T11:30:00.000Z')]);
    await second.close();
    const today = (await readFile(path.join(dir, 'jsonl', 'call-records-2026-11-22.jsonl'), 'utf8')).trim().split('\n');
    assert.deepEqual(today.map((l) => (JSON.parse(l) as CallRecord).recordId), ['a', 'c']);
    const yesterday = await readFile(path.join(dir, 'jsonl', 'call-records-2026-11-21.jsonl'), 'utf8');
    assert.equal((JSON.parse(yesterday) as CallRecord).recordId, 'b');
  });

  test('a line torn by a crash is closed off, so the next record stays whole', async () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    const w = writer('torn');
    await w.open(now);
    await w.append([record('a', '2026-11-22T11:00:00.000Z')]);
    await w.close();
    const file = path.join(dir, 'torn', 'call-records-2026-11-22.jsonl');
    await appendFile(file, '{"recordId":"half');
    const again = writer('torn');
    await again.open(now);
    await again.append([record('b', '2026-11-22T11:10:00.000Z')]);
    await again.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 3);
    assert.equal((JSON.parse(lines[2]!) as CallRecord).recordId, 'b');
  });

  test('CSV has a header and quotes fields with commas or quotes', async () => {
    const w = writer('csv', 'csv');
    await w.open(Date.parse('2026-11-22T12:00:00Z'));
    await w.append([record('a', '2026-11-22T11:00:00.000Z')]);
    await w.close();
    const [header, line] = (await readFile(path.join(dir, 'csv', 'call-records-2026-11-22.csv'), 'utf8')).trim().split('\n');
    assert.equal(header, 'recordId,confKey,ExtConfID,ExtCallID,bridge,port,direction,callerNumber,dialledNumber,start,answer,end,durationSec,endReason');
    assert.ok(line?.endsWith(',0,"Hangup, ""then"" gone"'), line);
  });

  test('rotation deletes files older than keepDays and leaves the rest', async () => {
    const sub = path.join(dir, 'rotate');
    const w = writer('rotate', 'jsonl', 2);
    await w.open(Date.parse('2026-11-22T00:05:00Z'));
    for (const day of ['2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22']) await writeFile(path.join(sub, `call-records-${day}.jsonl`), '');
    await writeFile(path.join(sub, 'notes.txt'), 'kept');
    const deleted = await w.rotate(Date.parse('2026-11-22T00:05:00Z'));
    assert.deepEqual(deleted.sort(), ['call-records-2026-11-19.jsonl', 'call-records-2026-11-20.jsonl']);
    assert.deepEqual((await readdir(sub)).sort(), ['call-records-2026-11-21.jsonl', 'call-records-2026-11-22.jsonl', 'notes.txt']);
    await w.close();
  });
});

describe('the daemon and its call records', () => {
  test('rotation is a job of the daemon, run through the job runner', async () => {
    const stack = await startStack({ callRecords: { keepDays: 3 } });
    try {
      assert.ok(stack.daemon.jobs.names.includes(ROTATION_JOB_NAME));
      assert.equal(await stack.daemon.jobs.trigger(ROTATION_JOB_NAME), 'success');
      assert.ok(stack.logs.some((l) => l.job === ROTATION_JOB_NAME && l.outcome === 'success'));
      assert.equal(stack.daemon.callRecords?.dir, path.join(stack.dataDir, 'call-records'));
    } finally {
      await stack.close();
    }
  });

  test('callRecords.enabled: false writes nothing and has no rotation job', async () => {
    const stack = await startStack({ callRecords: { enabled: false } });
    try {
      assert.equal(stack.daemon.callRecords, undefined);
      assert.ok(!stack.daemon.jobs.names.includes(ROTATION_JOB_NAME));
    } finally {
      await stack.close();
    }
  });
});
