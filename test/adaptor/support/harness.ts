/**
 * An engine wired to fakes (bridge, WebEx, clock) and helpers to talk to it the way WebEx does.
 */
import { pino } from 'pino';
import { Engine } from '../../../src/adaptor/engine.js';
import { withDefaults, type EngineOptionsInput } from '../../../src/adaptor/options.js';
import { MemoryStore } from '../../../src/adaptor/store/memory-store.js';
import type { Store } from '../../../src/adaptor/store/store.js';
import type { MessageOf, W2AMessage } from '../../../src/protocol/index.js';
import { FakeClock } from './fake-clock.js';
import { FakeDriver } from './fake-driver.js';
import { FakeWebex, jsonCodec } from './fake-webex.js';

export const WEBEX_URL = 'https://webex-a.test/tsp';
export const WEBEX_URL_B = 'https://webex-b.test/tsp';

export interface Harness {
  engine: Engine;
  clock: FakeClock;
  driver: FakeDriver;
  drivers: FakeDriver[];
  webex: FakeWebex;
  store: Store;
  /** Accepts one transaction (a fresh TransID unless given) and waits for everything it causes. */
  send(...messages: W2AMessage[]): Promise<number>;
  settle(): Promise<void>;
}

export interface HarnessOptions {
  store?: Store;
  drivers?: FakeDriver[];
  options?: EngineOptionsInput;
  clock?: FakeClock;
  webex?: FakeWebex;
}

let transCounter = 0;

export async function startEngine(o: HarnessOptions = {}): Promise<Harness> {
  const clock = o.clock ?? new FakeClock();
  const drivers = o.drivers ?? [new FakeDriver()];
  const webex = o.webex ?? new FakeWebex();
  const store = o.store ?? new MemoryStore();
  const options = withDefaults({ ...o.options, webex: { allowedHosts: ['https://webex-a.test', 'https://webex-b.test'], ...o.options?.webex } });
  const engine = new Engine({ store, drivers, codec: jsonCodec, post: webex.post, logger: pino({ level: 'silent' }), clock, options });
  await engine.start();
  await engine.settled();
  const h: Harness = {
    engine, clock, driver: drivers[0]!, drivers, webex, store,
    async send(...messages) {
      const result = await engine.accept({ transId: `w2a-${++transCounter}`, messages, receivedAt: clock.now() });
      await engine.settled();
      return result;
    },
    settle: () => engine.settled(),
  };
  return h;
}

let msgCounter = 0;
const id = (): string => `m${++msgCounter}`;

export const w2a = {
  create: (ExtConfID: string, ConfKey: string, extra: Partial<MessageOf<'W2A_CreateConference'>> = {}): MessageOf<'W2A_CreateConference'> =>
    ({ type: 'W2A_CreateConference', MsgID: id(), ExtConfID, ConfKey, WbxHostName: WEBEX_URL, ...extra }),
  end: (ExtConfID: string): MessageOf<'W2A_EndConference'> => ({ type: 'W2A_EndConference', MsgID: id(), ExtConfID }),
  lock: (ExtConfID: string, Lock: boolean): MessageOf<'W2A_LockConference'> => ({ type: 'W2A_LockConference', MsgID: id(), ExtConfID, Lock }),
  keepAlive: (ExtConfID: string): MessageOf<'W2A_KeepAliveConference'> => ({ type: 'W2A_KeepAliveConference', MsgID: id(), ExtConfID }),
  mute: (ExtConfID: string, ExtCallID: string, Mute: boolean): MessageOf<'W2A_MuteUser'> =>
    ({ type: 'W2A_MuteUser', MsgID: id(), ExtConfID, ExtCallID, Mute }),
  muteAll: (ExtConfID: string, Mute: boolean, extra: Partial<MessageOf<'W2A_MuteConference'>> = {}): MessageOf<'W2A_MuteConference'> =>
    ({ type: 'W2A_MuteConference', MsgID: id(), ExtConfID, Mute, ...extra }),
  expel: (ExtConfID: string, ExtCallID: string): MessageOf<'W2A_ExpelUser'> => ({ type: 'W2A_ExpelUser', MsgID: id(), ExtConfID, ExtCallID }),
  callout: (ExtConfID: string, ExtCallID: string, PhoneNumber: string, extra: Partial<MessageOf<'W2A_Callout'>> = {}): MessageOf<'W2A_Callout'> =>
    ({ type: 'W2A_Callout', MsgID: id(), ExtConfID, ExtCallID, PhoneNumber, ...extra }),
  sub: (ExtConfID: string, ExtCallID: string, SubConfID: number): MessageOf<'W2A_AddToSubConference'> =>
    ({ type: 'W2A_AddToSubConference', MsgID: id(), ExtConfID, ExtCallID, SubConfID }),
  passthrough: (ExtConfID: string, ExtCallID: string, Data: string): MessageOf<'W2A_CSPClientPassthrough'> =>
    ({ type: 'W2A_CSPClientPassthrough', MsgID: id(), ExtConfID, ExtCallID, Data }),
  rspEnter: (MsgID: string, ExtConfID: string, ExtCallID: string): MessageOf<'W2A_RspNotifyUserEnter'> =>
    ({ type: 'W2A_RspNotifyUserEnter', MsgID, ExtConfID, ExtCallID }),
};

/** Creates conference `ExtConfID` and returns its bridge conference id. */
export async function created(h: Harness, ExtConfID = 'conf-1', ConfKey = '123456', extra: Partial<MessageOf<'W2A_CreateConference'>> = {}): Promise<string> {
  await h.send(w2a.create(ExtConfID, ConfKey, extra));
  const last = [...h.driver.conferences.values()].at(-1);
  if (!last) throw new Error('the conference was not created on the fake bridge');
  return last.bridgeConfId;
}

/**
 * A caller dials in, WebEx names it `ExtCallID` in its W2A_RspNotifyUserEnter; returns the port.
 */
export async function dialIn(h: Harness, bridgeConfId: string, ExtConfID: string, ExtCallID: string, driver = h.driver): Promise<string> {
  const caller = driver.join(bridgeConfId, { callerId: '1,408,5550100', dialledNumber: '1,800,5550000' });
  await h.settle();
  const enter = h.webex.of('A2W_NotifyUserEnter').at(-1)!;
  await h.send(w2a.rspEnter(enter.MsgID, ExtConfID, ExtCallID));
  return caller.port;
}
