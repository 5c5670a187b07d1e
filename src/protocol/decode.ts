/**
 * Decoding: body -> validated, typed commands, or exactly one Confirmation Result (spec 2.1)
 * with a reason naming the line and the element or attribute at fault.
 *
 * The order of checks decides which Result a body with several faults gets, and is fixed:
 * size and bytes (6, 1, 2 for a DOCTYPE) -> well-formedness (1) -> root and Version (2, 4) ->
 * command count (6) -> DTD (2) -> direction and content of each command (2) -> value rules (3).
 *
 * Mapping reads the libxml2 tree that was validated: a second parse by xml2js would cost more
 * than the validation itself (see bench/protocol.ts).
 */
import { XmlDocument, XmlElement, ParseOption, type DtdValidator, type ErrorDetail } from 'libxml2-wasm';
import type { ConfirmationDecodeResult, DecodeOptions, DecodeResult } from './api.js';
import {
  ENVELOPE,
  MESSAGE_TYPES,
  attributesOf,
  specOf,
  type AttributeName,
  type AttributeSpec,
  type Direction,
  type MessageType,
} from './catalogue.js';
import { CONFIRMATION, type ConfirmationResult } from './codes.js';
import type { WireNames } from './dialect.js';
import { acceptInput } from './input.js';
import type { TspMessage } from './messages.js';
import { fromWire, valueProblem, type HostPolicy, type WireValue } from './values.js';

/** One command element under its wire name, with its attributes by wire name. */
export interface ElementEntry {
  readonly type: MessageType;
  readonly direction: Direction;
  readonly attributes: ReadonlyMap<string, readonly [AttributeName, AttributeSpec]>;
}

export interface DecodeContext {
  readonly elements: ReadonlyMap<string, ElementEntry>;
  readonly validator: DtdValidator;
  readonly maxBodyBytes: number;
  readonly maxCommands: number;
  readonly isAllowedWbxHost: HostPolicy;
}

type Failure = Extract<DecodeResult, { ok: false }>;

// No network, no external entities: the document is refused earlier if it declares any.
const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;
const NOT_XML_SPACE = /[^ \t\r\n]/;

/** The wire-name lookup the decoder uses, built once per codec. */
export function buildElementTable(names: WireNames): Map<string, ElementEntry> {
  const table = new Map<string, ElementEntry>();
  for (const type of MESSAGE_TYPES) {
    const attributes = new Map<string, readonly [AttributeName, AttributeSpec]>();
    for (const [name, spec] of attributesOf(type)) attributes.set(names.attribute.get(name) ?? name, [name, spec]);
    table.set(names.element.get(type) ?? type, { type, direction: specOf(type).direction, attributes });
  }
  return table;
}

function fail(result: Failure['result'], reason: string, transId?: string): Failure {
  return transId === undefined ? { ok: false, result, reason } : { ok: false, result, reason, transId };
}

// The root's content-model error comes first but says least: prefer one about a command.
const ROOT_XPATH = /^\/[^/]*$/;
const EXPECTED_MODEL = /, expecting \(.*\), got /;

function libxmlReason(details: readonly ErrorDetail[] | undefined, fallback: string): string {
  const chosen = details?.find((d) => d.xpath !== undefined && !ROOT_XPATH.test(d.xpath)) ?? details?.[0];
  if (!details || !chosen) return fallback;
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return `line ${chosen.line}: ${chosen.message.trim().replace(EXPECTED_MODEL, ', got ')}${more}`;
}

function childElements(parent: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (let node = parent.firstChild; node; node = node.next) if (node instanceof XmlElement) out.push(node);
  return out;
}

function trimXmlSpace(text: string): string {
  return text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

interface Envelope {
  readonly transId: string | undefined;
  readonly children: readonly XmlElement[];
}

/**
 * The steps decode and decodeConfirmation share: bytes, parse, root, Version, size, DTD. The
 * caller owns `doc` through `use` and this function disposes it.
 */
function withEnvelope<T>(
  ctx: DecodeContext,
  body: Uint8Array | string,
  contentType: string | undefined,
  use: (envelope: Envelope) => T,
): T | Failure {
  const input = acceptInput(body, contentType, ctx.maxBodyBytes);
  if (!input.ok) return fail(input.result, input.reason);
  let doc: XmlDocument;
  try {
    doc = XmlDocument.fromBuffer(input.bytes, { encoding: input.charset, option: PARSE_OPTIONS });
  } catch (err) {
    return fail(CONFIRMATION.NOT_WELL_FORMED, libxmlReason((err as { details?: ErrorDetail[] }).details, 'not well-formed'));
  }
  try {
    const root = doc.root;
    if (root.name !== ENVELOPE.root) {
      return fail(CONFIRMATION.INVALID, `line ${root.line}: root element is ${root.name}, expected ${ENVELOPE.root}`);
    }
    const children = childElements(root);
    const first = children[0];
    const transId = first?.name === ENVELOPE.transId ? trimXmlSpace(first.content) : undefined;
    const version = root.attr('Version')?.value;
    if (version !== undefined && version !== ENVELOPE.version) {
      return fail(
        CONFIRMATION.VERSION,
        `line ${root.line}: ${ENVELOPE.root}@Version '${version}' is not supported (${ENVELOPE.version})`,
        transId,
      );
    }
    if (children.length - 1 > ctx.maxCommands) {
      return fail(
        CONFIRMATION.TOO_LARGE,
        `line ${root.line}: ${children.length - 1} commands in one transaction, over the limit of ${ctx.maxCommands}`,
        transId,
      );
    }
    try {
      ctx.validator.validate(doc);
    } catch (err) {
      return fail(CONFIRMATION.INVALID, libxmlReason((err as { details?: ErrorDetail[] }).details, 'not valid'), transId);
    }
    return use({ transId, children });
  } finally {
    doc.dispose();
  }
}

/** Structure the DTD cannot state: direction, and no content but whitespace. */
function structureProblem(ctx: DecodeContext, element: XmlElement, direction: Direction): string | null {
  const entry = ctx.elements.get(element.name);
  if (!entry) return `${element.name} is not a command`;
  if (entry.direction !== direction) return `${element.name} is a ${entry.direction} message; expected ${direction}`;
  if (element.firstChild && NOT_XML_SPACE.test(element.content)) return `${element.name} must not have content`;
  return null;
}

function toMessage(ctx: DecodeContext, element: XmlElement): TspMessage | string {
  // structureProblem has run: the entry exists.
  const entry = ctx.elements.get(element.name) as ElementEntry;
  const message: Record<string, WireValue> = { type: entry.type };
  for (const attr of element.attrs) {
    const wireName = attr.name;
    // The DTD has declared every attribute present.
    const [name, spec] = entry.attributes.get(wireName) as readonly [AttributeName, AttributeSpec];
    const raw = attr.value;
    const problem = valueProblem(spec, raw, ctx.isAllowedWbxHost);
    if (problem) return `${element.name}@${wireName} ${problem}`;
    message[name] = fromWire(spec, raw);
  }
  return message as TspMessage;
}

export function decodeCommands(ctx: DecodeContext, body: Uint8Array | string, opts: DecodeOptions): DecodeResult {
  return withEnvelope(ctx, body, opts.contentType, ({ transId, children }): DecodeResult => {
    // The DTD guarantees a TransID first and at least one command or a Confirmation after it.
    const id = transId ?? '';
    const commands = children.slice(1);
    for (const element of commands) {
      const problem = structureProblem(ctx, element, opts.direction);
      if (problem) return fail(CONFIRMATION.INVALID, `line ${element.line}: ${problem}`, id);
    }
    const idProblem = valueProblem(ENVELOPE.transIdSpec, id, ctx.isAllowedWbxHost);
    if (idProblem) return fail(CONFIRMATION.VALUE_RULE, `line ${children[0]?.line ?? 1}: ${ENVELOPE.transId} ${idProblem}`, id);
    const messages: TspMessage[] = [];
    for (const element of commands) {
      const message = toMessage(ctx, element);
      if (typeof message === 'string') return fail(CONFIRMATION.VALUE_RULE, `line ${element.line}: ${message}`, id);
      messages.push(message);
    }
    return { ok: true, transId: id, messages };
  });
}

export function decodeConfirmation(ctx: DecodeContext, body: Uint8Array | string): ConfirmationDecodeResult {
  const decoded = withEnvelope(ctx, body, undefined, ({ transId, children }): ConfirmationDecodeResult => {
    const confirmation = children[1];
    if (children.length !== 2 || confirmation?.name !== ENVELOPE.confirmation) {
      return { ok: false, reason: `line ${children[1]?.line ?? 1}: expected one ${ENVELOPE.confirmation}` };
    }
    // The DTD has checked the attribute against the enumeration of codes.
    const result = Number(confirmation.attr(ENVELOPE.result)?.value) as ConfirmationResult;
    return { ok: true, transId: transId ?? '', result };
  });
  return 'result' in decoded && !decoded.ok ? { ok: false, reason: decoded.reason } : decoded;
}
