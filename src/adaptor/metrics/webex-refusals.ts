/**
 * `tsp_webex_refusals_total{kind}`: what the WebEx listener refused before the engine
 * (docs/security.md), read at scrape time from the listener's own counts. The same series on a
 * single instance and a cluster member.
 */
import type { Registry } from 'prom-client';
import type { WebexListener } from '../http/webex-listener.js';
import { readCounter } from './read-counter.js';

export function registerWebexRefusals(registry: Registry, listener: Pick<WebexListener, 'refusals'>): void {
  readCounter({
    name: 'tsp_webex_refusals_total',
    help: 'WebEx connections or transactions refused before the engine (docs/security.md), by kind: source, client-certificate, client-subject, rate, connections, tls-handshake.',
    labelNames: ['kind'], registry,
    read: () => [...listener.refusals].map(([kind, n]) => [{ kind }, n] as const),
  });
}
