/**
 * How conferences look on the live feed: the engine's records cut down to what an operator
 * reads (no held messages, no policy internals) and with phone numbers masked as in the logs,
 * since a feed ends up on screens and in screenshots. Pure functions.
 */
import type { ConferenceState, ConferenceStatus, MuteBy } from '../conference/state.js';
import { maskPhoneNumber } from '../log.js';

export interface JoinedCallerView {
  phase: 'joined';
  legId: string;
  port: string;
  /** MsgID of the A2W_NotifyUserEnter that announced the caller. */
  enterMsgID: string;
  /** Undefined until WebEx named the caller. */
  extCallID?: string;
  name?: string;
  callerId?: string;
  dialledNumber?: string;
  muted: boolean;
  mutedBy: MuteBy;
  speaking: boolean;
  subConfId: number;
  /** Set when the caller came in through a dial-out. */
  dialOutId?: string;
}

export interface DialingCallerView {
  phase: 'dialing';
  extCallID: string;
  dialOutId: string;
  number: string;
  name?: string;
  state: 'ringing' | 'answered';
  startedAt: number;
}

export type CallerView = JoinedCallerView | DialingCallerView;

export interface ConferenceView {
  confId: string;
  extConfID: string;
  confKey: string;
  bridgeId: string;
  bridgeConfId?: string;
  status: ConferenceStatus;
  attendeeCount: number;
  /** A W2A_MuteConference in force. */
  muteAll?: { muted: boolean; applyToNewCallers: boolean; exceptExtCallID?: string };
  lastActivityAt: number;
  endedAt?: number;
  callers: CallerView[];
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function conferenceView(conf: Readonly<ConferenceState>): ConferenceView {
  const callers: CallerView[] = [];
  for (const c of conf.callers) {
    if (c.phase === 'joined') {
      callers.push({
        phase: 'joined', legId: c.legId, port: c.port, enterMsgID: c.enterMsgID, muted: c.muted, mutedBy: c.mutedBy, speaking: c.speaking, subConfId: c.subConfId,
        ...optional('extCallID', c.extCallID), ...optional('name', c.name), ...optional('dialOutId', c.dialOutId),
        ...optional('callerId', c.callerId === undefined ? undefined : maskPhoneNumber(c.callerId)),
        ...optional('dialledNumber', c.dialledNumber === undefined ? undefined : maskPhoneNumber(c.dialledNumber)),
      });
    } else if (c.phase === 'dialing') {
      callers.push({
        phase: 'dialing', extCallID: c.extCallID, dialOutId: c.dialOutId, number: maskPhoneNumber(c.number), state: c.state,
        startedAt: c.startedAt, ...optional('name', c.name),
      });
    }
  }
  return {
    confId: conf.confId, extConfID: conf.extConfID, confKey: conf.confKey, bridgeId: conf.bridgeId, status: conf.status,
    attendeeCount: conf.attendeeCount, lastActivityAt: conf.lastActivityAt, callers,
    ...optional('bridgeConfId', conf.bridgeConfId), ...optional('endedAt', conf.endedAt),
    ...optional('muteAll', conf.muteAll && { ...conf.muteAll }),
  };
}
