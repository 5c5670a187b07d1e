/**
 * The protocol layer's public surface: message types, result codes, the catalogue and the
 * codec. Nothing here knows about HTTP or bridges.
 */
export type { W2AMessage, A2WMessage, TspMessage, MessageOf, W2AType, A2WType } from './messages.js';
export { CONFIRMATION, RESULT } from './codes.js';
export type { ConfirmationResult, ResponseResult } from './codes.js';
export { MESSAGES, MESSAGE_TYPES, ENVELOPE, LIMITS } from './catalogue.js';
export type { MessageType, MessageKind, Direction } from './catalogue.js';
export type {
  CodecOptions,
  Dialect,
  DecodeResult,
  DecodeOptions,
  ConfirmationDecodeResult,
  TspCodec,
} from './api.js';
export { TspEncodeError } from './api.js';
export { createCodec, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_COMMANDS } from './codec.js';
export { DialectError } from './dialect.js';
