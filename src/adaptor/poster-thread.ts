/**
 * The A2W poster's thread: an `HttpPoster` (poster.ts) that posts what the event loop hands it
 * and answers each post by its id. TLS, HTTP and the sockets of A2W posts took 15% of the
 * daemon's event loop at 800 commands/s; here they delay no Confirmation.
 *
 * Answers of one turn cross back in one message, as the posts of one turn came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HttpPoster, PosterError, type PosterErrorCode, type PosterOptions, type PostReply } from './poster.js';

/** The poster's options as they cross: the allow-list stays with the facade, which checks every URL. */
export type PosterThreadData = Omit<PosterOptions, 'isAllowed'>;

export interface PostEnvelope {
  id: number;
  url: string;
  body: string;
  timeoutMs: number;
}

export type PostOutcome = { id: number; ok: true; reply: PostReply } | { id: number; ok: false; code: PosterErrorCode; detail: string };

export type ToPosterThread =
  | { type: 'posts'; posts: PostEnvelope[] }
  /** The caller gave up on these posts: they are dropped, on the wire or in the queue. */
  | { type: 'abort'; ids: number[] }
  /** Lets the posts in flight finish, answers them, and ends the thread. */
  | { type: 'close' };

export type FromPosterThread = { type: 'answers'; outcomes: PostOutcome[] };

const port = parentPort!;
// The facade has refused every URL the allow-list does not allow before it crosses.
const poster = new HttpPoster({ ...(workerData as PosterThreadData), isAllowed: () => true });
/** One per post in flight, so the facade can drop one post without touching the others. */
const aborts = new Map<number, AbortController>();
let outcomes: PostOutcome[] = [];

port.on('message', (m: ToPosterThread) => {
  if (m.type === 'posts') {
    for (const p of m.posts) start(p);
  } else if (m.type === 'abort') {
    for (const id of m.ids) aborts.get(id)?.abort();
  } else {
    void poster.close().then(() => {
      answer();
      port.close();
    });
  }
});

function start(p: PostEnvelope): void {
  const controller = new AbortController();
  aborts.set(p.id, controller);
  poster.post(p.url, p.body, { timeoutMs: p.timeoutMs, signal: controller.signal }).then(
    (reply) => settled({ id: p.id, ok: true, reply }),
    (err: unknown) => settled(err instanceof PosterError
      ? { id: p.id, ok: false, code: err.code, detail: err.detail }
      : { id: p.id, ok: false, code: 'A2W_ERR_NETWORK', detail: `${p.url}: ${String(err)}` }),
  );
}

function settled(outcome: PostOutcome): void {
  aborts.delete(outcome.id);
  if (outcomes.length === 0) setImmediate(answer);
  outcomes.push(outcome);
}

function answer(): void {
  if (outcomes.length === 0) return;
  port.postMessage({ type: 'answers', outcomes } satisfies FromPosterThread);
  outcomes = [];
}
