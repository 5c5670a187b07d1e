import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeModel } from '../../src/bridges/emulator/model.js';
import { FakeClock } from '../../src/bridges/emulator/clock.js';
import { BridgeEndpoint, NO_FAULTS } from '../../src/bridges/emulator/endpoint.js';
import { TrafficGenerator } from '../../src/bridges/emulator/traffic.js';
import { ControlServer } from '../../src/bridges/emulator/control.js';
import type { EmulatorState } from '../../src/bridges/emulator/model.js';

const TOLL_FREE = '1,800,5550100';

describe('emulator control interface (HTTP)', () => {
  let clock: FakeClock;
  let model: BridgeModel;
  let endpoint: BridgeEndpoint;
  let traffic: TrafficGenerator;
  let server: ControlServer;
  let base: string;

  before(async () => {
    clock = new FakeClock();
    model = new BridgeModel({ clock });
    endpoint = new BridgeEndpoint(model, { clock });
    traffic = new TrafficGenerator(model, clock);
    server = await ControlServer.start({ model, endpoint, traffic }, { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    traffic.close();
    endpoint.close();
    model.close();
    await server.close();
  });

  beforeEach(() => {
    model.restart(false);
    endpoint.clearFaults();
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(base + path, {
      method,
      ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  async function createConference(confKey: string, extra: object = {}): Promise<string> {
    const { status, json } = await call('POST', '/commands', { op: 'createConference', options: { confKey, ...extra } });
    assert.equal(status, 200);
    return json.reply.bridgeConfId;
  }

  it('GET /state reports the 1344-port chassis by default', async () => {
    const { status, json } = await call('GET', '/state');
    assert.equal(status, 200);
    assert.deepEqual((json as EmulatorState).ports, { total: 1344, inUse: 0, reserved: 0 });
    assert.deepEqual(json.conferences, []);
  });

  it('adds a caller, shows it in /state, and hangs it up by port', async () => {
    const bridgeConfId = await createConference('5150');
    const added = await call('POST', '/callers', { dialledNumber: TOLL_FREE, digits: '5150#', callerId: '14155550000' });
    assert.equal(added.status, 201);
    assert.deepEqual(added.json, { state: 'joined', port: '1/1', legId: added.json.legId, bridgeConfId });
    const state = (await call('GET', '/state')).json as EmulatorState;
    assert.deepEqual(state.conferences[0]?.callers[0], {
      port: '1/1', legId: added.json.legId, callerId: '14155550000', dialledNumber: TOLL_FREE,
      muted: false, mutedBy: 'command', talking: false, subConfId: 0,
    });
    assert.equal((await call('DELETE', '/ports/1-1')).status, 204);
    assert.equal((await call('GET', '/state')).json.ports.inUse, 0);
    const again = await call('DELETE', '/ports/1%2F1');
    assert.deepEqual([again.status, again.json.error.code], [404, 'BRIDGE_ERR_PORT_NOT_FOUND']);
  });

  it('answers refusals with the bridge code: locked, wrong key, not a call-in number', async () => {
    const bridgeConfId = await createConference('6160');
    await call('POST', '/commands', { op: 'lockConference', bridgeConfId, locked: true });
    const locked = await call('POST', '/callers', { dialledNumber: TOLL_FREE, digits: '6160#' });
    assert.deepEqual([locked.status, locked.json.error.code], [409, 'BRIDGE_ERR_LOCKED']);
    const prompting = await call('POST', '/callers', { dialledNumber: TOLL_FREE, digits: '1#' });
    assert.deepEqual([prompting.status, prompting.json.state, prompting.json.attemptsLeft], [202, 'prompting', 2]);
    const dropped = await call('POST', `/ports/${prompting.json.port.replace('/', '-')}/dtmf`, { digits: '2#3#' });
    assert.deepEqual([dropped.status, dropped.json.error.code], [404, 'BRIDGE_ERR_CONF_NOT_FOUND']);
    const wrongNumber = await call('POST', '/callers', { dialledNumber: '1,555,0000000', digits: '6160#' });
    assert.deepEqual([wrongNumber.status, wrongNumber.json.error.code], [400, 'BRIDGE_ERR_INVALID']);
  });

  it('sends DTMF and talking bursts to a port', async () => {
    await createConference('7170');
    await call('POST', '/callers', { dialledNumber: TOLL_FREE, digits: '7170#' });
    assert.equal((await call('POST', '/ports/1-1/talk', { ms: 400 })).json.talking, true);
    assert.equal((await call('GET', '/state')).json.conferences[0].callers[0].talking, true);
    clock.advance(400);
    assert.equal((await call('POST', '/ports/1-1/dtmf', { digits: '*6' })).status, 200);
    const caller = (await call('GET', '/state')).json.conferences[0].callers[0];
    assert.deepEqual([caller.talking, caller.muted, caller.mutedBy], [false, true, 'keypad']);
    assert.equal((await call('POST', '/ports/1-1/talk', { ms: 400 })).json.talking, false, 'muted callers are not heard');
  });

  it('sets dial-out rules and odds that the bridge then follows', async () => {
    const bridgeConfId = await createConference('8180');
    const plan = await call('PUT', '/dial-out-plan', {
      rules: [{ match: 'prefix', number: '1,212', outcome: 'busy', ringMs: 100 }],
      odds: { answered: 1, 'no-answer': 1 },
    });
    assert.equal(plan.status, 200);
    assert.equal(plan.json.ringMs, 3_000, 'unchanged when not given');
    await call('POST', '/commands', { op: 'dialOut', bridgeConfId, dialOutId: 'x', number: '1,212,5550000', confirm: false, silent: false });
    assert.equal((await call('GET', '/state')).json.conferences[0].dialOuts[0].state, 'ringing');
    clock.advance(100);
    assert.deepEqual((await call('GET', '/state')).json.conferences[0].dialOuts, []);
    const bad = await call('PUT', '/dial-out-plan', { rules: [{ match: 'prefix', number: '1', outcome: 'exploded' }] });
    assert.equal(bad.status, 400);
  });

  it('injects and clears each fault', async () => {
    for (const name of ['silent-heartbeats', 'refuse', 'duplicate', 'reorder']) {
      assert.equal((await call('PUT', `/faults/${name}`)).status, 200, name);
    }
    assert.equal((await call('PUT', '/faults/delay', { ms: 250 })).json.commandDelayMs, 250);
    assert.deepEqual((await call('GET', '/faults')).json, {
      silentHeartbeats: true, commandDelayMs: 250, refuseCommands: true, duplicateEvents: true, reorderEvents: true,
    });
    assert.equal((await call('DELETE', '/faults/refuse')).json.refuseCommands, false);
    assert.deepEqual((await call('DELETE', '/faults')).json, NO_FAULTS);
    assert.equal((await call('PUT', '/faults/gremlins')).status, 400);
    assert.equal((await call('PUT', '/faults/constructor')).status, 400);
  });

  it('drops connections and restarts the bridge on request', async () => {
    let drops = 0;
    const off = endpoint.onDrop(() => drops++);
    await createConference('9190');
    assert.equal((await call('POST', '/faults/drop')).status, 204);
    assert.equal((await call('POST', '/faults/restart', { keepState: true })).status, 204);
    assert.equal((await call('GET', '/state')).json.conferences.length, 1);
    assert.equal((await call('POST', '/faults/restart', { keepState: false })).status, 204);
    assert.equal((await call('GET', '/state')).json.conferences.length, 0);
    assert.equal((await call('POST', '/faults/restart', {})).status, 400, 'keepState must be said');
    off();
    assert.equal(drops, 3);
  });

  it('starts and stops generated traffic', async () => {
    await createConference('2220');
    const started = await call('PUT', '/traffic', { confKeys: ['2220'], targetCallers: 30, arrivalsPerSecond: 100 });
    assert.deepEqual([started.status, started.json.running], [200, true]);
    clock.advance(1_000);
    assert.equal((await call('GET', '/traffic')).json.callers, 30);
    const stopped = await call('DELETE', '/traffic?hangUp=true');
    assert.deepEqual([stopped.json.running, stopped.json.callers], [false, 0]);
    assert.equal((await call('PUT', '/traffic', { confKeys: [] })).status, 400);
  });

  it('refuses malformed bodies and unknown routes', async () => {
    const res = await fetch(`${base}/callers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    assert.equal(res.status, 400);
    assert.equal((await call('POST', '/commands', { op: 'reboot' })).status, 400);
    assert.equal((await call('POST', '/callers', { dialledNumber: TOLL_FREE, digits: '1#', extra: 1 })).status, 400);
    assert.equal((await call('GET', '/nowhere')).status, 404);
  });
});
