/**
 * Frames of the 2313 protocol on a TCP byte stream (docs/voyant2313-protocol.md, "Framing"):
 *
 *   'C' 'X' 0x00 0x01 | payload length, uint32 big-endian | payload (UTF-8 XML)
 *
 * Push-based and I/O-free: `push(chunk)` returns whatever frames the bytes completed, so the same
 * bytes give the same frames whether they arrive whole, one at a time or split anywhere.
 *
 * A frame with a wrong magic, an empty one or one longer than the maximum is reported as
 * malformed and the framer hunts for the next magic. Hunting is unambiguous because the magic
 * contains a NUL byte, which XML text can never contain: the bytes of an oversize frame's
 * payload are skipped without being buffered, so memory stays bounded by the maximum frame size.
 * A payload is kept as the chunks that brought it and joined once complete, so a corrupt length
 * costs the bytes that actually arrived, not the length it claims. The framer holds views of
 * those chunks, not copies: a chunk given to `push` must not be written to afterwards (a
 * socket's 'data' chunks never are).
 */

export const FRAME_MAGIC = Buffer.from([0x43, 0x58, 0x00, 0x01]);
export const FRAME_HEADER_BYTES = 8;
/**
 * The snapshot is the one message that grows with what the bridge holds: about 300 KiB for the
 * callers of a full 1344-port chassis, plus about 115 bytes for every conference created and not
 * yet ended, however many. A bound it exceeds leaves the bridge impossible to resync (every
 * snapshot skipped, the link dropped and tried again); 64 MiB holds some 500,000 conferences.
 */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export type FramerOutput =
  | { type: 'frame'; payload: Buffer }
  /** `raw` is the offending header; skipped bytes after it are not kept. */
  | { type: 'malformed'; reason: string; raw: Buffer };

export function encodeFrame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  FRAME_MAGIC.copy(header, 0);
  header.writeUInt32BE(body.length, FRAME_MAGIC.length);
  return Buffer.concat([header, body]);
}

type FramerState =
  | { at: 'header'; header: Buffer; filled: number }
  | { at: 'body'; length: number; chunks: Buffer[]; filled: number }
  /** Skipping bytes until the magic; `carry` holds a possible start of it from the last chunk. */
  | { at: 'hunting'; carry: Buffer };

export class Framer {
  readonly #maxFrameBytes: number;
  #state: FramerState = Framer.#expectHeader();

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  static #expectHeader(): FramerState {
    return { at: 'header', header: Buffer.allocUnsafe(FRAME_HEADER_BYTES), filled: 0 };
  }

  push(chunk: Buffer): FramerOutput[] {
    const out: FramerOutput[] = [];
    let data = chunk;
    let offset = 0;
    // Each pass consumes at least one byte or ends the chunk, so the loop is bounded by its length.
    while (offset < data.length) {
      const state = this.#state;
      if (state.at === 'hunting') {
        const window = Buffer.concat([state.carry, data.subarray(offset)]);
        const found = window.indexOf(FRAME_MAGIC);
        if (found < 0) {
          const keep = Math.min(window.length, FRAME_MAGIC.length - 1);
          state.carry = Buffer.from(window.subarray(window.length - keep));
          return out;
        }
        this.#state = Framer.#expectHeader();
        data = window;
        offset = found;
        continue;
      }
      if (state.at === 'header') {
        const n = Math.min(FRAME_HEADER_BYTES - state.filled, data.length - offset);
        data.copy(state.header, state.filled, offset, offset + n);
        state.filled += n;
        offset += n;
        if (state.filled < FRAME_HEADER_BYTES) return out;
        const rest = this.#onHeader(state.header, out);
        if (rest) {
          // The bad header's own bytes (after its first) may hold the next magic.
          data = Buffer.concat([rest, data.subarray(offset)]);
          offset = 0;
        }
        continue;
      }
      const n = Math.min(state.length - state.filled, data.length - offset);
      state.chunks.push(data.subarray(offset, offset + n));
      state.filled += n;
      offset += n;
      if (state.filled === state.length) {
        out.push({ type: 'frame', payload: state.chunks.length === 1 ? state.chunks[0]! : Buffer.concat(state.chunks, state.length) });
        this.#state = Framer.#expectHeader();
      }
    }
    return out;
  }

  /** Moves past a complete header; returns bytes to scan again when the header was bad. */
  #onHeader(header: Buffer, out: FramerOutput[]): Buffer | undefined {
    if (!header.subarray(0, FRAME_MAGIC.length).equals(FRAME_MAGIC)) {
      out.push({ type: 'malformed', reason: 'bad frame magic', raw: Buffer.from(header) });
      this.#state = { at: 'hunting', carry: Buffer.alloc(0) };
      return Buffer.from(header.subarray(1));
    }
    const length = header.readUInt32BE(FRAME_MAGIC.length);
    if (length === 0 || length > this.#maxFrameBytes) {
      const reason = length === 0 ? 'empty frame' : `frame of ${length} bytes exceeds ${this.#maxFrameBytes}`;
      out.push({ type: 'malformed', reason, raw: Buffer.from(header) });
      this.#state = { at: 'hunting', carry: Buffer.alloc(0) };
      return undefined;
    }
    this.#state = { at: 'body', length, chunks: [], filled: 0 };
    return undefined;
  }
}
