/**
 * The live feed of a cluster member: its source is the engines of the bridges the member owns
 * now (live/engine-relay.ts), replaced at each take-over or lost lease, and it carries the
 * member's status. A replacement sends every client a fresh snapshot of the new set; events of
 * an engine no longer owned are not relayed; a changed status is sent, an unchanged one is not.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { ClusterStatus } from '../../src/adaptor/cluster/cluster-member.js';
import { EngineRelay } from '../../src/adaptor/live/engine-relay.js';
import { mountLiveFeed, type FeedMessage, type LiveFeed } from '../../src/adaptor/live/live-feed.js';
import { silentLogger } from '../shell/support.js';
import { fakeConference, FakeEngine, FeedReader } from './live-feed-support.js';

const POLL_MS = 10;

function status(role: ClusterStatus['role'], takeOvers: number): ClusterStatus {
  return {
    instance: 'adaptor-0', role, lease: undefined, redis: 'ready', takeOvers, leaseLosses: 0, fencingRefusals: 0, lastTakeOverMs: undefined,
    intake: { accepted: 0, repeats: 0, refused: 0 }, bridges: [], peers: [],
  };
}

let server: http.Server;
let feed: LiveFeed;
let relay: EngineRelay;
let owned: FakeEngine[] = [];
let current = status('standby', 0);
const readers: FeedReader[] = [];

before(async () => {
  server = http.createServer((_req, res) => res.writeHead(404).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  relay = new EngineRelay(() => owned, POLL_MS);
  feed = mountLiveFeed(server, relay, { logger: silentLogger, bridgeRefreshMs: 60_000, cluster: { status: () => current, refreshMs: POLL_MS } });
});
after(async () => {
  for (const r of readers) r.ws.close();
  await feed.close();
  relay.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const isSnapshot = (m: FeedMessage): m is Extract<FeedMessage, { type: 'snapshot' }> => m.type === 'snapshot';

test('a standby\'s feed starts empty with its status; a take-over brings the engine\'s bridges and conferences; losing it takes them out', { timeout: 10_000 }, async () => {
  const reader = new FeedReader(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/live`);
  readers.push(reader);
  const first = await reader.until(isSnapshot) as Extract<FeedMessage, { type: 'snapshot' }>;
  assert.deepEqual([first.bridges.length, first.conferences.length, first.cluster?.role], [0, 0, 'standby']);

  const engine = new FakeEngine();
  engine.conferences = [fakeConference('EXT-RELAY-1')];
  owned = [engine];
  current = status('owner', 1);
  const taken = await reader.until((m) => isSnapshot(m) && m.bridges.length === 1) as Extract<FeedMessage, { type: 'snapshot' }>;
  assert.deepEqual(taken.conferences.map((c) => c.extConfID), ['EXT-RELAY-1']);
  // The status comes with the snapshot, or right after it.
  await reader.until((m) => (m.type === 'cluster' || m.type === 'snapshot') && m.cluster?.role === 'owner' && m.cluster.takeOvers === 1);

  engine.publish('bridge', { ...engine.bridges[0]!, link: { state: 'stale', missed: 2 } });
  await reader.until((m) => m.type === 'bridge' && m.bridge.link.state === 'stale');

  owned = [];
  current = status('standby', 1);
  await reader.until((m) => isSnapshot(m) && m.seq > taken.seq && m.bridges.length === 0);
  const seen = reader.messages.length;
  engine.publish('bridge', { ...engine.bridges[0]!, link: { state: 'down', error: 'x', retryInMs: 1 } });
  // A status change after the event proves the event had its chance to arrive first.
  current = status('standby', 2);
  await reader.until((m) => m.type === 'cluster' && m.cluster.takeOvers === 2);
  assert.ok(reader.messages.slice(seen).every((m) => m.type !== 'bridge'), 'a closed engine\'s events are not relayed');
  const clusterMessages = reader.messages.filter((m) => m.type === 'cluster').length;
  assert.ok(clusterMessages <= 3, `an unchanged status is not sent again (${clusterMessages} cluster messages)`);
});
