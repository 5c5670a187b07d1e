/**
 * Push-based line framer for the Voyant 2035 protocol: bytes in (any split), complete lines
 * out, no I/O. Lines end in LF (a CR before it is dropped). The buffer is capped: a line longer
 * than `maxLineBytes` is reported once as an overflow (its first bytes kept for the log) and
 * discarded up to its end, so a runaway peer costs a log line, not the process's memory.
 */

/** Longest line accepted; the longest legitimate line (a snapshot caller record) is far shorter. */
export const MAX_LINE_BYTES = 8_192;
/** Bytes of an over-long line kept for the log. */
const OVERFLOW_SAMPLE_BYTES = 200;
const LF = 0x0a;
const CR = 0x0d;

export interface LineHandlers {
  line(text: string): void;
  /** A line exceeded the cap; `sample` is its start, decoded leniently. */
  overflow(sample: string): void;
}

export class LineFramer {
  readonly #handlers: LineHandlers;
  readonly #maxLineBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Inside an over-long line: drop bytes until its end. */
  #discarding = false;

  constructor(handlers: LineHandlers, maxLineBytes = MAX_LINE_BYTES) {
    this.#handlers = handlers;
    this.#maxLineBytes = maxLineBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(LF, start);
      if (end === -1) {
        this.#keep(chunk.subarray(start));
        return;
      }
      this.#keep(chunk.subarray(start, end));
      this.#finishLine();
      start = end + 1;
    }
  }

  #keep(part: Buffer): void {
    if (this.#discarding || part.length === 0) return;
    if (this.#buffered + part.length > this.#maxLineBytes) {
      const sample = Buffer.concat([...this.#chunks, part]).subarray(0, OVERFLOW_SAMPLE_BYTES);
      this.#reset();
      this.#discarding = true;
      this.#handlers.overflow(sample.toString('utf8'));
      return;
    }
    this.#chunks.push(part);
    this.#buffered += part.length;
  }

  #finishLine(): void {
    if (this.#discarding) {
      this.#discarding = false;
      return;
    }
    let line = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    this.#reset();
    if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    this.#handlers.line(line.toString('utf8'));
  }

  #reset(): void {
    this.#chunks = [];
    this.#buffered = 0;
  }
}
