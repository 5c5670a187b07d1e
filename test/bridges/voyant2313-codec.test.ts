/**
 * The 2313 codec: every message of the catalogue survives encode then decode, the wire form
 * matches docs/voyant2313-protocol.md, and anything outside the catalogue is a CodecError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BRIDGE_ERROR_CODES, type BridgeErrorCode } from '../../src/bridges/errors.js';
import {
  CodecError, RESULT_CODES, decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage,
  requestIdOf, resultCodeOf, type ClientMessage, type ServerMessage,
} from '../../src/bridges/voyant2313/codec.js';
import { FRAME_HEADER_BYTES, encodeFrame } from '../../src/bridges/voyant2313/framer.js';
import { SAMPLE_COMMANDS, SAMPLE_EVENTS, SAMPLE_SNAPSHOT } from './voyant2313-samples.js';

/** The XML payload of a framed message. */
function payloadOf(frame: Buffer): Buffer {
  assert.equal(frame.readUInt32BE(4), frame.length - FRAME_HEADER_BYTES);
  return frame.subarray(FRAME_HEADER_BYTES);
}

function roundTripClient(m: ClientMessage): ClientMessage {
  return decodeClientMessage(payloadOf(encodeClientMessage(m)));
}

function roundTripServer(m: ServerMessage): ServerMessage {
  return decodeServerMessage(payloadOf(encodeServerMessage(m)));
}

function xml(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

test('every command survives encode then decode', () => {
  for (const [i, command] of SAMPLE_COMMANDS.entries()) {
    const m: ClientMessage = { kind: 'command', reqId: `r${i + 1}`, command };
    assert.deepEqual(roundTripClient(m), m);
  }
});

test('login and notification registration survive encode then decode', () => {
  const login: ClientMessage = { kind: 'login', reqId: '1', username: 'webex', password: 'p&ss "w" <rd>' };
  assert.deepEqual(roundTripClient(login), login);
  const register: ClientMessage = { kind: 'register', sessionId: 'S-1f2e' };
  assert.deepEqual(roundTripClient(register), register);
});

test('every reply, failure, session result, event and heartbeat survives encode then decode', () => {
  const messages: ServerMessage[] = [
    { kind: 'loginResult', reqId: '1', ok: true, sessionId: 'S-1', model: 'Voyant 2313' },
    { kind: 'loginResult', reqId: '1', ok: false, detail: 'bad password' },
    { kind: 'loginResult', reqId: '1', ok: false },
    { kind: 'registerResult', ok: true },
    { kind: 'registerResult', ok: false, detail: 'unknown session' },
    { kind: 'registerResult', ok: false },
    { kind: 'reply', reqId: '2', op: 'createConference', reply: { bridgeConfId: 'C17' } },
    { kind: 'reply', reqId: '3', op: 'snapshot', reply: SAMPLE_SNAPSHOT },
    { kind: 'reply', reqId: '4', op: 'snapshot', reply: { ...SAMPLE_SNAPSHOT, conferences: [] } },
    ...SAMPLE_COMMANDS.filter((c) => c.op !== 'createConference' && c.op !== 'snapshot').map(
      (c, i): ServerMessage => ({ kind: 'reply', reqId: '10' + i, op: c.op, reply: undefined } as ServerMessage),
    ),
    { kind: 'failure', reqId: '5', op: 'mute', code: 'BRIDGE_ERR_PORT_NOT_FOUND', detail: 'no caller on 1/1' },
    { kind: 'failure', reqId: '6', code: 'BRIDGE_ERR_PROTOCOL' },
    { kind: 'heartbeat', at: 1_795_000_000_123, ports: { total: 1344, inUse: 12, reserved: 0 } },
    ...SAMPLE_EVENTS.map((event, i): ServerMessage => ({ kind: 'event', seq: i + 1, event })),
  ];
  for (const m of messages) assert.deepEqual(roundTripServer(m), m);
});

test('each BridgeError code the bridge can give has its own result code, and back', () => {
  for (const [wire, code] of Object.entries(RESULT_CODES)) {
    assert.equal(resultCodeOf(code), wire);
    const m: ServerMessage = { kind: 'failure', reqId: '1', op: 'endConference', code };
    assert.deepEqual(roundTripServer(m), m);
  }
  const driverOnly = (Object.keys(BRIDGE_ERROR_CODES) as BridgeErrorCode[]).filter(
    (code) => !Object.values(RESULT_CODES).includes(code as never),
  );
  assert.deepEqual(driverOnly.sort(), ['BRIDGE_ERR_CLOSED', 'BRIDGE_ERR_LINK_DOWN', 'BRIDGE_ERR_TIMEOUT']);
  for (const code of driverOnly) assert.equal(resultCodeOf(code), 'REFUSED');
});

test('the wire form matches the documented examples', () => {
  assert.equal(
    payloadOf(encodeClientMessage({ kind: 'command', reqId: '7', command: { op: 'mute', bridgeConfId: 'C17', port: '1/2', muted: true } })).toString(),
    '<MUTE_PART reqId="7" confId="C17" port="1/2" muted="true"/>',
  );
  assert.equal(
    payloadOf(encodeServerMessage({ kind: 'event', seq: 42, event: { type: 'talking', bridgeConfId: 'C17', port: '1/2', legId: 'L9', talking: true } })).toString(),
    '<PART_TALKING_STARTED seq="42" confId="C17" port="1/2" legId="L9"/>',
  );
  assert.equal(
    payloadOf(encodeServerMessage({ kind: 'failure', reqId: '8', op: 'endConference', code: 'BRIDGE_ERR_CONF_NOT_FOUND' })).toString(),
    '<END_CONF_RESP reqId="8" result="CONF_NOT_FOUND"/>',
  );
});

test('messages outside the catalogue are CodecErrors, never anything else', () => {
  const bad = [
    '', 'not xml', '<HEARTBEAT at="1" portsTotal="1" portsInUse="1"/>',
    '<HEARTBEAT at="-1" portsTotal="1" portsInUse="1" portsReserved="0"/>',
    '<HEARTBEAT at="1e3" portsTotal="1" portsInUse="1" portsReserved="0"/>',
    '<NOPE/>', '<MUTE_PART_RESP reqId="1" result="WHATEVER"/>', '<MUTE_PART_RESP reqId="1" result="toString"/>',
    '<PART_MUTE_CHANGED seq="1" confId="C" port="1/1" legId="L" muted="yes" by="KEYPAD"/>',
    '<PART_MUTE_CHANGED seq="1" confId="C" port="1/1" legId="L" muted="true" by="ELBOW"/>',
    '<DIALOUT_FAILED seq="1" confId="C" dialOutId="d" cause="ANSWERED"/>',
    '<GET_CONF_SNAPSHOT_RESP reqId="1" result="OK"/>',
    '<GET_CONF_SNAPSHOT_RESP reqId="1" result="OK"><SNAPSHOT takenAt="1" eventSeq="1" portsTotal="1" portsInUse="0" portsReserved="0"><CONF/></SNAPSHOT></GET_CONF_SNAPSHOT_RESP>',
    '<LOGIN_RESP reqId="1" result="MAYBE"/>',
    '<!DOCTYPE x [<!ENTITY a "b">]><HEARTBEAT/>',
  ];
  for (const text of bad) {
    assert.throws(() => decodeServerMessage(xml(text)), CodecError, text);
  }
  for (const text of ['<LOGIN reqId="1" user="u"/>', '<MUTE_PART reqId="1" confId="C"/>', '<FLY reqId="1"/>', '<NOTIFY_REGISTER/>']) {
    assert.throws(() => decodeClientMessage(xml(text)), CodecError, text);
  }
});

test('the request id of an undecodable request is still found for ERROR_RESP', () => {
  assert.equal(requestIdOf(xml('<FLY reqId="12" to="moon"/>')), '12');
  assert.equal(requestIdOf(xml('<FLY reqId="a b"/>')), undefined);
  assert.equal(requestIdOf(xml('<FLY/>')), undefined);
  assert.equal(requestIdOf(xml('<<<')), undefined);
});

test('data XML cannot carry fails to encode with a CodecError', () => {
  assert.throws(
    () => encodeClientMessage({ kind: 'command', reqId: '1', command: { op: 'passthrough', bridgeConfId: 'C', data: 'a\u0001b' } }),
    CodecError,
  );
});

test('encodeFrame prefixes the payload length', () => {
  const frame = encodeFrame('<A/>');
  assert.deepEqual([...frame.subarray(0, 8)], [0x43, 0x58, 0x00, 0x01, 0, 0, 0, 4]);
});
