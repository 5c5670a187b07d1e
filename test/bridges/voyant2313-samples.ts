/**
 * One sample of every message of the 2313 protocol, with every optional field both present and
 * absent, shared by the codec tests and the end-to-end tests.
 */
import type { BridgeCommand, BridgeEvent, BridgeSnapshot } from '../../src/bridges/driver.js';

const CONF = 'C17';

export const SAMPLE_COMMANDS: BridgeCommand[] = [
  { op: 'createConference', options: { confKey: '4711', entryTone: 'beep', silentJoin: false, muteOnEntry: true } },
  { op: 'createConference', options: { confKey: '0815', entryTone: 'none', silentJoin: true, muteOnEntry: false } },
  { op: 'createConference', options: { confKey: '9', entryTone: 'announce', silentJoin: false, muteOnEntry: false } },
  { op: 'endConference', bridgeConfId: CONF },
  { op: 'lockConference', bridgeConfId: CONF, locked: true },
  { op: 'lockConference', bridgeConfId: CONF, locked: false },
  { op: 'mute', bridgeConfId: CONF, port: '1/1', muted: true },
  { op: 'mute', bridgeConfId: CONF, port: '56/24', muted: false },
  { op: 'muteAll', bridgeConfId: CONF, muted: true, exceptPort: '2/3', applyToNewCallers: true },
  { op: 'muteAll', bridgeConfId: CONF, muted: false, applyToNewCallers: false },
  { op: 'expel', bridgeConfId: CONF, port: '3/4' },
  { op: 'dialOut', bridgeConfId: CONF, dialOutId: 'd-1', number: '1,303,5551234', name: 'Ann & "Bob" <x>', confirm: true, silent: false },
  { op: 'dialOut', bridgeConfId: CONF, dialOutId: 'd-2', number: '49,89,123', confirm: false, silent: true },
  { op: 'cancelDialOut', bridgeConfId: CONF, dialOutId: 'd-1' },
  { op: 'moveToSubConference', bridgeConfId: CONF, port: '1/2', subConfId: 3 },
  { op: 'moveToSubConference', bridgeConfId: CONF, port: '1/2', subConfId: 0 },
  { op: 'playTone', bridgeConfId: CONF, tone: 'beep' },
  { op: 'playTone', bridgeConfId: CONF, port: '1/2', tone: 'announce' },
  { op: 'passthrough', bridgeConfId: CONF, data: 'opaque\n\tdata ünïcödé 😀' },
  { op: 'passthrough', bridgeConfId: CONF, port: '1/2', data: '' },
  { op: 'snapshot' },
];

const LEG = { bridgeConfId: CONF, port: '7/9', legId: 'L-42' };

export const SAMPLE_EVENTS: BridgeEvent[] = [
  { type: 'callerJoined', ...LEG, callerId: '3035551234', dialledNumber: '8005550000', name: 'Ann', muted: false, subConfId: 0 },
  { type: 'callerJoined', ...LEG, muted: true, subConfId: 2, dialOutId: 'd-1' },
  { type: 'callerLeft', ...LEG, reason: 'hangup' },
  { type: 'callerLeft', ...LEG, reason: 'expelled' },
  { type: 'callerLeft', ...LEG, reason: 'dropped' },
  { type: 'callerLeft', ...LEG, reason: 'conference-ended' },
  { type: 'muteChanged', ...LEG, muted: true, by: 'keypad' },
  { type: 'muteChanged', ...LEG, muted: false, by: 'command' },
  { type: 'muteChanged', ...LEG, muted: true, by: 'bridge' },
  { type: 'talking', ...LEG, talking: true },
  { type: 'talking', ...LEG, talking: false },
  { type: 'dtmf', ...LEG, digits: '1#*' },
  { type: 'subConferenceChanged', ...LEG, subConfId: 4 },
  ...(['ringing', 'answered', 'busy', 'no-answer', 'rejected', 'invalid', 'failed', 'cancelled'] as const).map(
    (state): BridgeEvent => ({ type: 'dialOut', bridgeConfId: CONF, dialOutId: 'd-1', state, port: '5/5' }),
  ),
  { type: 'dialOut', bridgeConfId: CONF, dialOutId: 'd-2', state: 'invalid' },
  ...(['started', 'locked', 'unlocked', 'ended'] as const).map(
    (state): BridgeEvent => ({ type: 'conferenceChanged', bridgeConfId: CONF, state }),
  ),
  { type: 'ports', usage: { total: 1344, inUse: 350, reserved: 24 } },
  { type: 'passthrough', bridgeConfId: CONF, data: '<hybrid a="1"/>' },
  { type: 'passthrough', bridgeConfId: CONF, port: '1/1', data: 'x' },
];

export const SAMPLE_SNAPSHOT: BridgeSnapshot = {
  takenAt: 1_795_000_000_000,
  eventSeq: 1234,
  ports: { total: 1344, inUse: 3, reserved: 24 },
  conferences: [
    {
      bridgeConfId: CONF,
      options: { confKey: '4711', entryTone: 'beep', silentJoin: false, muteOnEntry: false },
      locked: true,
      muteAll: { muted: true, exceptPort: '1/1', applyToNewCallers: true },
      callers: [
        { port: '1/1', legId: 'L1', callerId: '303', dialledNumber: '800', name: 'Ann', muted: false, mutedBy: 'command', talking: true, subConfId: 0 },
        { port: '1/2', legId: 'L2', muted: true, mutedBy: 'keypad', talking: false, subConfId: 2, dialOutId: 'd-9' },
      ],
      dialOuts: [
        { dialOutId: 'd-1', number: '1,303,5551234', state: 'ringing' },
        { dialOutId: 'd-3', number: '1,303,5551235', state: 'ringing', port: '1/3' },
      ],
    },
    {
      bridgeConfId: 'C18',
      options: { confKey: '1', entryTone: 'none', silentJoin: true, muteOnEntry: true },
      locked: false,
      callers: [],
      dialOuts: [],
    },
  ],
};
