/**
 * The DTD, the catalogue and the docs say the same thing: the committed DTD is exactly what the
 * catalogue generates, it declares the same elements and attributes (read back from the DTD
 * text itself), system xmllint accepts the spec's examples against it, and docs/protocol.md
 * names every message.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENVELOPE, MESSAGES, createCodec } from '../../src/protocol/index.js';
import { DTD_HEADER, generateDtd } from '../../src/protocol/dtd.js';
import { ALL_TYPES, SAMPLES } from './fixtures.js';

const ROOT = new URL('../../', import.meta.url);
const DTD_PATH = new URL('dtd/wbxtsp.dtd', ROOT).pathname;
const EXAMPLES = new URL('examples/', import.meta.url).pathname;
const XMLLINT = '/usr/bin/xmllint';

/** element -> attribute -> required, as the DTD text declares them. */
function declared(dtd: string): Map<string, Map<string, boolean>> {
  const out = new Map<string, Map<string, boolean>>();
  for (const [, name] of dtd.matchAll(/<!ELEMENT\s+(\S+)/g)) out.set(name as string, new Map());
  for (const [, element, body] of dtd.matchAll(/<!ATTLIST\s+(\S+)([^>]*)>/g)) {
    for (const [, attr, , req] of (body as string).matchAll(/(\S+)\s+(\([^)]*\)|CDATA)\s+(#REQUIRED|#IMPLIED)/g)) {
      out.get(element as string)?.set(attr as string, req === '#REQUIRED');
    }
  }
  return out;
}

describe('dtd/wbxtsp.dtd', () => {
  const committed = readFileSync(DTD_PATH, 'utf8');

  test('is what the catalogue generates, and says so in its first line', () => {
    assert.equal(committed.split('\n')[0], DTD_HEADER);
    assert.equal(committed, generateDtd(), 'run: node --import tsx dtd/generate.ts');
  });

  test('declares exactly the catalogue\'s elements and attributes, with their required status', () => {
    const fromDtd = declared(committed);
    const fromCatalogue = new Map<string, Map<string, boolean>>([
      [ENVELOPE.root, new Map([['Name', true], ['Version', true]])],
      [ENVELOPE.transId, new Map()],
      [ENVELOPE.confirmation, new Map([[ENVELOPE.result, true]])],
    ]);
    for (const type of ALL_TYPES) {
      const attrs = MESSAGES[type].attributes as Record<string, { required: boolean }>;
      fromCatalogue.set(type, new Map(Object.entries(attrs).map(([n, a]) => [n, a.required])));
    }
    assert.deepEqual(fromDtd, fromCatalogue);
  });

  test('every enumeration of the catalogue appears in the DTD', () => {
    assert.match(committed, /Result \(0\|10\|11\|12\|13\|20\|30\|31\|32\|40\|41\|42\|43\|44\|45\|50\|99\) #REQUIRED/);
    assert.match(committed, /Result \(0\|1\|2\|3\|4\|5\|6\|7\|8\) #REQUIRED/);
    for (const e of ['(CallOut|CallBack)', '(Host|Self|Policy|Bridge)', '(Hangup|Expelled|Dropped|ConferenceEnded)', '(Phone|VoIP)', '(True|False)', '(0|1|2)']) {
      assert.ok(committed.includes(e), e);
    }
  });

  test('every response named in the catalogue is a response of the other direction', () => {
    for (const type of ALL_TYPES) {
      const response = MESSAGES[type].response as string | null;
      if (response === null) continue;
      const answer = MESSAGES[response as keyof typeof MESSAGES];
      assert.equal(answer.kind, 'response', response);
      assert.notEqual(answer.direction, MESSAGES[type].direction, response);
    }
  });
});

describe('system xmllint', { skip: !existsSync(XMLLINT) && 'xmllint is not installed' }, () => {
  test('accepts the spec examples, the whitespace forms and every encoded sample against the DTD', async () => {
    const codec = await createCodec();
    const dir = mkdtempSync(join(tmpdir(), 'tsp-dtd-'));
    try {
      const files = readdirSync(EXAMPLES).map((f) => join(EXAMPLES, f));
      for (const type of ALL_TYPES) {
        const file = join(dir, `${type}.xml`);
        writeFileSync(file, codec.encode('x-1', [SAMPLES[type]]));
        files.push(file);
      }
      const run = spawnSync(XMLLINT, ['--noout', '--nonet', '--dtdvalid', DTD_PATH, ...files], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      // And the codec agrees with xmllint on the example files.
      for (const file of readdirSync(EXAMPLES)) {
        const body = readFileSync(join(EXAMPLES, file));
        const ok = file.startsWith('spec-confirmation')
          ? codec.decodeConfirmation(body).ok
          : codec.decode(body, { direction: file.startsWith('a2w') ? 'A2W' : 'W2A' }).ok;
        assert.ok(ok, file);
      }
    } finally {
      codec.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses what the codec refuses as invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsp-dtd-'));
    try {
      const file = join(dir, 'bad.xml');
      writeFileSync(file, readFileSync(join(EXAMPLES, 'spec-mute-user.xml'), 'utf8').replace('Mute="1"', 'Mute="2"'));
      assert.notEqual(spawnSync(XMLLINT, ['--noout', '--nonet', '--dtdvalid', DTD_PATH, file]).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('docs/protocol.md lists the catalogue exactly, and every Result code', () => {
  const docs = readFileSync(new URL('docs/protocol.md', ROOT), 'utf8');
  const rows = [...docs.matchAll(/^\| ([AW]2[AW]_\w+) \| (\w+) \| (\w+) \| (\w*) \| (.*) \|$/gm)].map((m) => m.slice(1));
  const expected = ALL_TYPES.map((type) => {
    const spec = MESSAGES[type];
    const attrs = Object.entries(spec.attributes as Record<string, { required: boolean }>).map(([n, a]) => (a.required ? n : `${n}?`));
    return [type, spec.provenance, spec.kind, spec.response ?? '', attrs.join(', ')];
  });
  assert.deepEqual(rows, expected);
  for (const code of [10, 11, 12, 13, 20, 30, 31, 32, 40, 41, 42, 43, 44, 45, 50, 99]) assert.match(docs, new RegExp(`\\| ${code} \\|`));
  for (const code of [0, 1, 2, 3, 4, 5, 6, 7, 8]) assert.match(docs, new RegExp(`^\\| ${code} \\| .* \\| .* \\|$`, 'm'));
});
