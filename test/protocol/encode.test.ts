/**
 * Encoding: what the adaptor writes validates against the same DTD, escapes its attributes,
 * and decodes back to the same messages; Confirmations both ways for every code of spec 2.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIRMATION, TspEncodeError, createCodec, type TspCodec, type TspMessage } from '../../src/protocol/index.js';
import { attributesOf } from '../../src/protocol/catalogue.js';
import { ALL_TYPES, SAMPLES, minimal } from './fixtures.js';

let codec: TspCodec;
before(async () => {
  codec = await createCodec();
});
after(() => codec.close());

describe('round trips', () => {
  for (const type of ALL_TYPES) {
    test(`${type}: encode -> decode gives the same message, full and required-only`, () => {
      const direction = type.startsWith('W2A') ? 'W2A' : 'A2W';
      for (const message of [SAMPLES[type], minimal(type)]) {
        assert.deepEqual(codec.decode(codec.encode('rt-1', [message]), { direction }), {
          ok: true,
          transId: 'rt-1',
          messages: [message],
        });
      }
    });
  }

  test('several messages keep their order, interleaving types', () => {
    const messages: TspMessage[] = [SAMPLES.A2W_NotifyUserChange, SAMPLES.A2W_RspMuteUser, SAMPLES.A2W_NotifyUserChange];
    const decoded = codec.decode(codec.encode('t', messages), { direction: 'A2W' });
    assert.deepEqual(decoded.ok && decoded.messages, messages);
  });

  test('attribute values are escaped, including quotes, markup, newlines and tabs', () => {
    const name = 'a"b\'c<d>&e\nf\tg\r\nh é';
    const xml = codec.encode('t&<"', [{ ...SAMPLES.A2W_NotifyUserEnter, Name: name }]);
    assert.match(xml, /Name="a&quot;b'c&lt;d>&amp;e&#xA;f&#x9;g&#xD;&#xA;h é"/);
    const decoded = codec.decode(xml, { direction: 'A2W' });
    assert.ok(decoded.ok);
    assert.equal(decoded.transId, 't&<"');
    assert.equal((decoded.messages[0] as { Name?: string }).Name, name);
  });

  test('commands are written <X a="1"></X>, the guide senders\' form', () => {
    assert.match(codec.encode('t', [SAMPLES.A2W_RspMuteUser]), /<A2W_RspMuteUser [^>]*><\/A2W_RspMuteUser>/);
  });
});

test('with checkEncoded each message type, with every value of each enumerated attribute, validates against the DTD and is written the same as without', async () => {
  const dialect = { elements: { W2A_LockConference: 'W2A_Lock', A2W_RspLockConference: 'A2W_RspLock' }, attributes: { Lock: 'Locked', Name: 'DisplayName' } };
  const pairs = [
    [await createCodec({ checkEncoded: true }), codec],
    [await createCodec({ checkEncoded: true, dialect }), await createCodec({ dialect })],
  ] as const;
  try {
    let checked = 0;
    for (const [checking, unchecked] of pairs) {
      for (const type of ALL_TYPES) {
        const variants: TspMessage[] = [SAMPLES[type], minimal(type)];
        for (const [name, spec] of attributesOf(type)) {
          const values: readonly unknown[] = spec.type === 'flag' || spec.type === 'bool' ? [true, false]
            : spec.type === 'code' || spec.type === 'enum' ? spec.values : [];
          for (const value of values) variants.push({ ...SAMPLES[type], [name]: value } as TspMessage);
        }
        for (const message of variants) {
          let written: string | undefined;
          try {
            written = unchecked.encode('t&<"\t', [message]);
          } catch (err) {
            // A value rule of another attribute may refuse a combination (RedirectURL with Result 0):
            // then the checking codec must refuse it the same way, before its DTD check.
            assert.throws(() => checking.encode('t&<"\t', [message]), (e: unknown) => e instanceof TspEncodeError && e.message === (err as Error).message);
            continue;
          }
          assert.equal(checking.encode('t&<"\t', [message]), written, type);
          checked += 1;
        }
      }
    }
    assert.ok(checked > ALL_TYPES.length * 4, `only ${checked} documents checked`);
  } finally {
    for (const [checking, unchecked] of pairs) {
      checking.close();
      if (unchecked !== codec) unchecked.close();
    }
  }
});

describe('encode refuses what the decoder would', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['a missing required attribute', () => codec.encode('t', [{ ...SAMPLES.A2W_RspMuteUser, ExtCallID: undefined } as unknown as TspMessage]), /A2W_RspMuteUser.ExtCallID is required/],
    ['a value rule', () => codec.encode('t', [{ ...SAMPLES.A2W_NotifyConferenceChange, NBRSequence: 'P1' }]), /NBRSequence must be/],
    ['a wrong JavaScript type', () => codec.encode('t', [{ ...SAMPLES.A2W_RspMuteUser, Result: 7 } as unknown as TspMessage]), /Result: expected one of/],
    ['an unknown field', () => codec.encode('t', [{ ...SAMPLES.A2W_RspMuteUser, Mute: true } as unknown as TspMessage]), /has no attribute Mute/],
    ['an unknown type', () => codec.encode('t', [{ type: 'A2W_Nope' } as unknown as TspMessage]), /no message type A2W_Nope/],
    ['mixed directions', () => codec.encode('t', [SAMPLES.A2W_RspMuteUser, SAMPLES.W2A_MuteUser]), /cannot share a document/],
    ['no message', () => codec.encode('t', []), /at least one message/],
    ['an empty TransID', () => codec.encode('', [SAMPLES.A2W_RspMuteUser]), /TransID is empty/],
    ['a character XML cannot carry', () => codec.encode('t', [{ ...SAMPLES.A2W_NotifyUserEnter, Name: 'a\u0001b' }]), /cannot write the document/],
  ];
  for (const [name, run, message] of cases) {
    test(name, () => assert.throws(run, (err: unknown) => err instanceof TspEncodeError && message.test(err.message)));
  }
});

describe('Confirmations', () => {
  for (const result of Object.values(CONFIRMATION)) {
    test(`Result ${result} round-trips`, () => {
      const xml = codec.encodeConfirmation('wbx-000172', result);
      assert.match(xml, new RegExp(`<Confirmation Result="${result}"></Confirmation>`));
      assert.deepEqual(codec.decodeConfirmation(xml), { ok: true, transId: 'wbx-000172', result });
      assert.deepEqual(codec.decodeConfirmation(Buffer.from(xml)), { ok: true, transId: 'wbx-000172', result });
    });
  }
  test('the spec 2 example decodes', () => {
    const xml = '<WbxTSPSchema Name="WTSPDOM" Version="1.0">\n  <TransID>wbx-000172</TransID>\n  <Confirmation Result="0"></Confirmation>\n</WbxTSPSchema>';
    assert.deepEqual(codec.decodeConfirmation(xml), { ok: true, transId: 'wbx-000172', result: 0 });
  });
  test('a Confirmation without TransID text still encodes (a body refused before its TransID was read)', () => {
    assert.match(codec.encodeConfirmation('', 1), /<TransID><\/TransID>/);
  });
  test('bad Confirmations are refused, not thrown', () => {
    for (const body of [
      'junk',
      codec.encodeConfirmation('t', 0).replace('Result="0"', 'Result="9"'),
      codec.encode('t', [SAMPLES.A2W_RspMuteUser]),
      '<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>t</TransID><Confirmation Result="0"/><Confirmation Result="0"/></WbxTSPSchema>',
    ]) {
      const decoded = codec.decodeConfirmation(body);
      assert.equal(decoded.ok, false, body);
      assert.match(decoded.ok ? '' : decoded.reason, /line \d+: /);
    }
  });
  test('an unknown Result cannot be encoded', () => {
    assert.throws(() => codec.encodeConfirmation('t', 9 as 0), TspEncodeError);
  });
});

test('a closed codec refuses with Busy and close is idempotent', async () => {
  const closing = await createCodec();
  closing.close();
  closing.close();
  const decoded = closing.decode(codec.encode('t', [SAMPLES.W2A_MuteUser]), { direction: 'W2A' });
  assert.equal(decoded.ok ? 0 : decoded.result, CONFIRMATION.BUSY);
});

test('RedirectURL names a peer adaptor: the WebEx-host policy does not apply to it, the URL rules do', async () => {
  const webexOnly = await createCodec({ isAllowedWbxHost: (url) => new URL(url).hostname.endsWith('.webex.example') });
  try {
    const redirect = { ...SAMPLES.A2W_RspCreateConference, Result: 50 as const, RedirectURL: 'https://adaptor2.provider.example/tsp' };
    const decoded = webexOnly.decode(webexOnly.encode('t-redirect', [redirect]), { direction: 'A2W' });
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.equal((decoded.messages[0] as typeof redirect).RedirectURL, 'https://adaptor2.provider.example/tsp');
    assert.throws(
      () => webexOnly.encode('t-bad', [{ ...redirect, RedirectURL: 'ftp://adaptor2.provider.example/tsp' }]),
      (err: unknown) => err instanceof TspEncodeError && /RedirectURL/.test(err.message),
    );
  } finally {
    webexOnly.close();
  }
});
