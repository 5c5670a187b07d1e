// The live feed connection: one WebSocket to /live on this host, reopened with a capped,
// jittered back-off whenever it drops; every (re)connection starts from a fresh snapshot.

const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export class Feed {
  #url;
  #onMessage;
  #onStatus;
  #ws = null;
  #attempt = 0;
  #retryTimer = null;

  /**
   * @param {(msg: object) => void} onMessage every feed message, in order
   * @param {(status: {state: string, detail?: string, retryAt?: number}) => void} onStatus
   */
  constructor(onMessage, onStatus) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.#url = `${scheme}://${location.host}/live`;
    this.#onMessage = onMessage;
    this.#onStatus = onStatus;
  }

  connect() {
    clearTimeout(this.#retryTimer);
    this.#onStatus({ state: 'connecting' });
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#onStatus({ state: 'live' });
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.#onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.#attempt) * (0.75 + Math.random() * 0.5);
      this.#attempt++;
      const why = ev.code === 4001 ? 'fell behind the feed' : ev.code === 1001 ? 'adaptor stopping' : `closed (${ev.code})`;
      this.#onStatus({ state: 'down', detail: why, retryAt: Date.now() + delay });
      this.#retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  /** Asks for a conference's timeline; the answer comes as a `timeline` message. */
  requestTimeline(extConfID) {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify({ type: 'timeline', extConfID }));
  }
}
