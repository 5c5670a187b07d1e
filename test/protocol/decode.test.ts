/**
 * Decoding, read like spec 2.1: every input gets exactly one Confirmation Result, with a reason
 * naming the line and the element or attribute at fault.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIRMATION, MESSAGES, createCodec, type DecodeResult, type TspCodec } from '../../src/protocol/index.js';
import { ALL_TYPES, MUTE, SAMPLES, W2A_TYPES, document, minimal } from './fixtures.js';

let codec: TspCodec;
before(async () => {
  codec = await createCodec({ isAllowedWbxHost: (url) => new URL(url).hostname.endsWith('.webex.example') });
});
after(() => codec.close());

const w2a = (body: Uint8Array | string, contentType?: string): DecodeResult =>
  codec.decode(body, contentType === undefined ? { direction: 'W2A' } : { direction: 'W2A', contentType });

function refused(result: DecodeResult, code: number, reason: RegExp): void {
  assert.equal(result.ok, false, 'expected a refusal');
  if (result.ok) return;
  assert.equal(result.result, code, result.reason);
  assert.match(result.reason, reason);
}

describe('valid documents', () => {
  test('the spec 2 example decodes to a typed W2A_MuteUser and its TransID', () => {
    const result = w2a(document('W2A_MuteUser', MUTE));
    assert.deepEqual(result, {
      ok: true,
      transId: 'wbx-000172',
      messages: [{ type: 'W2A_MuteUser', MsgID: '88', ExtConfID: '5512', ExtCallID: '77', Mute: true }],
    });
  });

  test('whitespace forms: blank and newline content, a space before > in the close tag, self-closing', () => {
    for (const form of [
      `<W2A_MuteUser ${MUTE}> </W2A_MuteUser>`,
      `<W2A_MuteUser ${MUTE}>\n\t\r\n</W2A_MuteUser >`,
      `<W2A_MuteUser ${MUTE}/>`,
      `<W2A_MuteUser\n  ${MUTE.replace(/ /g, '\n  ')}\n></W2A_MuteUser\n>`,
    ]) {
      const result = w2a(`<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID> t1 </TransID>\n${form}\n</WbxTSPSchema >`);
      assert.ok(result.ok, `${form}: ${result.ok ? '' : result.reason}`);
      assert.equal(result.transId, 't1');
      assert.equal(result.messages[0]?.type, 'W2A_MuteUser');
    }
  });

  test('several commands under one TransID come back in document order', () => {
    const body = `<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>x</TransID>
      <W2A_ExpelUser MsgID="1" ExtConfID="c" ExtCallID="a"/>
      <W2A_MuteUser MsgID="2" ExtConfID="c" ExtCallID="b" Mute="0"/>
      <W2A_ExpelUser MsgID="3" ExtConfID="c" ExtCallID="d"/></WbxTSPSchema>`;
    const result = w2a(body);
    assert.ok(result.ok);
    assert.deepEqual(result.messages.map((m) => m.MsgID), ['1', '2', '3']);
  });

  test('an XML declaration, comments and a UTF-8 BOM are accepted', () => {
    const body = `\uFEFF<?xml version="1.0" encoding="UTF-8"?><!-- from WebEx -->${document('W2A_MuteUser', MUTE)}`;
    assert.ok(w2a(body).ok);
  });
});

describe('every message, valid and invalid forms', () => {
  for (const type of ALL_TYPES) {
    const spec = MESSAGES[type];
    const direction = spec.direction;
    test(`${type}: the full sample and the required-only form decode in ${direction}; the other direction refuses it`, () => {
      for (const message of [SAMPLES[type], minimal(type)]) {
        const body = codec.encode('t-1', [message]);
        assert.deepEqual(codec.decode(body, { direction }), { ok: true, transId: 't-1', messages: [message] });
        const other = codec.decode(body, { direction: direction === 'W2A' ? 'A2W' : 'W2A' });
        refused(other, CONFIRMATION.INVALID, new RegExp(`line 3: ${type} is sent ${direction}; this body must be ${direction === "W2A" ? "A2W" : "W2A"}`));
      }
    });

    const required = Object.entries(spec.attributes).filter(([, a]) => a.required).map(([n]) => n);
    test(`${type}: each missing required attribute is Result 2 naming it`, () => {
      const body = codec.encode('t-1', [SAMPLES[type]]);
      for (const name of required) {
        const without = body.replace(new RegExp(` ${name}="[^"]*"`), '');
        refused(codec.decode(without, { direction }), CONFIRMATION.INVALID, new RegExp(`^line 3: .*${type}.*${name}`));
      }
    });

    test(`${type}: an undeclared attribute is Result 2`, () => {
      const body = codec.encode('t-1', [SAMPLES[type]]).replace(`<${type} `, `<${type} Bogus="1" `);
      refused(codec.decode(body, { direction }), CONFIRMATION.INVALID, /line 3: .*Bogus/);
    });
  }
});

describe('Result 1: not well-formed or not decodable', () => {
  test('a tag mismatch names the line', () => {
    refused(w2a(document('W2A_MuteUser', MUTE).replace('</W2A_MuteUser>', '</W2A_Mute>')), 1, /^line 3: .*W2A_Mute/);
  });
  test('an empty body, plain text and a truncated document', () => {
    refused(w2a(''), 1, /line 1: body is empty/);
    refused(w2a('hello'), 1, /^line 1: /);
    refused(w2a(document('W2A_MuteUser', MUTE).slice(0, 60)), 1, /^line \d+: /);
  });
  test('a NUL byte, with its line', () => {
    refused(w2a(document('W2A_MuteUser', MUTE).replace('88', '8\u00008')), 1, /^line 3: NUL byte/);
  });
  test('invalid UTF-8, with its line', () => {
    const bytes = Buffer.concat([Buffer.from(document('W2A_MuteUser', MUTE).replace('88', '8')), Buffer.from([0xc3, 0x28])]);
    refused(w2a(bytes), 1, /^line 5: invalid UTF-8/);
  });
  test('an unsupported or undeclarable character set', () => {
    refused(w2a(Buffer.from(`<?xml version="1.0" encoding="Shift_JIS"?>${document('W2A_MuteUser', MUTE)}`)), 1, /Shift_JIS/);
    refused(w2a(Buffer.from(document('W2A_MuteUser', MUTE)), 'text/xml; charset=koi8-r'), 1, /koi8-r/);
    refused(w2a(Buffer.from(`\uFEFF${document('W2A_MuteUser', MUTE)}`, 'utf16le')), 1, /UTF-16/);
  });
  test('an undefined entity reference', () => {
    refused(w2a(document('W2A_MuteUser', MUTE.replace('88', '&foo;'))), 1, /^line 3: .*foo/);
  });
});

describe('Result 2: not valid', () => {
  test('a value outside an enumeration', () => {
    refused(w2a(document('W2A_MuteUser', MUTE.replace('Mute="1"', 'Mute="yes"'))), 2, /^line 3: .*Mute.*W2A_MuteUser/);
  });
  test('an unknown element', () => {
    refused(w2a(document('W2A_Dance', 'MsgID="1"')), 2, /^line 3: .*W2A_Dance/);
  });
  test('a missing TransID, and a TransID out of order', () => {
    refused(w2a(document('W2A_MuteUser', MUTE).replace('<TransID>wbx-000172</TransID>', '')), 2, /^line 1: /);
    const swapped = `<WbxTSPSchema Name="WTSPDOM" Version="1.0"><W2A_MuteUser ${MUTE}/><TransID>x</TransID></WbxTSPSchema>`;
    refused(w2a(swapped), 2, /^line 1: .*WbxTSPSchema/);
  });
  test('content inside a command', () => {
    refused(w2a(document('W2A_MuteUser', MUTE).replace('></W2A_MuteUser>', '>hi</W2A_MuteUser>')), 2, /^line 3: W2A_MuteUser must not have content/);
    refused(w2a(document('W2A_MuteUser', MUTE).replace('></W2A_MuteUser>', '><X/></W2A_MuteUser>')), 2, /^line 3: /);
  });
  test('a wrong root element or root Name', () => {
    refused(w2a(`<Other><TransID>x</TransID></Other>`), 2, /root element is Other/);
    refused(w2a(document('W2A_MuteUser', MUTE).replace('WTSPDOM', 'X')), 2, /^line 1: .*Name/);
  });
  test('a Confirmation is not a command', () => {
    refused(w2a(codec.encodeConfirmation('x', 0)), 2, /^line 3: Confirmation is not a command/);
  });
  test('a DOCTYPE or an ENTITY declaration is refused before parsing', () => {
    const body = document('W2A_MuteUser', MUTE);
    refused(w2a(`<!DOCTYPE WbxTSPSchema SYSTEM "http://evil.example/x.dtd">\n${body}`), 2, /^line 1: <!DOCTYPE is not accepted/);
    const internal = `<?xml version="1.0"?>\n<!DOCTYPE WbxTSPSchema [\n<!ENTITY a "aaaa">\n]>\n${body.replace('88', '&a;')}`;
    refused(w2a(internal), 2, /^line 2: <!DOCTYPE/);
    refused(w2a(`<!-- <!ENTITY x "y"> -->${body}`), 2, /<!ENTITY is not accepted/);
  });
});

describe('Result 3: value rules', () => {
  const create = (attrs: Record<string, string>): string => {
    const base = { MsgID: '1', ExtConfID: '2', ConfKey: '1234', WbxHostName: 'https://a.webex.example/x', ...attrs };
    return document('W2A_CreateConference', Object.entries(base).map(([k, v]) => `${k}="${v}"`).join(' '));
  };
  const cases: Array<[string, string, Record<string, string>, RegExp]> = [
    ['ConfKey too short', 'W2A_CreateConference', { ConfKey: '123' }, /ConfKey must be 4 to 16 digits/],
    ['ConfKey too long', 'W2A_CreateConference', { ConfKey: '12345678901234567' }, /ConfKey must be 4 to 16 digits/],
    ['ConfKey not digits', 'W2A_CreateConference', { ConfKey: '12a4' }, /ConfKey/],
    ['WbxHostName not allowed', 'W2A_CreateConference', { WbxHostName: 'https://evil.example/x' }, /WbxHostName is not an allowed WebEx host/],
    ['WbxHostName not a URL', 'W2A_CreateConference', { WbxHostName: 'webex' }, /WbxHostName is not a URL/],
    ['WbxHostName not http', 'W2A_CreateConference', { WbxHostName: 'ftp://a.webex.example/' }, /WbxHostName is not an http or https URL/],
    ['HybridClientURL too long', 'W2A_CreateConference', { HybridClientURL: `https://h.example/${'a'.repeat(1010)}` }, /HybridClientURL is 1028 characters, over the limit of 1024/],
    ['HybridSDKToken too long', 'W2A_CreateConference', { HybridSDKToken: 't'.repeat(129) }, /HybridSDKToken is 129 characters/],
    ['AttendeeCount not a number', 'W2A_CreateConference', { AttendeeCount: 'many' }, /AttendeeCount must be an integer/],
    ['MsgID empty', 'W2A_CreateConference', { MsgID: '' }, /MsgID is empty/],
  ];
  for (const [name, , attrs, reason] of cases) {
    test(name, () => refused(w2a(create(attrs)), 3, new RegExp(`^line 3: W2A_CreateConference@${reason.source}`)));
  }
  test('PhoneNumber must be CountryCode,AreaCode,LocalNumber and at most 63 characters', () => {
    const callout = (phone: string) => document('W2A_Callout', `MsgID="1" ExtConfID="2" ExtCallID="3" PhoneNumber="${phone}"`);
    assert.ok(w2a(callout('1,408,5550100')).ok);
    assert.ok(w2a(callout('65,,61234567')).ok);
    refused(w2a(callout('4085550100')), 3, /PhoneNumber must be CountryCode,AreaCode,LocalNumber/);
    refused(w2a(callout('+1,408,555-0100')), 3, /PhoneNumber/);
    refused(w2a(callout(`1,408,${'5'.repeat(60)}`)), 3, /PhoneNumber is 66 characters, over the limit of 63/);
  });
  test('Data at most 1024 characters', () => {
    const pass = (data: string) => document('W2A_CSPClientPassthrough', `MsgID="1" ExtConfID="2" ExtCallID="3" Data="${data}"`);
    assert.ok(w2a(pass('a'.repeat(1024))).ok);
    refused(w2a(pass('a'.repeat(1025))), 3, /Data is 1025 characters/);
  });
  test('SubConfID is a small integer', () => {
    const add = (id: string) => document('W2A_AddToSubConference', `MsgID="1" ExtConfID="2" ExtCallID="3" SubConfID="${id}"`);
    assert.ok(w2a(add('0')).ok);
    refused(w2a(add('-1')), 3, /SubConfID must be an integer from 0/);
    refused(w2a(add('1000')), 3, /SubConfID/);
  });
  test('NBRSequence: P and D tokens ending in P0, at most 255 (checked in A2W decoding)', () => {
    const change = (seq: string) => document('A2W_NotifyConferenceChange', `MsgID="1" ExtConfID="2" Status="4" NBRSequence="${seq}"`);
    const a2w = (body: string) => codec.decode(body, { direction: 'A2W' });
    for (const ok of ['P0', 'P15D123456789#P10D1234#P0', 'D*#12P0']) assert.ok(a2w(change(ok)).ok, ok);
    for (const bad of ['P15D123', 'P0D1', 'X1P0', 'D12AP0', 'P00', '']) refused(a2w(change(bad)), 3, /NBRSequence must be P<seconds>/);
    refused(a2w(change(`${'D1'.repeat(127)}P0`)), 3, /NBRSequence is 256 characters/);
  });
  test('an empty TransID', () => {
    refused(w2a(document('W2A_MuteUser', MUTE, '  ')), 3, /^line 2: TransID is empty/);
  });
  test('ExtCallID may be empty only on A2W_NotifyUserEnter', () => {
    refused(w2a(document('W2A_MuteUser', MUTE.replace('ExtCallID="77"', 'ExtCallID=""'))), 3, /ExtCallID is empty/);
  });
  test('the refusal carries the TransID so the Confirmation can echo it', () => {
    const result = w2a(document('W2A_MuteUser', MUTE.replace('ExtCallID="77"', 'ExtCallID=""'), 'abc'));
    assert.equal(result.ok ? undefined : result.transId, 'abc');
  });
});

describe('Result 4 and 6', () => {
  test('an unsupported Version is 4, not 2', () => {
    refused(w2a(document('W2A_MuteUser', MUTE).replace('Version="1.0"', 'Version="2.0"')), 4, /^line 1: WbxTSPSchema@Version '2.0'/);
  });
  test('a body over the byte limit is 6, default 64 KiB, configurable', async () => {
    const big = document('W2A_CSPClientPassthrough', `MsgID="1" ExtConfID="2" ExtCallID="3" Data="x"`).replace('<TransID>', `<!--${'-'.repeat(65_536).replace(/--/g, '- ')}--><TransID>`);
    refused(w2a(big), 6, /bytes, over the limit of 65536/);
    const small = await createCodec({ maxBodyBytes: 100 });
    try {
      refused(small.decode(document('W2A_MuteUser', MUTE), { direction: 'W2A' }), 6, /over the limit of 100/);
    } finally {
      small.close();
    }
  });
  test('more commands than the limit is 6, default 100, configurable', async () => {
    const body = (n: number) =>
      `<WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>x</TransID>${`<W2A_MuteUser ${MUTE}/>`.repeat(n)}</WbxTSPSchema>`;
    assert.ok(w2a(body(100)).ok);
    refused(w2a(body(101)), 6, /101 commands in one transaction, over the limit of 100/);
    const three = await createCodec({ maxCommands: 3 });
    try {
      refused(three.decode(body(4), { direction: 'W2A' }), 6, /over the limit of 3/);
    } finally {
      three.close();
    }
  });
});

describe('character sets', () => {
  const latin1Body = (decl: string) =>
    Buffer.from(`${decl}${document('W2A_Callout', 'MsgID="1" ExtConfID="2" ExtCallID="3" PhoneNumber="1,2,3" Name="José Müller"')}`, 'latin1');
  const nameOf = (result: DecodeResult) => (result.ok ? (result.messages[0] as { Name?: string }).Name : result.reason);

  test('ISO-8859-1 declared in the XML declaration', () => {
    assert.equal(nameOf(w2a(latin1Body('<?xml version="1.0" encoding="ISO-8859-1"?>'))), 'José Müller');
  });
  test('ISO-8859-1 given as the HTTP charset, which wins over the declaration', () => {
    assert.equal(nameOf(w2a(latin1Body(''), 'text/xml; charset=ISO-8859-1')), 'José Müller');
    assert.equal(nameOf(w2a(latin1Body('<?xml version="1.0" encoding="UTF-8"?>'), 'application/xml;charset="latin1"')), 'José Müller');
  });
  test('ISO-8859-1 bytes without a declaration are invalid UTF-8', () => {
    refused(w2a(latin1Body('')), 1, /invalid UTF-8/);
  });
  test('UTF-8 bytes, declared, by HTTP charset, or by default', () => {
    const utf8 = (decl: string) => Buffer.from(latin1Body(decl).toString('latin1'), 'utf8');
    assert.equal(nameOf(w2a(utf8(''))), 'José Müller');
    assert.equal(nameOf(w2a(utf8('<?xml version="1.0" encoding="utf-8"?>'))), 'José Müller');
    assert.equal(nameOf(w2a(utf8(''), 'text/xml; charset=UTF-8')), 'José Müller');
  });
  test('a string body is already decoded, whatever its declaration says', () => {
    assert.equal(nameOf(w2a(latin1Body('<?xml version="1.0" encoding="ISO-8859-1"?>').toString('latin1'))), 'José Müller');
  });
});

test('every W2A type is covered by a sample', () => {
  assert.ok(W2A_TYPES.length >= 11);
});

test('a host policy that throws gives Result 8, not an exception', async () => {
  const broken = await createCodec({
    isAllowedWbxHost: () => {
      throw new Error('allow-list unavailable');
    },
  });
  try {
    const body = document('W2A_MuteUser', `${MUTE} WbxHostName="https://a.webex.example/"`);
    refused(broken.decode(body, { direction: 'W2A' }), CONFIRMATION.INTERNAL, /internal error: .*allow-list unavailable/);
  } finally {
    broken.close();
  }
});

test('decoding stays right across the parser context being renewed (every 10,000 documents)', () => {
  const good = Buffer.from(document('W2A_MuteUser', MUTE));
  const bad = Buffer.from(document('W2A_MuteUser', MUTE.replace('Mute="1"', 'Mute="9"')));
  for (let i = 0; i < 10_050; i++) {
    const result = w2a(i % 2 ? bad : good);
    assert.equal(result.ok ? 0 : result.result, i % 2 ? CONFIRMATION.INVALID : CONFIRMATION.OK, `document ${i}`);
  }
  const last = w2a(document(`W2A_Made_Up_${'x'.repeat(40)}`, 'a="1"'));
  refused(last, CONFIRMATION.INVALID, /^line 3: No declaration for element W2A_Made_Up_x+/);
});
