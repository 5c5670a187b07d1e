/**
 * The live feed (issue 5): a WebSocket on the admin listener that streams what the engine does
 * as JSON, a snapshot on connect and then deltas in order (docs/console.md has the format).
 *
 * It must never hurt the daemon it watches: each client may fall at most `maxBufferedBytes`
 * behind (a client that stops reading is cut off with close code 4001 rather than letting its
 * backlog grow), clients may send only small messages (`maxPayloadBytes`), dead peers are
 * dropped by a ping/pong heartbeat, and a page on another origin cannot open the feed (the
 * browser sends its Origin; it must be the host the feed is served from).
 *
 * On a cluster member the feed also carries the cluster (this instance's role, its leases, its
 * peers' heartbeats, take-overs, lease losses, fencing refusals) in the snapshot and as
 * `cluster` messages when it changes; and its source is the engine of whichever take-over is
 * current (live/engine-relay.ts): when that engine is replaced, every client gets a fresh
 * snapshot.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { TypedEmitter } from '../../common/typed-emitter.js';
import type { ClusterStatus } from '../cluster/cluster-member.js';
import type { BridgeView, ConferenceChange, ConferenceUpdate, EngineEvents, EngineSnapshot, TimelineStep } from '../conference/observation.js';
import { LiveState, type LiveSnapshot } from './live-state.js';
import type { TimelineEntry } from './timelines.js';
import type { ConferenceView } from './views.js';

export const LIVE_FEED_PATH = '/live';
/** How far (bytes not yet sent) a client may fall behind before it is cut off. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Clients only ask for timelines: a few hundred bytes. */
export const MAX_PAYLOAD_BYTES = 4 * 1024;
export const HEARTBEAT_INTERVAL_MS = 15_000;
/** Bridges are sent again this often, so heartbeat ages stay current between link changes. */
export const BRIDGE_REFRESH_MS = 5_000;
/** How often a cluster member's status is read for changes while clients are connected. */
export const CLUSTER_REFRESH_MS = 1_000;
/** After the close frame, how long a cut-off or closing client gets before its socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/** Close codes the feed uses besides the standard ones (1001 going away, 1008, 1009 too big). */
export const CLOSE_TOO_SLOW = 4001;

export type FeedMessage = { seq: number; at: number } & (
  | ({ type: 'snapshot'; cluster?: ClusterStatus } & LiveSnapshot)
  | { type: 'cluster'; cluster: ClusterStatus }
  | { type: 'conference'; conference: ConferenceView; changes: ConferenceChange[] }
  | { type: 'bridge'; bridge: BridgeView }
  | { type: 'step'; entry: TimelineEntry }
  /** The answer to a client's `{ "type": "timeline", "extConfID": ... }`, to that client only. */
  | { type: 'timeline'; extConfID: string; entries: TimelineEntry[] }
);

type Body = FeedMessage extends infer M ? (M extends FeedMessage ? Omit<M, 'seq' | 'at'> : never) : never;

/** The engine, or anything else that emits its observation events. */
export type FeedSource = Pick<TypedEmitter<EngineEvents>, 'on' | 'off'> & {
  snapshot(): EngineSnapshot;
  /** For a source whose engine is replaced (a take-over): `listener` runs after each replacement; returns the unsubscribe. */
  onReplaced?(listener: () => void): () => void;
};

export interface LiveFeedOptions {
  logger: Logger;
  path?: string;
  maxBufferedBytes?: number;
  maxPayloadBytes?: number;
  heartbeatIntervalMs?: number;
  bridgeRefreshMs?: number;
  /** When the admin listener requires credentials: whether this upgrade request carries them. */
  authorize?: (req: http.IncomingMessage) => boolean;
  /** On a cluster member: its status, sent with the snapshot and whenever it changes. */
  cluster?: { status(): ClusterStatus; refreshMs?: number };
}

interface Client {
  ws: WebSocket;
  /** A pong came since the last ping. */
  alive: boolean;
}

export class LiveFeed {
  /** Clients cut off for falling behind, since start (for metrics). */
  cutOffs = 0;
  #source: FeedSource;
  #log: Logger;
  #path: string;
  #maxBufferedBytes: number;
  #authorize: ((req: http.IncomingMessage) => boolean) | undefined;
  #wss: WebSocketServer;
  #clients = new Set<Client>();
  #state = new LiveState();
  #seq = 0;
  #timers: NodeJS.Timeout[];
  #detach: (() => void)[] = [];
  #status: 'open' | 'closed' = 'open';
  #cluster: (() => ClusterStatus) | undefined;
  /** The cluster status last sent, as JSON, so an unchanged one is not sent again. */
  #clusterSent = '';

  constructor(source: FeedSource, options: LiveFeedOptions) {
    this.#source = source;
    this.#log = options.logger;
    this.#path = options.path ?? LIVE_FEED_PATH;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.#authorize = options.authorize;
    this.#cluster = options.cluster && (() => options.cluster!.status());
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES,
    });
    this.#state.reset(source.snapshot());
    source.on('conference', this.#onConference).on('bridge', this.#onBridge).on('step', this.#onStep);
    const unReplaced = source.onReplaced?.(() => this.#resync());
    if (unReplaced) this.#detach.push(unReplaced);
    this.#timers = [
      setInterval(() => this.#beat(), options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS),
      setInterval(() => this.#refreshBridges(), options.bridgeRefreshMs ?? BRIDGE_REFRESH_MS),
      ...(options.cluster ? [setInterval(() => this.#refreshCluster(), options.cluster.refreshMs ?? CLUSTER_REFRESH_MS)] : []),
    ];
    for (const t of this.#timers) t.unref();
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Serves the feed on `server`'s upgrade requests for the feed's path. */
  attach(server: http.Server): void {
    const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => this.#onUpgrade(server, req, socket, head);
    server.on('upgrade', onUpgrade);
    this.#detach.push(() => server.off('upgrade', onUpgrade));
  }

  /** Says goodbye to every client (1001) and stops listening to the engine. Idempotent. */
  async close(): Promise<void> {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    for (const t of this.#timers) clearInterval(t);
    this.#source.off('conference', this.#onConference).off('bridge', this.#onBridge).off('step', this.#onStep);
    for (const detach of this.#detach) detach();
    const closed = [...this.#clients].map((c) => this.#disconnect(c, 1001, 'adaptor shutting down'));
    await Promise.all(closed);
    this.#wss.close();
  }

  // --- engine -> clients -----------------------------------------------------------------------

  #onConference = (update: ConferenceUpdate): void => {
    const conference = this.#state.conference(update, Date.now());
    this.#broadcast({ type: 'conference', conference, changes: update.changes });
  };

  #onBridge = (bridge: BridgeView): void => {
    this.#state.bridge(bridge);
    this.#broadcast({ type: 'bridge', bridge });
  };

  #onStep = (step: TimelineStep): void => {
    const entry = this.#state.step(step);
    if (entry) this.#broadcast({ type: 'step', entry });
  };

  #refreshBridges(): void {
    if (this.#clients.size === 0) return;
    for (const bridge of this.#source.snapshot().bridges) this.#onBridge(bridge);
  }

  #refreshCluster(): void {
    if (this.#clients.size === 0 || !this.#cluster) return;
    const cluster = this.#cluster();
    const json = JSON.stringify(cluster);
    if (json === this.#clusterSent) return;
    this.#clusterSent = json;
    this.#broadcast({ type: 'cluster', cluster });
  }

  /** The source's engine was replaced: everyone starts over from its snapshot (timelines are kept). */
  #resync(): void {
    this.#state.reset(this.#source.snapshot());
    this.#broadcast(this.#snapshotBody());
  }

  #snapshotBody(): Body {
    const cluster = this.#cluster?.();
    if (cluster) this.#clusterSent = JSON.stringify(cluster);
    return { type: 'snapshot', ...this.#state.snapshot(), ...(cluster ? { cluster } : {}) };
  }

  #broadcast(body: Body): void {
    if (this.#clients.size === 0) return;
    const data = this.#frame(body);
    for (const client of this.#clients) this.#send(client, data);
  }

  #frame(body: Body): string {
    return JSON.stringify({ seq: ++this.#seq, at: Date.now(), ...body });
  }

  #send(client: Client, data: string): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount + data.length > this.#maxBufferedBytes) {
      this.cutOffs++;
      this.#log.warn({ bufferedBytes: client.ws.bufferedAmount, limitBytes: this.#maxBufferedBytes },
        'live feed client fell too far behind (not reading); cut off, it may reconnect for a fresh snapshot');
      void this.#disconnect(client, CLOSE_TOO_SLOW, 'too slow: fell behind the live feed');
      return;
    }
    client.ws.send(data);
  }

  /** Sends the close frame and destroys the socket if the peer does not finish the close soon. */
  #disconnect(client: Client, code: number, reason: string): Promise<void> {
    this.#clients.delete(client);
    const { ws } = client;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      timer.unref();
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    });
  }

  #beat(): void {
    for (const client of this.#clients) {
      if (!client.alive) {
        this.#clients.delete(client);
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }

  // --- connections -----------------------------------------------------------------------------

  #onUpgrade(server: http.Server, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (new URL(req.url ?? '/', 'http://feed').pathname !== this.#path) {
      // Another upgrade handler may want it; with none, nobody would ever answer.
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found', `the live feed is at ${this.#path}`);
      return;
    }
    if (this.#authorize && !this.#authorize(req)) {
      refuse(socket, 401, 'Unauthorized', 'the live feed needs the admin listener\'s credentials');
      return;
    }
    if (!sameOrigin(req)) {
      this.#log.warn({ origin: req.headers.origin, host: req.headers.host }, 'live feed refused to a page from another origin');
      refuse(socket, 403, 'Forbidden', 'the live feed is only for pages served by this adaptor');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  #accept(ws: WebSocket): void {
    const client: Client = { ws, alive: true };
    this.#clients.add(client);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('message', (data, isBinary) => this.#onClientMessage(client, data, isBinary));
    // Oversized or malformed frames: ws has already closed the connection with the right code.
    ws.on('error', (err) => this.#log.info({ err: err.message }, 'live feed client misbehaved; disconnected'));
    ws.on('close', () => this.#clients.delete(client));
    this.#send(client, this.#frame(this.#snapshotBody()));
  }

  #onClientMessage(client: Client, data: RawData, isBinary: boolean): void {
    const request = isBinary ? undefined : parseRequest(data.toString());
    if (!request) {
      void this.#disconnect(client, 1008, 'expected {"type":"timeline","extConfID":"..."}');
      return;
    }
    this.#send(client, this.#frame({ type: 'timeline', extConfID: request.extConfID, entries: this.#state.timeline(request.extConfID) }));
  }
}

export function mountLiveFeed(server: http.Server, source: FeedSource, options: LiveFeedOptions): LiveFeed {
  const feed = new LiveFeed(source, options);
  feed.attach(server);
  return feed;
}

function parseRequest(text: string): { extConfID: string } | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const { type, extConfID } = value as Record<string, unknown>;
    return type === 'timeline' && typeof extConfID === 'string' ? { extConfID } : undefined;
  } catch {
    return undefined;
  }
}

/** A request without Origin is not from a browser page; one with it must come from this host. */
function sameOrigin(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function refuse(socket: Duplex, status: number, text: string, why: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why) + 1}\r\n\r\n${why}\n`);
}
