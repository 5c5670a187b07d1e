/**
 * The message catalogue: ONE table of every TSP message (spec 3), both directions, with each
 * attribute's wire form, whether it is required, and whether its name is the guide's or ours.
 *
 * Everything else is derived from this table: the DTD text (dtd.ts), the TypeScript message
 * types (messages.ts), the decoder's lookup tables and value rules, the encoder, the docs'
 * list and the tests' fixtures. Adding a message or an attribute here is the whole change.
 */
import { CONFIRMATION_RESULTS, RESPONSE_RESULTS } from './codes.js';

/** [guide] names are Cisco's and fixed; [modeled] names are ours and a dialect may rename them. */
export type Provenance = 'guide' | 'modeled';
export type Direction = 'W2A' | 'A2W';
/** request: asks the receiver to act; response: answers one (echoes its MsgID); notification: tells. */
export type MessageKind = 'request' | 'response' | 'notification';

/** How a value is spelled on the wire. The DTD checks what it can; value rules check the rest. */
export type ValueSpec =
  /** Opaque identifier (MsgID, ExtConfID, ExtCallID): non-empty unless `allowEmpty`. */
  | { readonly type: 'id'; readonly allowEmpty?: true }
  /** `0`/`1`, decoded to boolean. */
  | { readonly type: 'flag' }
  /** `True`/`False` (the Hybrid attributes), decoded to boolean. */
  | { readonly type: 'bool' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'code'; readonly values: readonly number[] }
  | { readonly type: 'int'; readonly max: number }
  | { readonly type: 'text'; readonly maxLength: number }
  /** Digits, 4 to 16. */
  | { readonly type: 'confKey' }
  /** `CountryCode,AreaCode,LocalNumber`, at most 63 characters. */
  | { readonly type: 'phone' }
  /** `P<n>` / `D<digits,#,*>` tokens ending in `P0`, at most 255 characters. */
  | { readonly type: 'nbrSequence' }
  /** http(s) URL of at most 1024 characters; `policy`: also the caller's WebEx host allow-list. */
  | { readonly type: 'url'; readonly policy: boolean };

export type ValueType = ValueSpec['type'];
export type AttributeSpec = ValueSpec & { readonly required: boolean };

/** Every command attribute name, with its provenance. A name used as [guide] anywhere is [guide]. */
export const ATTRIBUTES = {
  MsgID: 'guide',
  ExtConfID: 'guide',
  ExtCallID: 'guide',
  WbxHostName: 'guide',
  Result: 'guide',
  Status: 'guide',
  Data: 'guide',
  HybridSDKEnabled: 'guide',
  HybridSDKToken: 'guide',
  AdhocInstall: 'guide',
  SeamlessSwitchEnabled: 'guide',
  HybridClientURL: 'guide',
  HybridConnectData: 'guide',
  AppDetection: 'guide',
  ConfKey: 'modeled',
  AttendeeCount: 'modeled',
  TollCallIn: 'modeled',
  TollFreeCallIn: 'modeled',
  DomesticCallBack: 'modeled',
  IntlCallBack: 'modeled',
  EntryTone: 'modeled',
  SilentJoin: 'modeled',
  MuteOnEntry: 'modeled',
  Lock: 'modeled',
  Mute: 'modeled',
  ExceptExtCallID: 'modeled',
  ApplyToNewCallers: 'modeled',
  PhoneNumber: 'modeled',
  Name: 'modeled',
  CallType: 'modeled',
  Confirm: 'modeled',
  SubConfID: 'modeled',
  TollNumber: 'modeled',
  TollFreeNumber: 'modeled',
  AccessCode: 'modeled',
  GlobalNumberURL: 'modeled',
  RedirectURL: 'modeled',
  NBRNumber: 'modeled',
  NBRSequence: 'modeled',
  CallerID: 'modeled',
  DialedNumber: 'modeled',
  UserType: 'modeled',
  MuteBy: 'modeled',
  Speaking: 'modeled',
  Reason: 'modeled',
} as const satisfies Record<string, Provenance>;

export type AttributeName = keyof typeof ATTRIBUTES;

export interface MessageSpec {
  readonly direction: Direction;
  readonly kind: MessageKind;
  readonly provenance: Provenance;
  /** The element that answers this one, if any. */
  readonly response: string | null;
  readonly attributes: { readonly [A in AttributeName]?: AttributeSpec };
}

/** Limits the spec states (3, 3.1, 3.4, 3.6) or that this project sets for unbounded text. */
export const LIMITS = {
  /** Modeled: bounds identifiers the adaptor stores (TransID memory, conference maps). */
  ID_MAX_CHARS: 255,
  PHONE_MAX_CHARS: 63,
  NBR_SEQUENCE_MAX_CHARS: 255,
  URL_MAX_CHARS: 1024,
  DATA_MAX_CHARS: 1024,
  HYBRID_TOKEN_MAX_CHARS: 128,
  /** Modeled: names and other free text the spec leaves unbounded. */
  NAME_MAX_CHARS: 255,
  SUB_CONF_MAX: 100,
  ATTENDEE_COUNT_MAX: 100_000,
} as const;

const req = <const S extends ValueSpec>(spec: S) => ({ ...spec, required: true as const });
const opt = <const S extends ValueSpec>(spec: S) => ({ ...spec, required: false as const });

const ID = { type: 'id' } as const;
const FLAG = { type: 'flag' } as const;
const BOOL = { type: 'bool' } as const;
const PHONE = { type: 'phone' } as const;
const URL = { type: 'url', policy: false } as const;
const HOST_URL = { type: 'url', policy: true } as const;
const NAME = { type: 'text', maxLength: LIMITS.NAME_MAX_CHARS } as const;
const NUMBER_TEXT = { type: 'text', maxLength: LIMITS.PHONE_MAX_CHARS } as const;
const DATA = { type: 'text', maxLength: LIMITS.DATA_MAX_CHARS } as const;
const RESPONSE_RESULT = { type: 'code', values: RESPONSE_RESULTS } as const;

const CONF = { MsgID: req(ID), ExtConfID: req(ID) } as const;
const CALL = { ...CONF, ExtCallID: req(ID) } as const;
/** Every W2A request may say where its response goes (spec 3). */
const REPLY_TO = { WbxHostName: opt(HOST_URL) } as const;
const RSP_CONF = { ...CONF, Result: req(RESPONSE_RESULT) } as const;
const RSP_CALL = { ...CALL, Result: req(RESPONSE_RESULT) } as const;
/** The Hybrid Audio attributes (spec 3.6). */
const HYBRID = {
  HybridSDKEnabled: opt(BOOL),
  HybridSDKToken: opt({ type: 'text', maxLength: LIMITS.HYBRID_TOKEN_MAX_CHARS }),
  AdhocInstall: opt(BOOL),
  SeamlessSwitchEnabled: opt(BOOL),
  HybridClientURL: opt(URL),
  HybridConnectData: opt(DATA),
  AppDetection: opt(DATA),
} as const;

export const MESSAGES = {
  // 3.1 Conference life
  W2A_CreateConference: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'guide',
    response: 'A2W_RspCreateConference',
    attributes: {
      ...CONF,
      ConfKey: req({ type: 'confKey' }),
      WbxHostName: req(HOST_URL),
      AttendeeCount: opt({ type: 'int', max: LIMITS.ATTENDEE_COUNT_MAX }),
      TollCallIn: opt(FLAG),
      TollFreeCallIn: opt(FLAG),
      DomesticCallBack: opt(FLAG),
      IntlCallBack: opt(FLAG),
      EntryTone: opt({ type: 'code', values: [0, 1, 2] }),
      SilentJoin: opt(FLAG),
      MuteOnEntry: opt(FLAG),
      ...HYBRID,
    },
  },
  A2W_RspCreateConference: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'guide',
    response: null,
    attributes: {
      ...RSP_CONF,
      TollNumber: opt(PHONE),
      TollFreeNumber: opt(PHONE),
      AccessCode: opt(NUMBER_TEXT),
      GlobalNumberURL: opt(URL),
      // A peer adaptor from the operator's configuration, never a value WebEx sent: the WebEx-host
      // allow-list is not its policy, only the URL rules are.
      RedirectURL: opt(URL),
      ...HYBRID,
    },
  },
  W2A_EndConference: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'modeled',
    response: 'A2W_RspEndConference',
    attributes: { ...CONF, ...REPLY_TO },
  },
  A2W_RspEndConference: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'modeled',
    response: null,
    attributes: RSP_CONF,
  },
  W2A_LockConference: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'modeled',
    response: 'A2W_RspLockConference',
    attributes: { ...CONF, Lock: req(FLAG), ...REPLY_TO },
  },
  A2W_RspLockConference: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'modeled',
    response: null,
    attributes: RSP_CONF,
  },
  W2A_KeepAliveConference: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'modeled',
    response: null,
    attributes: { ...CONF, ...REPLY_TO },
  },
  A2W_NotifyConferenceChange: {
    direction: 'A2W',
    kind: 'notification',
    provenance: 'guide',
    response: null,
    attributes: {
      ...CONF,
      // 5 ("MP") is never sent by us but accepted on input.
      Status: req({ type: 'code', values: [0, 1, 2, 3, 4, 5, 6] }),
      NBRNumber: opt(PHONE),
      NBRSequence: opt({ type: 'nbrSequence' }),
      HybridConnectData: opt(DATA),
    },
  },
  // 3.2 Callers
  A2W_NotifyUserEnter: {
    direction: 'A2W',
    kind: 'notification',
    provenance: 'guide',
    response: 'W2A_RspNotifyUserEnter',
    attributes: {
      ...CONF,
      // Empty for a caller who dialled in: WebEx assigns it in W2A_RspNotifyUserEnter.
      ExtCallID: req({ type: 'id', allowEmpty: true }),
      CallerID: opt(NUMBER_TEXT),
      DialedNumber: opt(NUMBER_TEXT),
      Name: opt(NAME),
      Mute: opt(FLAG),
      UserType: opt({ type: 'enum', values: ['Phone', 'VoIP'] }),
    },
  },
  W2A_RspNotifyUserEnter: {
    direction: 'W2A',
    kind: 'response',
    provenance: 'guide',
    response: null,
    attributes: CALL,
  },
  A2W_NotifyUserChange: {
    direction: 'A2W',
    kind: 'notification',
    provenance: 'guide',
    response: null,
    attributes: {
      ...CALL,
      Status: req({ type: 'code', values: [0, 1, 2, 3] }),
      Mute: opt(FLAG),
      MuteBy: opt({ type: 'enum', values: ['Host', 'Self', 'Policy', 'Bridge'] }),
      Speaking: opt(FLAG),
      SubConfID: opt({ type: 'int', max: LIMITS.SUB_CONF_MAX }),
      Reason: opt({ type: 'enum', values: ['Hangup', 'Expelled', 'Dropped', 'ConferenceEnded'] }),
    },
  },
  W2A_MuteUser: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'modeled',
    response: 'A2W_RspMuteUser',
    attributes: { ...CALL, Mute: req(FLAG), ...REPLY_TO },
  },
  A2W_RspMuteUser: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'modeled',
    response: null,
    attributes: RSP_CALL,
  },
  W2A_MuteConference: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'modeled',
    response: 'A2W_RspMuteConference',
    attributes: {
      ...CONF,
      Mute: req(FLAG),
      ExceptExtCallID: opt(ID),
      ApplyToNewCallers: opt(FLAG),
      ...REPLY_TO,
    },
  },
  A2W_RspMuteConference: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'modeled',
    response: null,
    attributes: RSP_CONF,
  },
  W2A_ExpelUser: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'modeled',
    response: 'A2W_RspExpelUser',
    attributes: { ...CALL, ...REPLY_TO },
  },
  A2W_RspExpelUser: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'modeled',
    response: null,
    attributes: RSP_CALL,
  },
  W2A_Callout: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'guide',
    response: 'A2W_RspCallout',
    attributes: {
      ...CALL,
      PhoneNumber: req(PHONE),
      Name: opt(NAME),
      CallType: opt({ type: 'enum', values: ['CallOut', 'CallBack'] }),
      Confirm: opt(FLAG),
      SilentJoin: opt(FLAG),
      ...REPLY_TO,
    },
  },
  A2W_RspCallout: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'guide',
    response: null,
    attributes: RSP_CALL,
  },
  // 3.3 Sub-conferences
  W2A_AddToSubConference: {
    direction: 'W2A',
    kind: 'request',
    provenance: 'guide',
    response: 'A2W_RspAddToSubConference',
    attributes: { ...CALL, SubConfID: req({ type: 'int', max: LIMITS.SUB_CONF_MAX }), ...REPLY_TO },
  },
  A2W_RspAddToSubConference: {
    direction: 'A2W',
    kind: 'response',
    provenance: 'modeled',
    response: null,
    attributes: RSP_CALL,
  },
  // 3.4 Hybrid passthrough
  W2A_CSPClientPassthrough: {
    direction: 'W2A',
    kind: 'notification',
    provenance: 'guide',
    response: null,
    attributes: { ...CALL, Data: req(DATA) },
  },
  A2W_CSPClientPassthrough: {
    direction: 'A2W',
    kind: 'notification',
    provenance: 'guide',
    response: null,
    attributes: { ...CALL, Data: req(DATA) },
  },
} as const satisfies Record<string, MessageSpec>;

export type MessageType = keyof typeof MESSAGES;
export const MESSAGE_TYPES = Object.keys(MESSAGES) as MessageType[];

/** The envelope (spec 2) is [guide] throughout and never renamed by a dialect. */
export const ENVELOPE = {
  root: 'WbxTSPSchema',
  name: 'WTSPDOM',
  version: '1.0',
  transId: 'TransID',
  confirmation: 'Confirmation',
  /** The Confirmation's only attribute. */
  result: 'Result',
  /** TransID is stored for de-duplication: the same bound as the other identifiers. */
  transIdSpec: { type: 'id', required: true },
  confirmationResult: { type: 'code', values: CONFIRMATION_RESULTS, required: true },
} as const;

/** The catalogue entry of an element, typed loosely for table-driven code. */
export function specOf(type: MessageType): MessageSpec {
  return MESSAGES[type];
}

/** The attributes of a message in catalogue order, for table-driven code. */
export function attributesOf(type: MessageType): ReadonlyArray<readonly [AttributeName, AttributeSpec]> {
  return Object.entries(specOf(type).attributes) as Array<[AttributeName, AttributeSpec]>;
}
