/**
 * The daemon's A2W poster: the engine's `A2WPoster`, carried out by an `HttpPoster` on a thread
 * of its own (poster-thread.ts). The event loop checks the URL against `webex.allowedHosts`,
 * hands the post over (the posts of one turn in one message) and settles it from the thread's
 * answer; the TLS, HTTP and socket work of the post happens on the thread.
 *
 * Should the thread die, the posts in flight and every later one fail with A2W_ERR_NETWORK
 * saying so: the outbox keeps the messages and retries them, and the daemon must be restarted
 * to post again.
 */
import type { Worker } from 'node:worker_threads';
import { closeWorker, startWorker } from '../common/worker-thread.js';
import type { A2WPoster } from './engine.js';
import { PosterError, type PosterOptions, type PostReply } from './poster.js';
import type { FromPosterThread, PostEnvelope, PostOutcome, PosterThreadData, ToPosterThread } from './poster-thread.js';

/** Posts still in flight at close are bounded by their own deadlines; this bounds the rest. */
const CLOSE_TIMEOUT_MS = 10_000;

export interface ThreadedPosterEvents {
  /** The thread died: nothing more is posted until the daemon restarts. */
  failed?: (reason: string) => void;
}

export class ThreadedPoster {
  readonly #thread: Worker;
  readonly #isAllowed: (url: string) => boolean;
  readonly #pending = new Map<number, PendingPost>();
  #outgoing: PostEnvelope[] = [];
  #nextId = 0;
  #state: { kind: 'open' } | { kind: 'closed' } | { kind: 'failed'; reason: string } = { kind: 'open' };
  readonly #hand = (): void => {
    const posts = this.#outgoing;
    // Close hands over what waits at once; the turn's scheduled hand-over then finds nothing.
    if (posts.length === 0) return;
    this.#outgoing = [];
    if (this.#state.kind === 'open') this.#thread.postMessage({ type: 'posts', posts } satisfies ToPosterThread);
  };
  /** A post settled, one way or the other; one the caller aborted is dropped by the thread too. */
  readonly #forget = (id: number, aborted: boolean): void => {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#thread.unref();
    if (aborted && this.#state.kind === 'open') this.#thread.postMessage({ type: 'abort', ids: [id] } satisfies ToPosterThread);
  };

  constructor(options: PosterOptions, events: ThreadedPosterEvents = {}) {
    const { isAllowed, ...data } = options;
    this.#isAllowed = isAllowed;
    this.#thread = startWorker(import.meta.url, 'poster-thread', data satisfies PosterThreadData);
    // The thread keeps the process alive only while a post waits for it.
    this.#thread.unref();
    this.#thread.on('message', (m: FromPosterThread) => {
      for (const outcome of m.outcomes) this.#pending.get(outcome.id)?.settle(outcome);
    });
    const fail = (reason: string): void => {
      if (this.#state.kind !== 'open') return;
      this.#state = { kind: 'failed', reason };
      events.failed?.(reason);
      this.#failAll('A2W_ERR_NETWORK', `${reason}; restart the daemon to post again`);
    };
    this.#thread.on('error', (err) => fail(`the A2W poster's thread failed: ${err.message}`));
    this.#thread.on('exit', (code) => fail(`the A2W poster's thread exited with code ${code}`));
  }

  /** The engine's `A2WPoster`, bound to this instance. */
  readonly post: A2WPoster = (url, body, opts) => {
    // Checked here, before anything crosses: the thread posts wherever it is told.
    if (!this.#isAllowed(url)) return Promise.reject(new PosterError('A2W_ERR_HOST_NOT_ALLOWED', url));
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new PosterError('A2W_ERR_ABORTED', url, { cause: signal.reason }));
    const state = this.#state;
    if (state.kind === 'closed') return Promise.reject(new PosterError('A2W_ERR_ABORTED', `${url}: the poster is closed`));
    if (state.kind === 'failed') return Promise.reject(new PosterError('A2W_ERR_NETWORK', `${url}: ${state.reason}; restart the daemon to post again`));
    const id = ++this.#nextId;
    if (this.#pending.size === 0) this.#thread.ref();
    return new Promise<PostReply>((resolve, reject) => {
      this.#pending.set(id, new PendingPost(id, url, signal, this.#forget, resolve, reject));
      if (this.#outgoing.length === 0) setImmediate(this.#hand);
      this.#outgoing.push({ id, url, body, timeoutMs: opts.timeoutMs });
    });
  };

  /** Lets posts in flight finish, then ends the thread; later posts fail with A2W_ERR_ABORTED. */
  async close(): Promise<void> {
    if (this.#state.kind !== 'open') return;
    this.#hand();
    this.#state = { kind: 'closed' };
    await closeWorker(this.#thread, { type: 'close' } satisfies ToPosterThread, CLOSE_TIMEOUT_MS);
    this.#failAll('A2W_ERR_ABORTED', 'the poster closed before the post was answered');
  }

  #failAll(code: 'A2W_ERR_NETWORK' | 'A2W_ERR_ABORTED', detail: string): void {
    for (const post of [...this.#pending.values()]) post.settle({ id: post.id, ok: false, code, detail: `${post.url}: ${detail}` });
  }
}

/**
 * One post waiting for the thread's answer, and the listener of the caller's signal: an abort
 * settles it at once and tells the thread to drop it.
 */
class PendingPost {
  readonly id: number;
  readonly url: string;
  readonly #signal: AbortSignal | undefined;
  readonly #forget: (id: number, aborted: boolean) => void;
  readonly #resolve: (reply: PostReply) => void;
  readonly #reject: (err: PosterError) => void;

  constructor(id: number, url: string, signal: AbortSignal | undefined, forget: (id: number, aborted: boolean) => void,
    resolve: (reply: PostReply) => void, reject: (err: PosterError) => void) {
    this.id = id;
    this.url = url;
    this.#signal = signal;
    this.#forget = forget;
    this.#resolve = resolve;
    this.#reject = reject;
    signal?.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal fired. */
  handleEvent(): void {
    this.#signal?.removeEventListener('abort', this);
    this.#forget(this.id, true);
    this.#reject(new PosterError('A2W_ERR_ABORTED', this.url, { cause: this.#signal?.reason }));
  }

  settle(outcome: PostOutcome): void {
    this.#signal?.removeEventListener('abort', this);
    this.#forget(this.id, false);
    if (outcome.ok) this.#resolve(outcome.reply);
    else this.#reject(new PosterError(outcome.code, outcome.detail));
  }
}
