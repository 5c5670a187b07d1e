/**
 * createCodec: everything expensive happens here, once: the dialect is checked, the DTD is
 * generated under the wire names and compiled by libxml2, and the wire-name lookup tables are
 * built. decode/encode then only look things up (style pattern 9).
 */
import type { CodecOptions, TspCodec } from './api.js';
import { CONFIRMATION } from './codes.js';
import { PARSE_OPTIONS, buildElementTable, decodeCommands, decodeConfirmation, type DecodeContext } from './decode.js';
import { resolveDialect } from './dialect.js';
import { generateDtd } from './dtd.js';
import { encodeConfirmation, encodeMessages, type EncodeContext } from './encode.js';
import { Libxml2Session } from './libxml2-session.js';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_MAX_COMMANDS = 100;

// Without an allow-list every http(s) URL passes; the daemon passes its configured one.
const anyHost = (): boolean => true;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

class Codec implements TspCodec {
  #closed = false;
  readonly #libxml2: Libxml2Session;
  readonly #decoding: DecodeContext;
  readonly #encoding: EncodeContext;

  constructor(options: CodecOptions) {
    // Every option is checked before libxml2 allocates anything that would then leak.
    const names = resolveDialect(options.dialect);
    const isAllowedWbxHost = options.isAllowedWbxHost ?? anyHost;
    const maxBodyBytes = positiveInteger('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    const maxCommands = positiveInteger('maxCommands', options.maxCommands ?? DEFAULT_MAX_COMMANDS);
    this.#libxml2 = new Libxml2Session(generateDtd(names), PARSE_OPTIONS);
    this.#decoding = { elements: buildElementTable(names), libxml2: this.#libxml2, maxBodyBytes, maxCommands, isAllowedWbxHost };
    this.#encoding = { names, libxml2: this.#libxml2, isAllowedWbxHost, checkEncoded: options.checkEncoded ?? false };
  }

  decode: TspCodec['decode'] = (body, opts) => {
    if (this.#closed) return { ok: false, result: CONFIRMATION.BUSY, reason: 'the codec is closed' };
    try {
      return decodeCommands(this.#decoding, body, opts);
    } catch (err) {
      // A libxml2 or allow-list failure must still give the sender one Confirmation.
      return { ok: false, result: CONFIRMATION.INTERNAL, reason: `internal error: ${String(err)}` };
    }
  };

  encode: TspCodec['encode'] = (transId, messages) => {
    if (this.#closed) throw new Error('the codec is closed');
    return encodeMessages(this.#encoding, transId, messages);
  };

  encodeConfirmation: TspCodec['encodeConfirmation'] = (transId, result) => encodeConfirmation(transId, result);

  decodeConfirmation: TspCodec['decodeConfirmation'] = (body) => {
    if (this.#closed) return { ok: false, reason: 'the codec is closed' };
    try {
      return decodeConfirmation(this.#decoding, body);
    } catch (err) {
      return { ok: false, reason: `internal error: ${String(err)}` };
    }
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#libxml2.close();
  }
}

/** Rejects with DialectError or RangeError when the options are unusable. */
export async function createCodec(options: CodecOptions = {}): Promise<TspCodec> {
  return new Codec(options);
}
