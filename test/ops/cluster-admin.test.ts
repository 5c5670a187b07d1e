/**
 * The admin listener of a cluster member follows the single instance's rules: the same keys,
 * loopback by default, refused when exposed without credentials, every route (the console and
 * the live feed included) behind the token when one is set, nothing admin on the WebEx
 * listener. Its /readyz is lease-aware: the standby is ready without bridges; the owner answers
 * for the bridge it owns and runs its deep check.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { ConfigError, parseConfig } from '../../src/adaptor/config.js';
import { waitFor } from '../ha/support.js';
import { testKeyPair } from '../shell/support.js';
import { ownerOf, raw, startOpsCluster, type OpsCluster } from './cluster-support.js';

const TOKEN = 'cluster-admin-token-7e21';
const BEARER = { authorization: `Bearer ${TOKEN}` };

interface MemberReady { ready: boolean; reasons: string[]; role: string; leases: Record<string, { role: string }>; bridges?: { id: string; usable: boolean; deepCheck?: { outcome: string } }[] }

describe('admin listener of a cluster member', () => {
  let dir: string;
  let stack: OpsCluster;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsp-cluster-admin-'));
    const tokenFile = path.join(dir, 'admin.token');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    stack = await startOpsCluster({ members: 2, bridges: 1, extra: () => ({ admin: { auth: { tokenFile } }, deepCheck: { enabled: true, stepTimeoutMs: 2_000 } }) });
  });
  after(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('exposed without credentials, a member is refused at start as a single instance is; with a token file it may be', () => {
    const member = (admin: Record<string, unknown>) => raw(0, { dir, redisPort: 6390, bridges: [], group: 'ops', extra: { admin } });
    assert.throws(() => parseConfig(member({ host: '0.0.0.0' }), { env: {} }), (err: unknown) =>
      err instanceof ConfigError && /admin\.host: 0\.0\.0\.0 is not a loopback address/.test(err.message));
    assert.doesNotThrow(() => parseConfig(member({ host: '0.0.0.0', auth: { tokenFile: '/etc/tsp/admin.token' } }), { env: {} }));
  });

  test('every admin route needs the token: health, readiness, /cluster, metrics, the console', async () => {
    const url = stack.members[0]!.adminUrl;
    for (const route of ['/healthz', '/readyz', '/cluster', '/metrics', '/console/']) {
      const bare = await fetch(`${url}${route}`);
      await bare.body?.cancel();
      assert.equal(bare.status, 401, `${route} without the token`);
      const wrong = await fetch(`${url}${route}`, { headers: { authorization: 'Bearer wrong' } });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401, `${route} with a wrong token`);
      const ok = await fetch(`${url}${route}`, { headers: BEARER });
      await ok.body?.cancel();
      assert.equal(ok.status, 200, `${route} with the token`);
    }
    const metrics = await (await fetch(`${url}/metrics`, { headers: BEARER })).text();
    assert.match(metrics, /^tsp_admin_auth_refusals_total\{instance_id="adaptor-0"\} (\d+)/m);
    assert.match(metrics, /tsp_cluster_bridge_role\{bridge="bridge-1",role="(owner|standby)"\} 1/);
  });

  test('the live feed needs the token too, and its snapshot carries the cluster', async () => {
    const feedUrl = `${stack.members[0]!.adminUrl.replace('http', 'ws')}/live`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(feedUrl);
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('error', () => {});
    });
    assert.equal(refused, 401);
    const snapshot = await new Promise<{ type: string; cluster?: { instance: string; bridges: unknown[]; peers: unknown[] } }>((resolve, reject) => {
      const ws = new WebSocket(feedUrl, { headers: BEARER });
      ws.once('message', (data) => { resolve(JSON.parse(String(data)) as never); ws.close(); });
      ws.on('error', reject);
    });
    assert.equal(snapshot.type, 'snapshot');
    assert.equal(snapshot.cluster?.instance, 'adaptor-0');
    assert.equal(snapshot.cluster?.bridges.length, 1);
  });

  test('the WebEx listener of a member serves no admin route, with or without credentials', async () => {
    const { cert } = await testKeyPair();
    const origin = new URL(stack.members[0]!.webexUrl).origin;
    for (const route of ['/healthz', '/readyz', '/cluster', '/metrics', '/live', '/console/']) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(`${origin}${route}`, { ca: cert, agent: false, headers: BEARER }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 404, route);
    }
  });

  test('readiness is lease-aware: the standby is ready without a bridge, the owner answers for its bridge and its deep check', async () => {
    await waitFor(() => ownerOf(stack, 'bridge-1') !== undefined, 10_000, 'bridge-1 owned');
    const owner = ownerOf(stack, 'bridge-1')!;
    const standby = stack.members.find((m) => m !== owner)!;
    const ready = async (m: typeof owner) => {
      const res = await fetch(`${m.adminUrl}/readyz`, { headers: BEARER });
      return { status: res.status, body: await res.json() as MemberReady };
    };
    await waitFor(async () => (await ready(owner)).status === 200, 10_000, 'owner ready');
    const idle = await ready(standby);
    assert.equal(idle.status, 200);
    assert.equal(idle.body.role, 'standby');
    assert.equal(idle.body.bridges, undefined, 'a standby answers for no bridge');
    assert.equal(idle.body.leases['bridge-1']?.role, 'standby');

    assert.equal(await owner.jobs.trigger('deep-check'), 'success');
    assert.equal(await standby.jobs.trigger('deep-check'), 'success', 'a standby has nothing to probe');
    const checked = await ready(owner);
    assert.equal(checked.body.role, 'owner');
    assert.deepEqual(checked.body.bridges?.map((b) => [b.id, b.usable, b.deepCheck?.outcome]), [['bridge-1', true, 'passed']]);

    // The bridge goes away: the owner says so, the standby still takes WebEx traffic.
    await stack.bridges.close();
    await waitFor(async () => (await ready(owner)).status === 503, 10_000, 'owner not ready once its bridge is gone');
    const down = await ready(owner);
    assert.ok(down.body.reasons.some((r) => /no bridge is usable \(bridge-1 is/.test(r)), down.body.reasons.join('; '));
    assert.equal((await ready(standby)).status, 200);
  });
});
