/**
 * The document writer against a reference XML writer: the codec writes documents with a string
 * builder (the hot path of every A2W post), so this checks, byte for byte, that it writes what
 * xml2js's Builder (xmlbuilder) writes for the same tree, in the guide's layout, with the
 * characters that need escaping in every string attribute and in the TransID.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Builder, parseStringPromise } from 'xml2js';
import { TspEncodeError, createCodec, type TspCodec, type TspMessage } from '../../src/protocol/index.js';
import { ENVELOPE } from '../../src/protocol/catalogue.js';
import { ALL_TYPES, SAMPLES } from './fixtures.js';

/** Markup, quotes, whitespace XML normalises in attributes, and characters beyond ASCII. */
const HOSTILE = ' &<>"\'\t\n\r\r\n é€😀';

const ROOT_OPEN = `<${ENVELOPE.root}>`;
const ROOT_OPEN_WITH_ATTRIBUTES = `<${ENVELOPE.root} Name="${ENVELOPE.name}" Version="${ENVELOPE.version}">`;
// allowEmpty (an xmlbuilder option the xml2js types do not list) writes `<X a="1"></X>`.
const reference = new Builder({ rootName: ENVELOPE.root, headless: true, renderOpts: { pretty: true, indent: '  ', newline: '\n', allowEmpty: true } as never });

type Child = Record<string, string | { $: Record<string, string> }>;

/** What xml2js writes for the tree xml2js reads out of `xml`: elements in document order. */
async function rewrittenByReference(xml: string): Promise<string> {
  const tree = await parseStringPromise(xml, { explicitChildren: true, preserveChildrenOrder: true, explicitArray: true });
  const root = tree[ENVELOPE.root] as { $$: { '#name': string; _?: string; $?: Record<string, string> }[] };
  const children: Child[] = root.$$.map((child) =>
    child['#name'] === ENVELOPE.transId ? { [ENVELOPE.transId]: child._ ?? '' } : { [child['#name']]: { $: child.$ ?? {} } });
  // An array root cannot carry attributes in xml2js; the envelope's are constants.
  return ROOT_OPEN_WITH_ATTRIBUTES + reference.buildObject(children).slice(ROOT_OPEN.length);
}

let codec: TspCodec;
before(async () => {
  codec = await createCodec();
});
after(() => codec.close());

test('every message, with hostile text in each string attribute, is written exactly as xml2js writes it', async () => {
  let compared = 0;
  for (const type of ALL_TYPES) {
    const sample = SAMPLES[type] as unknown as Record<string, unknown>;
    const variants: TspMessage[] = [SAMPLES[type]];
    for (const [name, value] of Object.entries(sample)) {
      if (name !== 'type' && typeof value === 'string') variants.push({ ...sample, [name]: value + HOSTILE } as unknown as TspMessage);
    }
    for (const message of variants) {
      let xml: string;
      try {
        xml = codec.encode(`t${HOSTILE}`, [message]);
      } catch (err) {
        // Attributes with a format of their own (numbers, URLs, IDs) refuse the text; that is the point of them.
        assert.ok(err instanceof TspEncodeError, `${type}: ${String(err)}`);
        continue;
      }
      assert.equal(xml, await rewrittenByReference(xml), `${type}`);
      compared += 1;
    }
  }
  // Each type at least as its sample, and free-text attributes (names, numbers as text) hostile.
  assert.ok(compared > ALL_TYPES.length, `only ${compared} documents compared`);
});

test('several messages and a Confirmation are written as xml2js writes them', async () => {
  const several = codec.encode('batch-1', [SAMPLES.A2W_NotifyUserChange, SAMPLES.A2W_RspMuteUser, SAMPLES.A2W_NotifyUserEnter]);
  assert.equal(several, await rewrittenByReference(several));
  for (const result of [0, 7] as const) {
    const confirmation = codec.encodeConfirmation(`c${HOSTILE}`, result);
    assert.equal(confirmation, await rewrittenByReference(confirmation));
  }
});
