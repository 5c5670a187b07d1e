/**
 * The dialect map: a [modeled] name renamed by configuration is spelled the provider's way on
 * the wire, both directions, validated under the renamed DTD; [guide] names cannot be renamed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec, type TspCodec } from '../../src/protocol/index.js';
import { SAMPLES, document } from './fixtures.js';

const DIALECT = {
  elements: { W2A_MuteUser: 'W2A_SetUserMute', A2W_RspMuteUser: 'A2W_RspSetUserMute' },
  attributes: { Mute: 'MuteState', ConfKey: 'ConferenceKey' },
};

let codec: TspCodec;
before(async () => {
  codec = await createCodec({ dialect: DIALECT });
});
after(() => codec.close());

describe('a renamed message', () => {
  test('W2A: the provider\'s names decode to our names', () => {
    const body = document('W2A_SetUserMute', 'MsgID="88" ExtConfID="5512" ExtCallID="77" MuteState="1"');
    assert.deepEqual(codec.decode(body, { direction: 'W2A' }), {
      ok: true,
      transId: 'wbx-000172',
      messages: [{ type: 'W2A_MuteUser', MsgID: '88', ExtConfID: '5512', ExtCallID: '77', Mute: true }],
    });
  });

  test('W2A: our own names are now unknown on the wire', () => {
    const ours = codec.decode(document('W2A_MuteUser', 'MsgID="88" ExtConfID="5512" ExtCallID="77" Mute="1"'), { direction: 'W2A' });
    assert.equal(ours.ok ? 0 : ours.result, 2);
    const oldAttribute = codec.decode(document('W2A_SetUserMute', 'MsgID="88" ExtConfID="5512" ExtCallID="77" Mute="1"'), { direction: 'W2A' });
    assert.equal(oldAttribute.ok ? 0 : oldAttribute.result, 2);
  });

  test('A2W: encoding writes the provider\'s names, and they round-trip', () => {
    const xml = codec.encode('t', [SAMPLES.A2W_RspMuteUser]);
    assert.match(xml, /<A2W_RspSetUserMute [^>]*><\/A2W_RspSetUserMute>/);
    assert.deepEqual(codec.decode(xml, { direction: 'A2W' }), { ok: true, transId: 't', messages: [SAMPLES.A2W_RspMuteUser] });
  });

  test('a renamed attribute is renamed on every element that carries it, both directions', () => {
    const xml = codec.encode('t', [SAMPLES.W2A_CreateConference, SAMPLES.W2A_MuteUser]);
    assert.match(xml, / ConferenceKey="12345678"/);
    assert.match(xml, /<W2A_SetUserMute [^>]* MuteState="1"/);
    assert.doesNotMatch(xml, / ConfKey=| Mute=/);
    const decoded = codec.decode(xml, { direction: 'W2A' });
    assert.deepEqual(decoded.ok && decoded.messages, [SAMPLES.W2A_CreateConference, SAMPLES.W2A_MuteUser]);
  });

  test('value rules still apply under the wire name', () => {
    const body = document('W2A_CreateConference', 'MsgID="1" ExtConfID="2" ConferenceKey="12" WbxHostName="https://a.example/"');
    const decoded = codec.decode(body, { direction: 'W2A' });
    assert.equal(decoded.ok ? '' : decoded.reason, 'line 3: W2A_CreateConference@ConferenceKey must be 4 to 16 digits');
  });
});

describe('refused at creation', () => {
  const cases: Array<[string, object, RegExp]> = [
    ['a [guide] element', { elements: { W2A_Callout: 'W2A_Dial' } }, /'W2A_Callout' is a \[guide\] element name/],
    ['a [guide] attribute', { attributes: { ExtConfID: 'ConfID' } }, /'ExtConfID' is a \[guide\] attribute name/],
    ['an unknown name', { elements: { W2A_Nope: 'X' } }, /no element named 'W2A_Nope'/],
    ['a collision with another element', { elements: { W2A_MuteUser: 'W2A_ExpelUser' } }, /would be spelled 'W2A_ExpelUser'/],
    ['a collision with the envelope', { elements: { W2A_MuteUser: 'TransID' } }, /would be spelled 'TransID'/],
    ['a collision between attributes', { attributes: { Mute: 'Lock' } }, /would be spelled 'Lock'/],
    ['a name XML cannot carry', { attributes: { Mute: 'Mute State' } }, /not a valid XML name/],
  ];
  for (const [name, dialect, message] of cases) {
    test(name, async () => {
      await assert.rejects(createCodec({ dialect }), (err: Error) => err.name === 'DialectError' && message.test(err.message));
    });
  }
});
