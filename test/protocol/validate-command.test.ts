/**
 * `tsp-adaptor validate FILE...` through the real command line: one line per file with the
 * Confirmation the daemon would give it, exit 0 only when every file got 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MUTE, document } from './fixtures.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsp-validate-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function validate(files: Record<string, string | Buffer>): { status: number | null; lines: string[] } {
  const paths = Object.entries(files).map(([name, body]) => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  });
  const run = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'validate', ...paths], { encoding: 'utf8' });
  return { status: run.status, lines: run.stdout.split('\n').filter(Boolean) };
}

test('one line per file: name, TAB, Confirmation Result, TAB, reason; exit 1 when any is not 0', () => {
  const { status, lines } = validate({
    'ok.xml': document('W2A_MuteUser', MUTE),
    'version.xml': document('W2A_MuteUser', MUTE).replace('Version="1.0"', 'Version="9"'),
    'broken.xml': '<WbxTSPSchema>',
    'latin1.xml': Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>${document('W2A_Callout', 'MsgID="1" ExtConfID="2" ExtCallID="3" PhoneNumber="1,2,3" Name="Zoë"')}`, 'latin1'),
  });
  assert.equal(status, 1);
  assert.deepEqual(lines.map((l) => l.split('\t').slice(1, 2)[0]), ['0', '4', '1', '0']);
  assert.equal(lines[0], `${join(dir, 'ok.xml')}\t0\t`);
  assert.match(lines[1] ?? '', /\t4\tline 1: WbxTSPSchema@Version '9' is not supported/);
});

test('exit 0 when every file got 0', () => {
  assert.equal(validate({ 'a.xml': document('W2A_MuteUser', MUTE), 'b.xml': document('W2A_ExpelUser', 'MsgID="1" ExtConfID="2" ExtCallID="3"') }).status, 0);
});
