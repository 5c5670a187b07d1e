/**
 * The Voyant 2035 driver against a scripted text peer: what only this wire format can get
 * wrong (login, multi-line replies, bad and over-long lines, stray tags). The behaviour every
 * driver shares is in conformance.test.ts and link-driver.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import type { DriverConfig, LinkStatus } from '../../src/bridges/driver.js';
import { isBridgeError } from '../../src/bridges/errors.js';
import { MAX_LINE_BYTES } from '../../src/bridges/voyant2035/framer.js';
import { Voyant2035Driver } from '../../src/bridges/voyant2035/driver.js';
import { nextDriverEvent } from './support/driver-events.js';
import { emptyBridge, LinePeer, type LineScript } from './support/line-peer.js';

function config(port: number): DriverConfig {
  return {
    id: 'b2035', driver: 'voyant2035', host: '127.0.0.1', port, username: 'tsp', password: 's3cret word',
    heartbeatIntervalMs: 1_000, missedHeartbeats: 3, commandTimeoutMs: 1_000, reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 40,
  };
}

describe('Voyant 2035 driver', () => {
  let peer: LinePeer;
  let driver: Voyant2035Driver;

  async function start(script: LineScript): Promise<void> {
    peer = new LinePeer(script);
    driver = new Voyant2035Driver(config(await peer.listen()), { logger: pino({ level: 'silent' }) });
  }

  afterEach(async () => {
    await driver.close();
    await peer.close();
  });

  it('logs in with escaped credentials before anything else', async () => {
    const seen: string[] = [];
    await start((line, conn) => {
      seen.push(line);
      emptyBridge()(line, conn);
    });
    await driver.connect();
    assert.equal(seen[0], 'LOGIN LOGIN user=tsp pass=s3cret%20word');
    assert.match(seen[1] ?? '', /^\d+ SNAPSHOT$/);
  });

  it('a refused login is a failed connection attempt, retried with back-off', async () => {
    let logins = 0;
    await start((line, conn) => {
      logins += 1;
      conn.write(`${line.split(' ')[0]} NO REFUSED text=wrong%20user%20or%20password\n`);
    });
    void driver.connect().catch(() => undefined);
    const [down] = await nextDriverEvent(driver, 'status', (s: LinkStatus) => s.state === 'down');
    assert.match(down.state === 'down' ? down.error : '', /login refused.*wrong user or password/);
    await nextDriverEvent(driver, 'status', (s: LinkStatus) => s.state === 'connecting' && s.attempt === 2);
    assert.ok(logins >= 1);
  });

  it('a bridge that never answers the login is given up on after the command deadline, and retried', async () => {
    peer = new LinePeer(() => undefined);
    driver = new Voyant2035Driver({ ...config(await peer.listen()), commandTimeoutMs: 50 }, { logger: pino({ level: 'silent' }) });
    void driver.connect().catch(() => undefined);
    const [down] = await nextDriverEvent(driver, 'status', (s: LinkStatus) => s.state === 'down');
    assert.match(down.state === 'down' ? down.error : '', /timeout|timed out|aborted/i);
    await nextDriverEvent(driver, 'status', (s: LinkStatus) => s.state === 'connecting' && s.attempt === 2);
    // The abandoned connection is closed, not left hanging beside the new one.
    const first = peer.sockets[0];
    assert.ok(first);
    if (!first.destroyed) await new Promise((resolve) => first.once('close', resolve));
  });

  it('gathers a multi-line snapshot reply under its tag, with events interleaved', async () => {
    await start((line, conn) => {
      const [tag, verb] = line.split(' ');
      if (verb === 'LOGIN') conn.write(`${tag} OK\n`);
      else if (verb === 'SNAPSHOT') {
        conn.write(`${tag} + CONF conf=C1 key=1234 tone=beep silent=0 muted=0 locked=1\n`);
        conn.write('* EVT 8 TALK conf=C1 port=1/1 leg=L1 on=1\n');
        conn.write(`${tag} + CALLER conf=C1 port=1/1 leg=L1 muted=0 by=command talking=0 sub=0\n`);
        conn.write(`${tag} OK seq=7 at=5 total=1344 used=1 reserved=0\n`);
      }
    });
    const resynced = nextDriverEvent(driver, 'resync');
    const talking = nextDriverEvent(driver, 'event');
    await driver.connect();
    const [snapshot] = await resynced;
    assert.equal(snapshot.eventSeq, 7);
    assert.equal(snapshot.conferences[0]?.locked, true);
    assert.equal(snapshot.conferences[0]?.callers[0]?.port, '1/1');
    const [event] = await talking;
    assert.deepEqual(event, { type: 'talking', bridgeConfId: 'C1', port: '1/1', legId: 'L1', talking: true });
  });

  it('a snapshot with an unreadable record is not taken as the truth: the link retries until one is whole', async () => {
    let snapshots = 0;
    await start((line, conn) => {
      const [tag, verb] = line.split(' ');
      if (verb === 'LOGIN') conn.write(`${tag} OK\n`);
      if (verb !== 'SNAPSHOT') return;
      snapshots += 1;
      conn.write(`${tag} + CONF conf=C1 key=1234 tone=beep silent=0 muted=0 locked=0\n`);
      if (snapshots === 1) conn.write(`${tag} + CALLER conf=C1 port=1/1 leg=L1 muted=perhaps by=command talking=0 sub=0\n`);
      conn.write(`${tag} OK seq=0 at=5 total=1344 used=1 reserved=0\n`);
    });
    const statuses: string[] = [];
    driver.on('status', (s) => statuses.push(s.state));
    await driver.connect();
    assert.equal(snapshots, 2);
    assert.deepEqual(statuses, ['connecting', 'down', 'connecting', 'up']);
    assert.equal(driver.health().malformedFrames, 1);
  });

  it('skips bad, over-long and stray lines, counting each, and keeps the link', async () => {
    await start(emptyBridge((line, conn) => {
      const [tag] = line.split(' ');
      conn.write('* EVT nine CONF conf=C1 state=started\n');
      conn.write(`garbage\r\n${'x'.repeat(MAX_LINE_BYTES + 10)}\n`);
      conn.write('999 OK\n');
      conn.write(`${tag} NO NOCONF text=C9\n`);
    }));
    await driver.connect();
    await assert.rejects(driver.execute({ op: 'endConference', bridgeConfId: 'C9' }), (e) => isBridgeError(e, 'BRIDGE_ERR_CONF_NOT_FOUND') && /C9/.test(e.message));
    const health = driver.health();
    assert.equal(health.malformedFrames, 3);
    assert.equal(health.unknownReplies, 1);
    assert.equal(health.reconnects, 0);
    assert.equal(driver.status.state, 'up');
  });

  it('a reply that does not fit its command fails it with BRIDGE_ERR_PROTOCOL', async () => {
    await start(emptyBridge((line, conn) => conn.write(`${line.split(' ')[0]} OK\n`)));
    await driver.connect();
    const created = driver.execute({ op: 'createConference', options: { confKey: '1234', entryTone: 'none', silentJoin: false, muteOnEntry: false } });
    await assert.rejects(created, (e) => isBridgeError(e, 'BRIDGE_ERR_PROTOCOL') && /conf/.test(e.message));
  });

  it('refuses passthrough without sending it: the 2035 has no such channel', async () => {
    const sent: string[] = [];
    await start(emptyBridge((line) => sent.push(line)));
    await driver.connect();
    await assert.rejects(driver.execute({ op: 'passthrough', bridgeConfId: 'C1', data: 'x' }), (e) => isBridgeError(e, 'BRIDGE_ERR_UNSUPPORTED'));
    assert.deepEqual(sent, []);
    assert.equal(driver.capabilities.passthrough, false);
  });
});
