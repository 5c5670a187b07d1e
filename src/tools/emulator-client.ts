/**
 * The bridge emulator's HTTP control interface (docs/emulator.md), as `certify` and `bench`
 * use it to play the telephone side: callers dialling in, keys, talking, dial-out outcomes,
 * generated traffic and the bridge's true state.
 */
import type { TrafficOptions, TrafficStats } from '../bridges/emulator/traffic.js';

export interface BridgeCaller {
  port: string;
  legId: string;
  muted: boolean;
  mutedBy: string;
  subConfId: number;
  callerId?: string;
}

export interface BridgeState {
  ports: { total: number; inUse: number; reserved: number };
  conferences: { bridgeConfId: string; options: { confKey: string }; locked: boolean; callers: BridgeCaller[] }[];
}

/** What POST /traffic/start takes: the generator's options, the rates it defaults left out. */
export type TrafficSettings = Pick<TrafficOptions, 'confKeys' | 'targetCallers' | 'arrivalsPerSecond'> &
  Partial<Omit<TrafficOptions, 'confKeys' | 'targetCallers' | 'arrivalsPerSecond'>>;
export type { TrafficStats };

export class EmulatorClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'EmulatorClientError';
  }
}

/** A port in a control URL: "3/17" -> "3-17". */
const portPath = (port: string): string => port.replace('/', '-');

export class EmulatorClient {
  readonly #base: string;

  constructor(controlUrl: string) {
    this.#base = controlUrl.replace(/\/$/, '');
  }

  /** One control call; a status of 400 or more throws with the emulator's error code. */
  async call<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.#base}${route}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = (text ? JSON.parse(text) : undefined) as T & { error?: { code: string; message: string } };
    if (res.status >= 400) {
      throw new EmulatorClientError(res.status, parsed?.error?.code, `emulator ${method} ${route}: ${res.status} ${parsed?.error?.code ?? ''} ${parsed?.error?.message ?? text}`);
    }
    return parsed;
  }

  /** A caller dials the toll number and keys `confKey#` (then `extraDigits`); resolves with the port. */
  async dialIn(confKey: string, callerId: string, extraDigits = ''): Promise<string> {
    const joined = await this.call<{ state: string; port: string }>('POST', '/callers', {
      dialledNumber: '1,408,5550100',
      digits: `${confKey}#${extraDigits}`,
      callerId,
    });
    if (joined.state !== 'joined') throw new Error(`caller ${callerId} did not join ${confKey}: ${joined.state}`);
    return joined.port;
  }

  hangUp(port: string): Promise<unknown> {
    return this.call('DELETE', `/ports/${portPath(port)}`);
  }

  keys(port: string, digits: string): Promise<unknown> {
    return this.call('POST', `/ports/${portPath(port)}/dtmf`, { digits });
  }

  talk(port: string, ms: number): Promise<{ talking: boolean }> {
    return this.call('POST', `/ports/${portPath(port)}/talk`, { ms });
  }

  dialOutPlan(plan: { rules: { match: 'exact' | 'prefix'; number: string; outcome: string }[]; ringMs?: number }): Promise<unknown> {
    return this.call('PUT', '/dial-out-plan', plan);
  }

  startTraffic(settings: TrafficSettings): Promise<TrafficStats> {
    return this.call('PUT', '/traffic', settings);
  }

  traffic(): Promise<TrafficStats> {
    return this.call('GET', '/traffic');
  }

  stopTraffic(hangUp: boolean): Promise<TrafficStats> {
    return this.call('DELETE', `/traffic${hangUp ? '?hangUp=true' : ''}`);
  }

  state(): Promise<BridgeState> {
    return this.call('GET', '/state');
  }

  /** The caller on `port` in the conference with `confKey`, if there. */
  async caller(confKey: string, port: string): Promise<BridgeCaller | undefined> {
    const state = await this.state();
    return state.conferences.find((c) => c.options.confKey === confKey)?.callers.find((c) => c.port === port);
  }
}
