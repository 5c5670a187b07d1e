/**
 * `POST <webex.path>`: one W2A transaction in, its Confirmation out (spec 1 and 2.1).
 *
 * The lifecycle is fixed and every step can end the request with a Confirmation:
 *   1. intake open?               no  -> 7 (shutting down; WebEx retries or uses the other URL)
 *      sender admitted?           source, client certificate, subject -> 5; rate -> 7
 *                                 (access/access-gate.ts), before a byte of the body is read
 *   2. body read, size-limited    too large -> 6, before any parsing; a Content-Encoding
 *                                 (compression is never inflated: no bomb can grow) or a
 *                                 Content-Type that is not XML -> 1
 *   3. codec.decode (W2A)         1, 2, 3, 4 or 6 with the codec's reason
 *   4. engine.accept              its result: 0 once durably recorded, the earlier result for
 *                                 a repeated TransID, 7 while draining
 *   any exception                 -> 8, logged; never a crash
 * A non-zero Result's reason goes to the log and to the `X-TSP-Reason` header.
 *
 * The hot path only reads, decodes and hands over: the codec and loggers are built at start-up.
 * It is a plain node request handler (no express request or response objects, no router) so the
 * listener can call it directly for the transactions themselves (webex-listener.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { CONFIRMATION, type ConfirmationResult, type DecodeOptions, type TspCodec, type W2AMessage } from '../../protocol/index.js';
import type { Refusal } from '../access/access-gate.js';
import type { AcceptedTransaction } from '../engine.js';
import { withContext } from '../log.js';

export interface TspRouteDeps {
  codec: TspCodec;
  /** The engine's `accept`. */
  accept: (tx: AcceptedTransaction) => Promise<ConfirmationResult>;
  logger: Logger;
  maxBodyBytes: number;
  isIntakeOpen: () => boolean;
  /** Who may send (access/access-gate.ts); undefined = admitted. It logs and counts refusals. */
  admit: (socket: TLSSocket) => Refusal | undefined;
  clock?: () => number;
}

export const REASON_HEADER = 'X-TSP-Reason';
const CONTENT_TYPE = 'text/xml; charset=utf-8';
/**
 * The media types a W2A body may be declared as. The spec names none, so anything that can
 * carry XML is taken (and an absent header); a form, JSON or multipart body is refused unread.
 */
const XML_MEDIA_TYPES: ReadonlySet<string> = new Set(['text/xml', 'application/xml', 'text/plain', 'application/octet-stream']);
const W2A: DecodeOptions = { direction: 'W2A' };
/** Header values are latin1 without controls; reasons are cut to stay readable. */
const MAX_REASON_CHARS = 200;

/** What the engine's own non-zero results mean, for the header and the log. */
const ENGINE_REASONS: Partial<Record<ConfirmationResult, string>> = {
  [CONFIRMATION.BUSY]: 'the adaptor is busy, draining or not yet started: retry, or use the other adaptor URL',
  [CONFIRMATION.INTERNAL]: 'the adaptor could not record the transaction',
};

type BodyOutcome = { ok: true; body: Buffer } | { ok: false; result: ConfirmationResult; reason: string };

/** Resolves once the Confirmation is written; it catches everything itself and never rejects. */
export type TspRouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function tspRoute(deps: TspRouteDeps): TspRouteHandler {
  const { codec, accept, logger, maxBodyBytes, isIntakeOpen, admit } = deps;
  const now = deps.clock ?? Date.now;

  const confirm = (res: ServerResponse, transId: string, result: ConfirmationResult, reason?: string): void => {
    const body = codec.encodeConfirmation(transId, result);
    if (reason) res.setHeader(REASON_HEADER, headerSafe(reason));
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  return async (req, res) => {
    const receivedAt = now();
    const source = req.socket.remoteAddress;
    let transId = '';
    try {
      if (!isIntakeOpen()) {
        res.setHeader('Connection', 'close');
        confirm(res, transId, CONFIRMATION.BUSY, ENGINE_REASONS[CONFIRMATION.BUSY]);
        return;
      }
      const refusal = admit(req.socket as TLSSocket);
      if (refusal) {
        // Nothing of the body is read: close rather than leave it on a kept-alive socket.
        // Logged (throttled) and counted by whoever admits.
        res.setHeader('Connection', 'close');
        confirm(res, transId, refusal.result, refusal.reason);
        return;
      }
      const read = await readBody(req, maxBodyBytes);
      if (!read.ok) {
        // The rest of the body is not read: close rather than leave it on a kept-alive socket.
        res.setHeader('Connection', 'close');
        logger.warn({ source, result: read.result, reason: read.reason }, 'W2A transaction refused');
        confirm(res, transId, read.result, read.reason);
        return;
      }
      const contentType = req.headers['content-type'];
      const decoded = codec.decode(read.body, contentType ? { direction: 'W2A', contentType } : W2A);
      if (!decoded.ok) {
        transId = decoded.transId ?? '';
        withContext(logger, { TransID: transId }).warn(
          { source, result: decoded.result, reason: decoded.reason },
          'W2A transaction refused',
        );
        confirm(res, transId, decoded.result, decoded.reason);
        return;
      }
      transId = decoded.transId;
      // direction 'W2A' admits only W2A elements, so the narrowing is the codec's guarantee.
      const messages = decoded.messages as W2AMessage[];
      const tx: AcceptedTransaction = { transId, messages, receivedAt };
      if (source) tx.source = source;
      const result = await accept(tx);
      if (result === CONFIRMATION.OK) {
        // A field, not a child logger: a pino child with redaction costs ~0.04 ms and this
        // line is written at debug only, so almost always the hook drops it unread.
        logger.debug({ TransID: transId, source, commands: messages.map((m) => m.type) }, 'W2A transaction confirmed');
      } else {
        withContext(logger, { TransID: transId }).warn({ source, result }, 'W2A transaction not taken');
      }
      confirm(res, transId, result, ENGINE_REASONS[result]);
    } catch (err) {
      withContext(logger, { TransID: transId }).error({ err, source }, 'W2A transaction failed with an internal error');
      if (!res.headersSent) confirm(res, transId, CONFIRMATION.INTERNAL, 'internal error');
    }
  };
}

/**
 * The body as bytes, refused as soon as it is known to exceed the limit: from Content-Length
 * before reading, or while streaming when the sender did not say (chunked).
 */
function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<BodyOutcome> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    return Promise.resolve({
      ok: false,
      result: CONFIRMATION.NOT_WELL_FORMED,
      reason: `Content-Encoding ${encoding} is not accepted: send the XML uncompressed`,
    });
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType && !XML_MEDIA_TYPES.has(mediaType) && !mediaType.endsWith('+xml')) {
    return Promise.resolve({
      ok: false,
      result: CONFIRMATION.NOT_WELL_FORMED,
      reason: `Content-Type ${mediaType} is not XML: send text/xml; charset=utf-8`,
    });
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBodyBytes) return Promise.resolve(tooLarge(`${declared} bytes declared`, maxBodyBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.off('data', onData);
        req.pause();
        resolve(tooLarge(`more than ${size} bytes sent`, maxBodyBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve({ ok: true, body: Buffer.concat(chunks, size) }));
    req.once('error', reject);
    // A sender that goes away mid-body never ends it; settle so nothing waits forever.
    req.once('close', () => resolve({ ok: false, result: CONFIRMATION.NOT_WELL_FORMED, reason: 'the body was cut off' }));
  });
}

function tooLarge(detail: string, maxBodyBytes: number): BodyOutcome {
  return { ok: false, result: CONFIRMATION.TOO_LARGE, reason: `body too large: ${detail}, limit ${maxBodyBytes} bytes` };
}

function headerSafe(reason: string): string {
  return reason.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_REASON_CHARS);
}
