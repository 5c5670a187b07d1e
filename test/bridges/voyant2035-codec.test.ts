/**
 * The 2035 codec: every command, reply, event, heartbeat and refusal survives the trip through
 * the wire in both directions (the driver and the emulator share it), and bad lines are refused
 * with BRIDGE_ERR_PROTOCOL instead of being half-read.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { BridgeCommand, BridgeEvent, BridgeEventType, BridgeOp, BridgeSnapshot } from '../../src/bridges/driver.js';
import { BRIDGE_ERROR_CODES, BridgeError, isBridgeError, type BridgeErrorCode } from '../../src/bridges/errors.js';
import {
  decodeBridgeLine, decodeClientLine, decodeReplyBody, encodeEvent, encodeFailure, encodeHeartbeat, encodeLogin,
  encodeReply, encodeRequest, type Voyant2035Reply,
} from '../../src/bridges/voyant2035/codec.js';

const COMMANDS: Record<Exclude<BridgeOp, 'passthrough'>, BridgeCommand> = {
  createConference: { op: 'createConference', options: { confKey: '12345', entryTone: 'announce', silentJoin: true, muteOnEntry: false } },
  endConference: { op: 'endConference', bridgeConfId: 'C1' },
  lockConference: { op: 'lockConference', bridgeConfId: 'C1', locked: true },
  mute: { op: 'mute', bridgeConfId: 'C1', port: '3/24', muted: false },
  muteAll: { op: 'muteAll', bridgeConfId: 'C1', muted: true, exceptPort: '1/1', applyToNewCallers: true },
  expel: { op: 'expel', bridgeConfId: 'C1', port: '1/2' },
  dialOut: { op: 'dialOut', bridgeConfId: 'C1', dialOutId: 'd-7', number: '1,408,5551234', name: 'Zoë O\'Neil = boss', confirm: true, silent: false },
  cancelDialOut: { op: 'cancelDialOut', bridgeConfId: 'C1', dialOutId: 'd-7' },
  moveToSubConference: { op: 'moveToSubConference', bridgeConfId: 'C1', port: '1/2', subConfId: 3 },
  playTone: { op: 'playTone', bridgeConfId: 'C1', tone: 'beep' },
  snapshot: { op: 'snapshot' },
};

const LEG = { bridgeConfId: 'C1', port: '1/2', legId: 'L9' };
const EVENTS: Record<Exclude<BridgeEventType, 'passthrough'>, BridgeEvent> = {
  callerJoined: { type: 'callerJoined', ...LEG, callerId: '4085551234', dialledNumber: '1,408,5550100', name: 'A B', muted: true, subConfId: 0 },
  callerLeft: { type: 'callerLeft', ...LEG, reason: 'conference-ended' },
  muteChanged: { type: 'muteChanged', ...LEG, muted: false, by: 'keypad' },
  talking: { type: 'talking', ...LEG, talking: true },
  dtmf: { type: 'dtmf', ...LEG, digits: '*6#' },
  subConferenceChanged: { type: 'subConferenceChanged', ...LEG, subConfId: 2 },
  dialOut: { type: 'dialOut', bridgeConfId: 'C1', dialOutId: 'd-7', state: 'no-answer' },
  conferenceChanged: { type: 'conferenceChanged', bridgeConfId: 'C1', state: 'locked' },
  ports: { type: 'ports', usage: { total: 1344, inUse: 350, reserved: 24 } },
};

const SNAPSHOT: BridgeSnapshot = {
  takenAt: 1_763_841_600_000,
  eventSeq: 42,
  ports: { total: 1344, inUse: 3, reserved: 24 },
  conferences: [
    {
      bridgeConfId: 'C1',
      options: { confKey: '12345', entryTone: 'beep', silentJoin: false, muteOnEntry: true },
      locked: true,
      muteAll: { muted: true, exceptPort: '1/1', applyToNewCallers: true },
      callers: [
        { port: '1/1', legId: 'L1', callerId: '4085551234', dialledNumber: '1,408,5550100', muted: false, mutedBy: 'command', talking: true, subConfId: 0 },
        { port: '1/2', legId: 'L2', name: 'dialled in', muted: true, mutedBy: 'keypad', talking: false, subConfId: 2, dialOutId: 'd-1' },
      ],
      dialOuts: [{ dialOutId: 'd-2', number: '1,212,5550000', state: 'ringing', port: '1/3' }],
    },
    { bridgeConfId: 'C2', options: { confKey: '999', entryTone: 'none', silentJoin: true, muteOnEntry: false }, locked: false, callers: [], dialOuts: [] },
  ],
};

/** What the driver's session does with a reply's lines: gather `+` records until OK. */
function readReply(text: string): Voyant2035Reply | BridgeError {
  const records: Voyant2035Reply['records'] = [];
  for (const line of text.trimEnd().split('\n').map(decodeBridgeLine)) {
    if (line.kind === 'data') records.push({ record: line.record, fields: line.fields });
    else if (line.kind === 'ok') return { fields: line.fields, records };
    else if (line.kind === 'no') return line.error;
  }
  throw new Error('no final line');
}

describe('Voyant 2035 codec', () => {
  it('round-trips every command through a request line', () => {
    for (const command of Object.values(COMMANDS)) {
      const line = encodeRequest('17', command);
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
      assert.deepEqual(decodeClientLine(line.slice(0, -1)), { kind: 'command', tag: '17', command });
    }
  });

  it('spells a request as documented', () => {
    assert.equal(encodeRequest('5', COMMANDS.muteAll), '5 MUTE.ALL conf=C1 muted=1 except=1/1 new=1\n');
    assert.equal(encodeRequest('6', COMMANDS.dialOut), "6 DIAL conf=C1 id=d-7 number=1,408,5551234 name=Zo%C3%AB%20O%27Neil%20%3D%20boss confirm=1 silent=0\n");
    assert.equal(encodeLogin('LOGIN', 'tsp', 'p w'), 'LOGIN LOGIN user=tsp pass=p%20w\n');
  });

  it('refuses to encode passthrough: the 2035 has no such verb', () => {
    assert.throws(() => encodeRequest('1', { op: 'passthrough', bridgeConfId: 'C1', data: 'x' }), (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
  });

  it('round-trips every event, keeping its sequence number', () => {
    for (const [i, event] of Object.values(EVENTS).entries()) {
      const line = encodeEvent(100 + i, event);
      assert.ok(line);
      assert.deepEqual(decodeBridgeLine(line.trimEnd()), { kind: 'event', seq: 100 + i, event });
    }
    assert.equal(encodeEvent(1, { type: 'passthrough', bridgeConfId: 'C1', data: 'x' }), undefined);
  });

  it('round-trips a multi-line snapshot reply', () => {
    const text = encodeReply('9', COMMANDS.snapshot, SNAPSHOT);
    assert.equal(text.split('\n').filter((l) => l.startsWith('9 + ')).length, 5);
    const reply = readReply(text);
    assert.ok(!(reply instanceof BridgeError));
    assert.deepEqual(decodeReplyBody(COMMANDS.snapshot, reply), SNAPSHOT);
  });

  it('round-trips createConference and the plain OK of the others', () => {
    const created = readReply(encodeReply('3', COMMANDS.createConference, { bridgeConfId: 'C77' }));
    assert.ok(!(created instanceof BridgeError));
    assert.deepEqual(decodeReplyBody(COMMANDS.createConference, created), { bridgeConfId: 'C77' });
    assert.equal(encodeReply('4', COMMANDS.mute, undefined), '4 OK\n');
  });

  it('carries every refusal code and its detail, without doubling the catalogue text', () => {
    for (const code of Object.keys(BRIDGE_ERROR_CODES) as BridgeErrorCode[]) {
      const error = readReply(encodeFailure('8', new BridgeError(code, 'port 1/2 detail')));
      assert.ok(error instanceof BridgeError);
      assert.equal(error.code, code);
      assert.equal(error.message, new BridgeError(code, 'port 1/2 detail').message);
    }
    assert.equal(encodeFailure('8', new BridgeError('BRIDGE_ERR_LOCKED')), '8 NO LOCKED\n');
    const stranger = decodeBridgeLine('8 NO WEIRD text=hm');
    assert.ok(stranger.kind === 'no' && stranger.error.code === 'BRIDGE_ERR_REFUSED');
  });

  it('reads heartbeats with port usage', () => {
    const line = encodeHeartbeat(5, { total: 1344, inUse: 12, reserved: 24 });
    assert.equal(line, '* HB at=5 total=1344 used=12 reserved=24\n');
    assert.deepEqual(decodeBridgeLine(line.trimEnd()), { kind: 'heartbeat', at: 5, ports: { total: 1344, inUse: 12, reserved: 24 } });
  });

  it('ignores fields it does not know, so a newer bridge can add some', () => {
    assert.deepEqual(decodeBridgeLine('* EVT 3 CONF conf=C1 state=started colour=blue'), {
      kind: 'event', seq: 3, event: { type: 'conferenceChanged', bridgeConfId: 'C1', state: 'started' },
    });
  });

  for (const bad of [
    '', ' 1 OK', '1  OK', '* EVT x CONF conf=C1 state=started', '* EVT 3 NOPE conf=C1', '* EVT 3 CONF conf=C1',
    '* EVT 3 CONF conf=C1 state=gone', '* EVT 3 TALK conf=C1 port=1/1 leg=L on=yes', '* HB at=1', '* WHAT',
    '1 MAYBE', 'way-too-long-a-tag-for-this OK', '1 OK conf', '1 OK a=1 a=2', '1 OK conf=%E0%A4%A', '1 +',
  ]) {
    it(`refuses the bridge line ${JSON.stringify(bad)}`, () => {
      assert.throws(() => decodeBridgeLine(bad), (e) => isBridgeError(e, 'BRIDGE_ERR_PROTOCOL'));
    });
  }

  it('answers a tagged but unreadable request as bad, and throws on an untagged one', () => {
    const bad = decodeClientLine('4 MUTE conf=C1 port=1/1 muted=maybe');
    assert.equal(bad.kind, 'bad');
    assert.equal(decodeClientLine('4 FLY').kind, 'bad');
    assert.throws(() => decodeClientLine('** MUTE'), (e) => isBridgeError(e, 'BRIDGE_ERR_PROTOCOL'));
  });

  it('a snapshot record for a conference it never named is refused', () => {
    const reply = readReply('9 + CALLER conf=C9 port=1/1 leg=L1 muted=0 by=command talking=0 sub=0\n9 OK seq=1 at=1 total=1 used=1 reserved=0\n');
    assert.ok(!(reply instanceof BridgeError));
    assert.throws(() => decodeReplyBody(COMMANDS.snapshot, reply), (e) => isBridgeError(e, 'BRIDGE_ERR_PROTOCOL'));
  });

  it('every example line in docs/voyant2035-protocol.md decodes', () => {
    const doc = readFileSync(new URL('../../docs/voyant2035-protocol.md', import.meta.url), 'utf8');
    const examples = doc.slice(doc.indexOf('## The snapshot'));
    const lines = [...examples.matchAll(/```\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').split('\n')).filter((l) => l !== '');
    assert.ok(lines.length > 20);
    for (const line of lines) {
      if (/^(\* |\S+ (OK|NO|\+)( |$))/.test(line)) assert.doesNotThrow(() => decodeBridgeLine(line), line);
      else assert.notEqual(decodeClientLine(line).kind, 'bad', line);
    }
  });
});
