/**
 * The codec's public contract: what the HTTP endpoint, the outbox, the validate command and
 * the tests call. The implementation is in codec.ts; this file holds only the shapes.
 */
import type { ConfirmationResult } from './codes.js';
import type { TspMessage } from './messages.js';

/**
 * Renames [modeled] names on the wire (spec: "dialect" map), our name -> their name, in both
 * directions. Renaming a [guide] name or making two names collide is refused at codec creation.
 */
export interface Dialect {
  elements?: Record<string, string>;
  attributes?: Record<string, string>;
}

export interface CodecOptions {
  dialect?: Dialect;
  /** Confirmation 6 above this many bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Confirmation 6 above this many commands in one transaction. Default 100. */
  maxCommands?: number;
  /** WbxHostName policy: the allowed WebEx hosts. Default: any http(s) URL. */
  isAllowedWbxHost?: (url: string) => boolean;
  /**
   * Parse every document `encode` writes and validate it against the DTD. Default false: the
   * encoder's own checks already imply validity (the argument is in encode.ts); tests turn it on.
   */
  checkEncoded?: boolean;
}

export type DecodeResult =
  | { ok: true; transId: string; messages: TspMessage[] }
  | { ok: false; result: Exclude<ConfirmationResult, 0>; reason: string; transId?: string };

export type ConfirmationDecodeResult =
  | { ok: true; transId: string; result: ConfirmationResult }
  | { ok: false; reason: string };

export interface DecodeOptions {
  direction: 'W2A' | 'A2W';
  /** The HTTP Content-Type; its charset wins over the XML declaration's encoding. */
  contentType?: string;
}

export interface TspCodec {
  /** Bytes -> validated, typed commands in document order. Never throws. */
  decode(body: Uint8Array | string, opts: DecodeOptions): DecodeResult;
  /** Writes only what the same DTD and value rules accept; throws TspEncodeError on a bad message. */
  encode(transId: string, messages: readonly TspMessage[]): string;
  encodeConfirmation(transId: string, result: ConfirmationResult): string;
  /** Never throws. */
  decodeConfirmation(body: Uint8Array | string): ConfirmationDecodeResult;
  /** Frees the compiled DTD. Idempotent. */
  close(): void;
}

/** A message the engine asked to encode breaks the catalogue: a bug in the caller. */
export class TspEncodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TspEncodeError';
  }
}
