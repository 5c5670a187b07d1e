/**
 * One TCP socket as a link session sees it: connect with a cancellable signal, bytes pushed to
 * one handler, and loss reported exactly once. Every listener is attached here and lives and
 * dies with this object's socket, so a reconnect (a new LinkSocket) can never double them up.
 */
import net from 'node:net';

export interface LinkSocketHandlers {
  data(chunk: Buffer): void;
  /** Called once, when the socket errors or closes, unless `destroy()` came first. */
  lost(error: Error): void;
}

export class LinkSocket {
  readonly #socket: net.Socket;
  #state: 'open' | 'done' = 'open';

  private constructor(socket: net.Socket, handlers: LinkSocketHandlers) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.#state === 'open') handlers.data(chunk);
    });
    socket.on('error', (err) => this.#end(handlers, err));
    socket.on('close', () => this.#end(handlers, new Error('connection closed by the bridge')));
  }

  /** Connects to host:port; rejects on error or when `signal` aborts (the socket is then destroyed). */
  static connect(host: string, port: number, signal: AbortSignal, handlers: LinkSocketHandlers): Promise<LinkSocket> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(abortError(signal));
        return;
      }
      const socket = net.connect({ host, port });
      const cleanup = (): void => {
        socket.off('connect', onConnect);
        socket.off('error', onError);
        signal.removeEventListener('abort', onAbort);
      };
      const onConnect = (): void => {
        cleanup();
        socket.setNoDelay(true);
        socket.setKeepAlive(true);
        resolve(new LinkSocket(socket, handlers));
      };
      const onError = (err: Error): void => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onAbort = (): void => onError(abortError(signal));
      socket.once('connect', onConnect);
      socket.once('error', onError);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  write(data: string | Buffer): void {
    if (this.#state === 'open') this.#socket.write(data);
  }

  destroy(): void {
    this.#state = 'done';
    this.#socket.destroy();
  }

  #end(handlers: LinkSocketHandlers, error: Error): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.#socket.destroy();
    handlers.lost(error);
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('connect aborted');
}
