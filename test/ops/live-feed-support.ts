/** A live feed client for tests: records every message and waits for the one wanted. */
import { WebSocket } from 'ws';
import type { FeedMessage } from '../../src/adaptor/live/live-feed.js';

export class FeedReader {
  readonly messages: FeedMessage[] = [];
  readonly ws: WebSocket;
  #wake: (() => void)[] = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as FeedMessage);
      for (const w of this.#wake.splice(0)) w();
    });
  }

  /** Resolves with the first message matching `predicate`, received or still to come (bounded by the test's timeout). */
  async until(predicate: (m: FeedMessage) => boolean): Promise<FeedMessage> {
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }

  /** Resolves with the close code. */
  closed(): Promise<number> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) resolve(-1);
      this.ws.once('close', (code) => resolve(code));
    });
  }
}
