/**
 * What a body must pass before the XML parser sees it: the size limit, the character set
 * (UTF-8 or ISO-8859-1, from the HTTP charset or else the XML declaration), NUL bytes,
 * undecodable bytes, and no document type declaration or entity declaration at all, so that
 * nothing in a request can expand entities, fetch anything or bring its own DTD.
 *
 * Plain functions over bytes: no parsing, no allocation beyond a Buffer view.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { CONFIRMATION } from './codes.js';

export type Charset = 'UTF-8' | 'ISO-8859-1';

/** Bytes ready for the parser. */
export interface AcceptedInput {
  ok: true;
  bytes: Buffer;
  charset: Charset;
  /**
   * The encoding to impose on the parser, over the declaration; undefined when the parser's
   * own reading (the declaration, else UTF-8) already gives `charset`, which saves it a step.
   */
  override: Charset | undefined;
}
export interface RefusedInput {
  ok: false;
  result: typeof CONFIRMATION.NOT_WELL_FORMED | typeof CONFIRMATION.INVALID | typeof CONFIRMATION.TOO_LARGE;
  reason: string;
}

const CHARSETS: Readonly<Record<string, Charset>> = {
  'utf-8': 'UTF-8',
  utf8: 'UTF-8',
  'iso-8859-1': 'ISO-8859-1',
  iso_8859_1: 'ISO-8859-1',
  'iso_8859-1': 'ISO-8859-1',
  latin1: 'ISO-8859-1',
  l1: 'ISO-8859-1',
};
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
// The declaration is ASCII in both accepted charsets, so it is read before decoding.
const XML_DECL = /^(?:\uFEFF|\u00EF\u00BB\u00BF)?<\?xml\s[^>]*?encoding\s*=\s*["']([^"']*)["']/;
const XML_DECL_MAX_BYTES = 256;
const CONTENT_TYPE_CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;
const MARKUP_DECLARATION = Buffer.from('<!', 'latin1');
const FORBIDDEN = ['<!DOCTYPE', '<!ENTITY'].map((s) => Buffer.from(s, 'latin1'));

/** 1-based line of a byte offset. */
export function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

interface Declared {
  name: string;
  fromHttp: boolean;
}

function startsWithDeclaration(bytes: Buffer): boolean {
  const at = bytes[0] === UTF8_BOM[0] ? UTF8_BOM.length : 0;
  return bytes[at] === 0x3c && bytes[at + 1] === 0x3f; // '<?'
}

function declaredCharset(bytes: Buffer, contentType: string | undefined): Declared | null {
  const http = contentType ? CONTENT_TYPE_CHARSET.exec(contentType) : null;
  if (http?.[1]) return { name: http[1], fromHttp: true };
  if (!startsWithDeclaration(bytes)) return null;
  const name = XML_DECL.exec(bytes.subarray(0, XML_DECL_MAX_BYTES).toString('latin1'))?.[1];
  return name === undefined ? null : { name, fromHttp: false };
}

// Only called on a body already known to be bad, to say where.
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const size = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (size === 0 || i + size > bytes.length) return i;
    if (!isUtf8(bytes.subarray(i, i + size))) return i;
    i += size;
  }
  return bytes.length;
}

function refuse(result: RefusedInput['result'], reason: string): RefusedInput {
  return { ok: false, result, reason };
}

/**
 * Checks a body against everything that is decided before parsing. A string body has already
 * been decoded by its producer, so it is taken as UTF-8 whatever its declaration says.
 */
export function acceptInput(
  body: Uint8Array | string,
  contentType: string | undefined,
  maxBodyBytes: number,
): AcceptedInput | RefusedInput {
  const isText = typeof body === 'string';
  const bytes = isText
    ? Buffer.from(body, 'utf8')
    : Buffer.isBuffer(body)
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length > maxBodyBytes) {
    return refuse(CONFIRMATION.TOO_LARGE, `body is ${bytes.length} bytes, over the limit of ${maxBodyBytes}`);
  }
  if (bytes.length === 0) return refuse(CONFIRMATION.NOT_WELL_FORMED, 'line 1: body is empty');
  // Before the NUL check, which every UTF-16 body would fail with a less useful reason.
  if (!isText && (bytes[0] === 0xfe || bytes[0] === 0xff)) {
    return refuse(CONFIRMATION.NOT_WELL_FORMED, 'line 1: UTF-16 is not supported (UTF-8 or ISO-8859-1)');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return refuse(CONFIRMATION.NOT_WELL_FORMED, `line ${lineAt(bytes, nul)}: NUL byte at offset ${nul}`);

  let charset: Charset = 'UTF-8';
  // A string was decoded by its producer: its declaration may no longer be true.
  let override: Charset | undefined = isText ? 'UTF-8' : undefined;
  if (!isText) {
    const declared = declaredCharset(bytes, contentType);
    if (declared !== null) {
      const known = CHARSETS[declared.name.toLowerCase()];
      if (!known) return refuse(CONFIRMATION.NOT_WELL_FORMED, `line 1: unsupported character set '${declared.name}' (UTF-8 or ISO-8859-1)`);
      charset = known;
      // The HTTP charset wins over the declaration, and aliases are spelled out for the parser.
      if (declared.fromHttp || declared.name.toUpperCase() !== known) override = known;
    }
    if (charset === 'UTF-8' && !isUtf8(bytes)) {
      const at = firstInvalidUtf8(bytes);
      return refuse(CONFIRMATION.NOT_WELL_FORMED, `line ${lineAt(bytes, at)}: invalid UTF-8 at offset ${at}`);
    }
  }
  if (charset === 'ISO-8859-1' && bytes.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) {
    return refuse(CONFIRMATION.NOT_WELL_FORMED, 'line 1: a UTF-8 byte order mark in an ISO-8859-1 body');
  }
  // One scan for '<!' (rare in TSP bodies) rather than one per forbidden declaration.
  for (let at = bytes.indexOf(MARKUP_DECLARATION); at >= 0; at = bytes.indexOf(MARKUP_DECLARATION, at + 2)) {
    const marker = FORBIDDEN.find((m) => bytes.subarray(at, at + m.length).equals(m));
    if (marker) {
      return refuse(
        CONFIRMATION.INVALID,
        `line ${lineAt(bytes, at)}: ${marker.toString('latin1')} is not accepted (the DTD is the adaptor's own)`,
      );
    }
  }
  return { ok: true, bytes, charset, override };
}
