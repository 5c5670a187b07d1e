/**
 * A scripted bridge for engine tests: keeps a small model of conferences so snapshots are true,
 * records every command, and lets a test fail any command or emit any event.
 */
import type {
  BridgeCapabilities, BridgeCommand, BridgeDriver, BridgeEvent, BridgeOp, BridgeSnapshot, DriverEvents, LinkHealth,
  LinkStatus, PortUsage, ReplyOf, SnapshotCaller, SnapshotConference,
} from '../../../src/bridges/driver.js';
import { BridgeError } from '../../../src/bridges/errors.js';
import { TypedEmitter } from '../../../src/common/typed-emitter.js';

export const FULL_CAPABILITIES: BridgeCapabilities = {
  model: 'fake', subConferences: true, maxSubConferences: 10, dialOut: true, dialOutConfirm: true,
  muteAllException: true, muteNewCallers: true, talkingEvents: true, tones: true, passthrough: true,
};

type Override = (command: BridgeCommand) => unknown;

export class FakeDriver extends TypedEmitter<DriverEvents> implements BridgeDriver {
  readonly id: string;
  readonly capabilities: BridgeCapabilities;
  status: LinkStatus = { state: 'idle' };
  ports: PortUsage = { total: 100, inUse: 0, reserved: 0 };
  /** Every command received, snapshots excepted. */
  readonly executed: BridgeCommand[] = [];
  /** Replaces the model's behaviour for an op: return the reply, or throw. */
  readonly overrides = new Map<BridgeOp, Override>();
  readonly conferences: Map<string, SnapshotConference>;
  #ids: { conf: number; leg: number };

  constructor(id = 'bridge-a', capabilities: Partial<BridgeCapabilities> = {}, bridge?: FakeDriver) {
    super();
    this.id = id;
    this.capabilities = { ...FULL_CAPABILITIES, ...capabilities };
    this.conferences = bridge?.conferences ?? new Map();
    this.#ids = bridge ? bridge.#ids : { conf: 1, leg: 1 };
  }

  /** A new connection to the same bridge, as a restarted adaptor makes: same conferences, nothing else. */
  static reconnecting(bridge: FakeDriver): FakeDriver {
    return new FakeDriver(bridge.id, bridge.capabilities, bridge);
  }

  health(): LinkHealth {
    return {
      status: this.status, lastHeartbeatAt: 0, reconnects: 0, malformedFrames: 0, unknownReplies: 0,
      duplicateEvents: 0, commandsInFlight: 0, ports: this.ports,
    };
  }

  async connect(): Promise<void> {
    this.status = { state: 'up', since: 0 };
    this.emit('resync', this.snapshot());
  }

  async close(): Promise<void> {
    this.status = { state: 'closed' };
  }

  /** The link drops and comes back: a resync with the model as it is. */
  reconnect(): void {
    this.status = { state: 'up', since: 0 };
    this.emit('resync', this.snapshot());
  }

  ops(op?: BridgeOp): BridgeCommand[] {
    return op ? this.executed.filter((c) => c.op === op) : this.executed;
  }

  async execute<C extends BridgeCommand>(command: C): Promise<ReplyOf<C>> {
    if (command.op !== 'snapshot') this.executed.push(structuredClone(command));
    if (this.status.state !== 'up') throw new BridgeError('BRIDGE_ERR_LINK_DOWN');
    const override = this.overrides.get(command.op);
    if (override) return (await override(command)) as ReplyOf<C>;
    return this.#apply(command) as ReplyOf<C>;
  }

  snapshot(): BridgeSnapshot {
    return { takenAt: 0, eventSeq: 0, ports: this.ports, conferences: structuredClone([...this.conferences.values()]) };
  }

  /** A caller joins on the bridge (dials in, or answers dial-out `dialOutId`); emits callerJoined. */
  join(bridgeConfId: string, caller: Partial<SnapshotCaller> = {}): SnapshotCaller {
    const conf = this.#conf(bridgeConfId);
    const n = this.#ids.leg++;
    const policy = conf.muteAll?.applyToNewCallers ? conf.muteAll.muted : undefined;
    const joined: SnapshotCaller = {
      port: `1/${n}`, legId: `leg-${n}`, muted: policy ?? conf.options.muteOnEntry, mutedBy: 'bridge',
      talking: false, subConfId: 0, ...caller,
    };
    conf.callers.push(joined);
    conf.dialOuts = conf.dialOuts.filter((d) => d.dialOutId !== joined.dialOutId);
    const event: BridgeEvent = { type: 'callerJoined', bridgeConfId, port: joined.port, legId: joined.legId, muted: joined.muted, subConfId: joined.subConfId };
    if (joined.callerId !== undefined) event.callerId = joined.callerId;
    if (joined.dialledNumber !== undefined) event.dialledNumber = joined.dialledNumber;
    if (joined.dialOutId !== undefined) event.dialOutId = joined.dialOutId;
    if (joined.name !== undefined) event.name = joined.name;
    this.emit('event', event);
    return joined;
  }

  /** Emits an event as the bridge would, after applying it to the model. */
  event(event: BridgeEvent): void {
    if ('legId' in event) {
      const conf = this.#conf(event.bridgeConfId);
      const caller = conf.callers.find((c) => c.legId === event.legId);
      if (event.type === 'callerLeft') conf.callers = conf.callers.filter((c) => c.legId !== event.legId);
      if (event.type === 'muteChanged' && caller) Object.assign(caller, { muted: event.muted, mutedBy: event.by });
      if (event.type === 'subConferenceChanged' && caller) caller.subConfId = event.subConfId;
    }
    if (event.type === 'dialOut' && event.state !== 'ringing' && event.state !== 'answered') {
      const conf = this.#conf(event.bridgeConfId);
      conf.dialOuts = conf.dialOuts.filter((d) => d.dialOutId !== event.dialOutId);
    }
    this.emit('event', event);
  }

  /** Changes the model without telling anyone (what happens while the link is down). */
  quietly(fn: (conferences: Map<string, SnapshotConference>) => void): void {
    fn(this.conferences);
  }

  #conf(bridgeConfId: string): SnapshotConference {
    const conf = this.conferences.get(bridgeConfId);
    if (!conf) throw new BridgeError('BRIDGE_ERR_CONF_NOT_FOUND', bridgeConfId);
    return conf;
  }

  #caller(bridgeConfId: string, port: string): SnapshotCaller {
    const caller = this.#conf(bridgeConfId).callers.find((c) => c.port === port);
    if (!caller) throw new BridgeError('BRIDGE_ERR_PORT_NOT_FOUND', port);
    return caller;
  }

  #apply(command: BridgeCommand): unknown {
    switch (command.op) {
      case 'createConference': {
        const bridgeConfId = `bc-${this.#ids.conf++}`;
        this.conferences.set(bridgeConfId, { bridgeConfId, options: command.options, locked: false, callers: [], dialOuts: [] });
        return { bridgeConfId };
      }
      case 'endConference':
        this.#conf(command.bridgeConfId);
        this.conferences.delete(command.bridgeConfId);
        return undefined;
      case 'lockConference':
        this.#conf(command.bridgeConfId).locked = command.locked;
        return undefined;
      case 'mute':
        Object.assign(this.#caller(command.bridgeConfId, command.port), { muted: command.muted, mutedBy: 'command' });
        return undefined;
      case 'muteAll': {
        const conf = this.#conf(command.bridgeConfId);
        conf.muteAll = { muted: command.muted, applyToNewCallers: command.applyToNewCallers, ...(command.exceptPort ? { exceptPort: command.exceptPort } : {}) };
        for (const c of conf.callers) if (c.port !== command.exceptPort) Object.assign(c, { muted: command.muted, mutedBy: 'command' });
        return undefined;
      }
      case 'expel': {
        const conf = this.#conf(command.bridgeConfId);
        this.#caller(command.bridgeConfId, command.port);
        conf.callers = conf.callers.filter((c) => c.port !== command.port);
        return undefined;
      }
      case 'dialOut':
        this.#conf(command.bridgeConfId).dialOuts.push({ dialOutId: command.dialOutId, number: command.number, state: 'ringing' });
        return undefined;
      case 'cancelDialOut': {
        const conf = this.#conf(command.bridgeConfId);
        if (!conf.dialOuts.some((d) => d.dialOutId === command.dialOutId)) throw new BridgeError('BRIDGE_ERR_DIALOUT_NOT_FOUND');
        conf.dialOuts = conf.dialOuts.filter((d) => d.dialOutId !== command.dialOutId);
        return undefined;
      }
      case 'moveToSubConference':
        this.#caller(command.bridgeConfId, command.port).subConfId = command.subConfId;
        return undefined;
      case 'playTone':
      case 'passthrough':
        this.#conf(command.bridgeConfId);
        return undefined;
      case 'snapshot':
        return this.snapshot();
    }
  }
}
