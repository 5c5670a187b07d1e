/**
 * createCodec: everything expensive happens here, once: the dialect is checked, the DTD is
 * generated under the wire names and compiled by libxml2, and the wire-name lookup tables are
 * built. decode/encode then only look things up (style pattern 9).
 */
import type { CodecOptions, TspCodec } from './api.js';
import { CONFIRMATION } from './codes.js';
import { decodeCommands, decodeConfirmation, buildElementTable, type DecodeContext } from './decode.js';
import { resolveDialect } from './dialect.js';
import { DtdValidation } from './dtd-validator.js';
import { generateDtd } from './dtd.js';
import { encodeConfirmation, encodeMessages, type EncodeContext } from './encode.js';

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
  readonly #validation: DtdValidation;
  readonly #decoding: DecodeContext;
  readonly #encoding: EncodeContext;

  constructor(options: CodecOptions) {
    const names = resolveDialect(options.dialect);
    const isAllowedWbxHost = options.isAllowedWbxHost ?? anyHost;
    this.#validation = new DtdValidation(generateDtd(names));
    this.#decoding = {
      elements: buildElementTable(names),
      validation: this.#validation,
      maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES),
      maxCommands: positiveInteger('maxCommands', options.maxCommands ?? DEFAULT_MAX_COMMANDS),
      isAllowedWbxHost,
    };
    this.#encoding = { names, validation: this.#validation, isAllowedWbxHost };
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
    this.#validation.close();
  }
}

/** Rejects with DialectError or RangeError when the options are unusable. */
export async function createCodec(options: CodecOptions = {}): Promise<TspCodec> {
  return new Codec(options);
}
