/**
 * One fully populated sample of every TSP message, typed so that a message added to the
 * catalogue fails to compile here until it has a sample, plus small helpers the protocol tests
 * share. Values follow the spec's examples.
 */
import { MESSAGES, type MessageOf, type MessageType, type TspMessage } from '../../src/protocol/index.js';

const HOST = 'https://tsp1.webex.example/wbxtsp';
const HYBRID = {
  HybridSDKEnabled: true,
  HybridSDKToken: 'tok-123',
  AdhocInstall: false,
  SeamlessSwitchEnabled: true,
  HybridClientURL: 'https://hybrid.example/client',
  HybridConnectData: 'Y29ubmVjdA==',
  AppDetection: 'auto',
} as const;

export const SAMPLES: { [T in MessageType]: MessageOf<T> } = {
  W2A_CreateConference: {
    type: 'W2A_CreateConference', MsgID: '1', ExtConfID: '5512', ConfKey: '12345678', WbxHostName: HOST,
    AttendeeCount: 25, TollCallIn: true, TollFreeCallIn: false, DomesticCallBack: true, IntlCallBack: false,
    EntryTone: 2, SilentJoin: false, MuteOnEntry: true, ...HYBRID,
  },
  A2W_RspCreateConference: {
    type: 'A2W_RspCreateConference', MsgID: '1', ExtConfID: '5512', Result: 50, TollNumber: '1,408,5550100',
    TollFreeNumber: '1,800,5550199', AccessCode: '12345678', GlobalNumberURL: 'https://numbers.example/global',
    RedirectURL: 'https://adaptor2.webex.example/tsp', ...HYBRID,
  },
  W2A_EndConference: { type: 'W2A_EndConference', MsgID: '2', ExtConfID: '5512', WbxHostName: HOST },
  A2W_RspEndConference: { type: 'A2W_RspEndConference', MsgID: '2', ExtConfID: '5512', Result: 13 },
  W2A_LockConference: { type: 'W2A_LockConference', MsgID: '3', ExtConfID: '5512', Lock: true, WbxHostName: HOST },
  A2W_RspLockConference: { type: 'A2W_RspLockConference', MsgID: '3', ExtConfID: '5512', Result: 0 },
  W2A_KeepAliveConference: { type: 'W2A_KeepAliveConference', MsgID: '4', ExtConfID: '5512', WbxHostName: HOST },
  A2W_NotifyConferenceChange: {
    type: 'A2W_NotifyConferenceChange', MsgID: '5', ExtConfID: '5512', Status: 4, NBRNumber: '1,408,5550123',
    NBRSequence: 'P15D123456789#P10D1234#P0', HybridConnectData: 'abc',
  },
  A2W_NotifyUserEnter: {
    type: 'A2W_NotifyUserEnter', MsgID: '6', ExtConfID: '5512', ExtCallID: '', CallerID: '14085550100',
    DialedNumber: '18005550199', Name: 'Ana Lima', Mute: false, UserType: 'Phone',
  },
  W2A_RspNotifyUserEnter: { type: 'W2A_RspNotifyUserEnter', MsgID: '6', ExtConfID: '5512', ExtCallID: '77' },
  A2W_NotifyUserChange: {
    type: 'A2W_NotifyUserChange', MsgID: '7', ExtConfID: '5512', ExtCallID: '77', Status: 1, Mute: true,
    MuteBy: 'Host', Speaking: false, SubConfID: 2, Reason: 'Expelled',
  },
  W2A_MuteUser: { type: 'W2A_MuteUser', MsgID: '88', ExtConfID: '5512', ExtCallID: '77', Mute: true, WbxHostName: HOST },
  A2W_RspMuteUser: { type: 'A2W_RspMuteUser', MsgID: '88', ExtConfID: '5512', ExtCallID: '77', Result: 20 },
  W2A_MuteConference: {
    type: 'W2A_MuteConference', MsgID: '9', ExtConfID: '5512', Mute: true, ExceptExtCallID: '77',
    ApplyToNewCallers: true, WbxHostName: HOST,
  },
  A2W_RspMuteConference: { type: 'A2W_RspMuteConference', MsgID: '9', ExtConfID: '5512', Result: 0 },
  W2A_ExpelUser: { type: 'W2A_ExpelUser', MsgID: '10', ExtConfID: '5512', ExtCallID: '77', WbxHostName: HOST },
  A2W_RspExpelUser: { type: 'A2W_RspExpelUser', MsgID: '10', ExtConfID: '5512', ExtCallID: '77', Result: 0 },
  W2A_Callout: {
    type: 'W2A_Callout', MsgID: '11', ExtConfID: '5512', ExtCallID: '78', PhoneNumber: '1,408,5550100',
    Name: 'Bo <Chen> & "co"', CallType: 'CallBack', Confirm: true, SilentJoin: false, WbxHostName: HOST,
  },
  A2W_RspCallout: { type: 'A2W_RspCallout', MsgID: '11', ExtConfID: '5512', ExtCallID: '78', Result: 42 },
  W2A_AddToSubConference: {
    type: 'W2A_AddToSubConference', MsgID: '12', ExtConfID: '5512', ExtCallID: '77', SubConfID: 0, WbxHostName: HOST,
  },
  A2W_RspAddToSubConference: { type: 'A2W_RspAddToSubConference', MsgID: '12', ExtConfID: '5512', ExtCallID: '77', Result: 0 },
  W2A_CSPClientPassthrough: { type: 'W2A_CSPClientPassthrough', MsgID: '13', ExtConfID: '5512', ExtCallID: '77', Data: 'aGVsbG8=' },
  A2W_CSPClientPassthrough: { type: 'A2W_CSPClientPassthrough', MsgID: '14', ExtConfID: '5512', ExtCallID: '77', Data: 'd29ybGQ=' },
};

export const ALL_TYPES = Object.keys(MESSAGES) as MessageType[];
export const W2A_TYPES = ALL_TYPES.filter((t) => MESSAGES[t].direction === 'W2A');

/** The sample with only its required attributes. */
export function minimal(type: MessageType): TspMessage {
  const attributes = MESSAGES[type].attributes as Record<string, { required: boolean }>;
  const sample = SAMPLES[type] as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { type };
  for (const [name, spec] of Object.entries(attributes)) if (spec.required) out[name] = sample[name];
  return out as unknown as TspMessage;
}

/** A hand-written document in the guide's style: attributes as given, one command. */
export function document(element: string, attributes: string, transId = 'wbx-000172'): string {
  return `<WbxTSPSchema Name="WTSPDOM" Version="1.0">\n  <TransID>${transId}</TransID>\n  <${element} ${attributes}></${element}>\n</WbxTSPSchema>\n`;
}

export const MUTE = 'MsgID="88" ExtConfID="5512" ExtCallID="77" Mute="1"';
