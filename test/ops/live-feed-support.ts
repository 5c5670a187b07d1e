/** Live feed test helpers: a client that records what it gets, and a stand-in for the engine. */
import { WebSocket } from 'ws';
import type { BridgeView, EngineEvents, EngineSnapshot } from '../../src/adaptor/conference/observation.js';
import type { ConferenceState, JoinedCaller } from '../../src/adaptor/conference/state.js';
import type { FeedMessage } from '../../src/adaptor/live/live-feed.js';
import { TypedEmitter } from '../../src/common/typed-emitter.js';

/** Plays the engine's side of the feed: a snapshot and events published by the test. */
export class FakeEngine extends TypedEmitter<EngineEvents> {
  conferences: ConferenceState[] = [];
  bridges: BridgeView[] = [{ id: 'bridge-a', model: 'Voyant 2313', link: { state: 'up', since: 1 }, ports: { total: 96, inUse: 2, reserved: 4 }, promisedPorts: 0, lastHeartbeatAt: 1 }];
  snapshot(): EngineSnapshot {
    return { at: Date.now(), bridges: this.bridges, conferences: this.conferences };
  }
  publish<K extends keyof EngineEvents & string>(event: K, ...args: EngineEvents[K]): void {
    this.emit(event, ...args);
  }
}

export function fakeCaller(n: number, extra: Partial<JoinedCaller> = {}): JoinedCaller {
  return {
    phase: 'joined', extCallID: `call-${n}`, enterMsgID: `enter-${n}`, port: `p${n}`, legId: `leg-${n}`, callerId: '14085550123', name: `Caller ${n}`,
    muted: false, mutedBy: 'Bridge', speaking: false, subConfId: 0, held: [], joinedAt: 1, ...extra,
  } as JoinedCaller;
}

export function fakeConference(extConfID: string, callers: ConferenceState['callers'] = []): ConferenceState {
  return {
    confId: `id-${extConfID}`, confKey: '123456', extConfID, formerExtConfIDs: [], wbxHostName: undefined, bridgeId: 'bridge-a',
    bridgeConfId: `b-${extConfID}`, status: 'running', entryTone: 'none', silentJoin: false, muteOnEntry: false, attendeeCount: 0,
    classes: { tollCallIn: true, tollFreeCallIn: true, domesticCallBack: true, intlCallBack: true }, muteAll: undefined,
    lastActivityAt: 1, recentDialOutsAt: [], callers,
  } as ConferenceState;
}

/** A feed client that records every message and waits for the one wanted. */
export class FeedReader {
  readonly messages: FeedMessage[] = [];
  readonly ws: WebSocket;
  #wake: (() => void)[] = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as FeedMessage);
      for (const w of this.#wake.splice(0)) w();
    });
  }

  /** Resolves with the first message matching `predicate`, received or still to come (bounded by the test's timeout). */
  async until(predicate: (m: FeedMessage) => boolean): Promise<FeedMessage> {
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }

  /** Resolves with the close code. */
  closed(): Promise<number> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) resolve(-1);
      this.ws.once('close', (code) => resolve(code));
    });
  }
}
