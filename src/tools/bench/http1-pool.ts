/**
 * A minimal HTTP/1.1 client over kept-alive TLS connections, for the throughput load worker:
 * a fixed number of connections, one request in flight on each (no pipelining), a FIFO of
 * requests waiting for a free one. It knows exactly what the bench needs (POST, a response
 * with Content-Length) and nothing else, so its cost per request is a write and a header scan:
 * node:https with an Agent spent more CPU per request than the bare server it measured.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';

export interface Http1Answer {
  /** 0 when the request failed (connection lost, unreadable answer). */
  status: number;
  body: string;
}

export type Http1Callback = (answer: Http1Answer) => void;

interface Waiting {
  payload: string;
  done: Http1Callback;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;
const FAILED: Http1Answer = { status: 0, body: '' };

export class Http1Pool {
  readonly #url: URL;
  readonly #ca: string | undefined;
  readonly #size: number;
  readonly #head: string;
  readonly #idle: Http1Connection[] = [];
  readonly #waiting: Waiting[] = [];
  #live = 0;
  #closed = false;

  constructor(url: string, options: { ca?: string; connections: number }) {
    this.#url = new URL(url);
    if (this.#url.protocol !== 'https:') throw new Error(`the load client speaks HTTPS only; got ${url}`);
    this.#ca = options.ca;
    this.#size = options.connections;
    // All opened now: their TLS handshakes belong to no measured step.
    for (let i = 0; i < this.#size; i++) this.#open();
    this.#head = `POST ${this.#url.pathname}${this.#url.search} HTTP/1.1\r\nHost: ${this.#url.host}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: `;
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** POSTs `body`; `done` is called once, with status 0 if the request failed. */
  post(body: string, done: Http1Callback): void {
    if (this.#closed) return done(FAILED);
    const payload = `${this.#head}${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const connection = this.#idle.pop();
    if (connection) return connection.send(payload, done);
    this.#waiting.push({ payload, done });
    if (this.#live < this.#size) this.#open();
  }

  close(): void {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) connection.destroy();
    for (const waiting of this.#waiting.splice(0)) waiting.done(FAILED);
  }

  #open(): void {
    this.#live += 1;
    const hostname = this.#url.hostname.replace(/^\[|\]$/g, '');
    new Http1Connection(
      tls.connect({
        host: hostname,
        port: Number(this.#url.port || 443),
        ...(isIP(hostname) ? {} : { servername: hostname }),
        // Like the WebEx simulator: without a CA, an adaptor on this machine is not verified.
        ...(this.#ca ? { ca: this.#ca } : isLoopback(hostname) ? { rejectUnauthorized: false } : {}),
      }),
      {
        free: (c) => this.#free(c),
        lost: (c) => this.#lost(c),
      },
    );
  }

  #free(connection: Http1Connection): void {
    if (this.#closed) return connection.destroy();
    const next = this.#waiting.shift();
    if (next) connection.send(next.payload, next.done);
    else this.#idle.push(connection);
  }

  #lost(connection: Http1Connection): void {
    this.#live -= 1;
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    // Requests still waiting get a fresh connection; when none can be made they fail one by one.
    if (this.#closed) return;
    if (this.#waiting.length > 0 && this.#live === 0 && connection.failedBeforeUse) {
      this.#waiting.shift()!.done(FAILED);
    }
    if (this.#waiting.length > 0) this.#open();
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** One kept-alive TLS connection carrying one request at a time. */
class Http1Connection {
  readonly #socket: tls.TLSSocket;
  readonly #pool: { free: (c: Http1Connection) => void; lost: (c: Http1Connection) => void };
  #done: Http1Callback | undefined;
  #buffer: Buffer | undefined;
  #used = false;
  #gone = false;

  constructor(socket: tls.TLSSocket, pool: { free: (c: Http1Connection) => void; lost: (c: Http1Connection) => void }) {
    this.#socket = socket;
    this.#pool = pool;
    socket.setNoDelay(true);
    socket.once('secureConnect', () => pool.free(this));
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  /** Closed before it carried a request: the target cannot be reached. */
  get failedBeforeUse(): boolean {
    return !this.#used;
  }

  send(payload: string, done: Http1Callback): void {
    this.#used = true;
    this.#done = done;
    this.#socket.write(payload);
  }

  destroy(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#socket.destroy();
    this.#answer(FAILED);
    this.#pool.lost(this);
  }

  #read(chunk: Buffer): void {
    const buffer = this.#buffer ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const headerEnd = buffer.indexOf(HEADER_END);
    if (headerEnd < 0) {
      this.#buffer = buffer;
      return;
    }
    const head = buffer.toString('latin1', 0, headerEnd);
    const length = CONTENT_LENGTH.exec(head);
    // The servers measured always send Content-Length; anything else is a failed request.
    if (!length) return this.destroy();
    const bodyStart = headerEnd + HEADER_END.length;
    const bodyEnd = bodyStart + Number(length[1]);
    if (buffer.length < bodyEnd) {
      this.#buffer = buffer;
      return;
    }
    this.#buffer = undefined;
    this.#answer({ status: Number(head.slice(9, 12)), body: buffer.toString('utf8', bodyStart, bodyEnd) });
    if (CONNECTION_CLOSE.test(head) || buffer.length > bodyEnd) this.destroy();
    else this.#pool.free(this);
  }

  #answer(answer: Http1Answer): void {
    const done = this.#done;
    this.#done = undefined;
    done?.(answer);
  }
}
