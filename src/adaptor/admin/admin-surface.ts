/**
 * Everything an operator reaches on the admin listener, put together the same way for a single
 * instance (main.ts) and for a cluster member (cluster/cluster-daemon.ts): the credentials
 * check first (admin/auth.ts), then `/healthz` and `/readyz`, `/metrics`, the routes of that
 * kind of instance, the console and its live feed. One set of config keys (`admin.*`) and one
 * set of rules for both: loopback by default, a token or a basic login when exposed (the
 * configuration refuses an exposed listener without one), the live feed's upgrade checked with
 * the same credentials.
 *
 * `close()` says goodbye to feed clients (1001) before the listener stops, then stops the loop
 * sampler; it is idempotent.
 */
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { mountConsole } from '../console/mount-console.js';
import { mountLiveFeed, type FeedSource, type LiveFeed, type LiveFeedOptions } from '../live/live-feed.js';
import { readCounter } from '../metrics/read-counter.js';
import { AdminListener } from './admin-listener.js';
import { AdminAuth, type AdminAuthConfig } from './auth.js';
import { LoopMonitor, mountHealth, type ReadinessReport } from './health-routes.js';
import { mountMetrics } from './metrics-routes.js';

export interface AdminSurfaceDeps {
  /** The `admin` configuration section. */
  admin: { host: string; port: number; auth: AdminAuthConfig };
  registry: Registry;
  /** Further series of this kind of instance, served after the registry's on `/metrics`. */
  moreMetrics?: readonly Registry[];
  readiness: () => ReadinessReport;
  /** What the live feed shows. */
  feed: FeedSource;
  /** Extra feed options of this kind of instance (a cluster member's status). */
  feedOptions?: Pick<LiveFeedOptions, 'cluster'>;
  /** Routes of this kind of instance, behind the credentials check like every other. */
  mount?: (router: Router) => void;
  logger: Logger;
}

export interface AdminSurface {
  /** Base URL, e.g. http://127.0.0.1:9464. */
  url: string;
  feed: LiveFeed;
  close(): Promise<void>;
}

/** Mounts every admin route and listens; on failure closes what it opened and throws. */
export async function openAdminSurface(deps: AdminSurfaceDeps): Promise<AdminSurface> {
  const { logger, registry } = deps;
  const listener = new AdminListener({ host: deps.admin.host, port: deps.admin.port, logger: logger.child({ component: 'admin-listener' }) });
  // Before every other route, so none is reachable around it.
  const auth = await AdminAuth.load(deps.admin.auth, logger.child({ component: 'admin-auth' }));
  if (auth) {
    listener.router.use(auth.handler);
    readCounter({
      name: 'tsp_admin_auth_refusals_total', help: 'Admin requests refused for missing or wrong credentials.',
      labelNames: [], registry, read: () => [[{}, auth.refused] as const],
    });
  }
  const loop = new LoopMonitor();
  mountHealth(listener.router, { loop, readiness: deps.readiness });
  mountMetrics(listener.router, { registry, ...(deps.moreMetrics ? { more: deps.moreMetrics } : {}) });
  deps.mount?.(listener.router);
  mountConsole(listener.router);
  const feed = mountLiveFeed(listener.server, deps.feed, {
    logger: logger.child({ component: 'live-feed' }),
    ...deps.feedOptions,
    ...(auth ? { authorize: (req) => auth.admits(req.headers.authorization) } : {}),
  });
  readCounter({
    name: 'tsp_live_feed_cutoffs_total', help: 'Live feed clients cut off for falling too far behind (not reading).',
    labelNames: [], registry, read: () => [[{}, feed.cutOffs] as const],
  });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await feed.close();
      await listener.close();
      loop.close();
    })();
    return closed;
  };
  try {
    const url = await listener.listen();
    return { url, feed, close };
  } catch (err) {
    await close();
    throw err;
  }
}
