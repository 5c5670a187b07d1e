/**
 * The WebEx side for engine tests: a codec that writes JSON instead of XML (the engine only needs
 * encode and decodeConfirmation), and a poster that records every A2W post (a batch carries
 * several messages) and answers with a Confirmation the test chooses.
 */
import type { A2WMessage, ConfirmationDecodeResult, TspCodec, TspMessage } from '../../../src/protocol/index.js';
import type { A2WPoster } from '../../../src/adaptor/engine.js';

export const jsonCodec: TspCodec = {
  decode: () => ({ ok: false, result: 8, reason: 'the test codec does not decode W2A' }),
  encode: (transId: string, messages: readonly TspMessage[]) => JSON.stringify({ transId, messages }),
  encodeConfirmation: (transId, result) => JSON.stringify({ transId, result }),
  decodeConfirmation(body): ConfirmationDecodeResult {
    try {
      const { transId, result } = JSON.parse(String(body)) as { transId: string; result: 0 };
      return { ok: true, transId, result };
    } catch (err) {
      return { ok: false, reason: String(err) };
    }
  },
  close: () => {},
};

export interface Post {
  url: string;
  transId: string;
  /** The first message of the post. */
  message: A2WMessage;
  messages: A2WMessage[];
  body: string;
}

export type Answer = { status: number; result?: number; retryAfterMs?: number } | 'timeout';

export class FakeWebex {
  /** Every post, failed ones included, in the order made. */
  readonly posts: Post[] = [];
  #waiters: { ready: () => boolean; resolve: () => void }[] = [];
  /** Decides the answer to each post; default: HTTP 200, Confirmation 0. */
  answer: (post: Post) => Answer = () => ({ status: 200, result: 0 });

  readonly post: A2WPoster = async (url, body) => {
    const { transId, messages } = JSON.parse(body) as { transId: string; messages: A2WMessage[] };
    const post = { url, transId, message: messages[0]!, messages, body };
    this.posts.push(post);
    this.#waiters = this.#waiters.filter((w) => (w.ready() ? (w.resolve(), false) : true));
    const a = this.answer(post);
    if (a === 'timeout') throw new Error('timed out');
    const reply: { status: number; body: string; retryAfterMs?: number } = { status: a.status, body: JSON.stringify({ transId, result: a.result ?? 0 }) };
    if (a.retryAfterMs !== undefined) reply.retryAfterMs = a.retryAfterMs;
    return reply;
  };

  /** Messages WebEx accepted (Confirmation 0), once per TransID, in order. */
  delivered(): A2WMessage[] {
    const seen = new Set<string>();
    const out: A2WMessage[] = [];
    for (const p of this.posts) {
      if (seen.has(p.transId)) continue;
      seen.add(p.transId);
      out.push(...p.messages);
    }
    return out;
  }

  /** Delivered messages of one element type. */
  of<T extends A2WMessage['type']>(type: T): Extract<A2WMessage, { type: T }>[] {
    return this.delivered().filter((m): m is Extract<A2WMessage, { type: T }> => m.type === type);
  }

  /** Resolves once `count` messages of `type` have been posted. */
  waitFor(type: A2WMessage['type'], count = 1): Promise<void> {
    const ready = (): boolean => this.posts.flatMap((p) => p.messages).filter((m) => m.type === type).length >= count;
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  types(): string[] {
    return this.delivered().map((m) => m.type);
  }

  clear(): void {
    this.posts.length = 0;
  }
}
