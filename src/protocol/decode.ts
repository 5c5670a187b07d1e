/**
 * Decoding: body -> validated, typed commands, or exactly one Confirmation Result (spec 2.1)
 * with a reason naming the line and the element or attribute at fault.
 *
 * The order of checks decides which Result a body with several faults gets, and is fixed:
 * size and bytes (6, 1, 2 for a DOCTYPE) -> well-formedness (1) -> root and Version (2, 4) ->
 * command count (6) -> DTD (2) -> direction and content of each command (2) -> value rules (3).
 *
 * Mapping reads the libxml2 tree that was validated (tree.ts) rather than parsing again with
 * xml2js: xml2js alone parses a TSP request at about 40% of libxml2-wasm's rate, so a path
 * that also ran it could never keep half the bare-parse rate (bench/protocol.ts).
 */
import { ParseOption, type ErrorDetail } from 'libxml2-wasm';
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
import type { Libxml2Session } from './libxml2-session.js';
import type { TspMessage } from './messages.js';
import {
  attributeValue,
  elementChildren,
  firstAttribute,
  hasChildren,
  lineOf,
  nameOf,
  nextSibling,
  rootElement,
  textOf,
  type NodePtr,
} from './tree.js';
import { fromWire, valueProblem, type HostPolicy, type WireValue } from './values.js';

/** One command element under its wire name, with its attributes by wire name. */
export interface ElementEntry {
  readonly type: MessageType;
  readonly direction: Direction;
  readonly attributes: ReadonlyMap<string, readonly [AttributeName, AttributeSpec]>;
}

export interface DecodeContext {
  readonly elements: ReadonlyMap<string, ElementEntry>;
  readonly libxml2: Libxml2Session;
  readonly maxBodyBytes: number;
  readonly maxCommands: number;
  readonly isAllowedWbxHost: HostPolicy;
}

type Failure = Extract<DecodeResult, { ok: false }>;

// No network, no external entities: the document is refused earlier if it declares any.
export const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;
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

function isFailure(value: object): value is Failure {
  return 'ok' in value && value.ok === false && 'result' in value;
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

const XML_SPACE_AROUND = /^[ \t\r\n]+|[ \t\r\n]+$/g;
const isXmlSpace = (code: number | undefined): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

function trimXmlSpace(text: string): string {
  // Most TransIDs have no surrounding space: skip the regular expression for them.
  if (!isXmlSpace(text.charCodeAt(0)) && !isXmlSpace(text.charCodeAt(text.length - 1))) return text;
  return text.replace(XML_SPACE_AROUND, '');
}

interface Envelope {
  readonly transId: string | undefined;
  readonly children: readonly NodePtr[];
  readonly names: readonly string[];
}

/**
 * The steps decode and decodeConfirmation share: bytes, parse, root, Version, size, DTD. `use`
 * reads the tree while it lives: its node pointers die with the document, disposed here.
 */
function withEnvelope<T>(
  ctx: DecodeContext,
  body: Uint8Array | string,
  contentType: string | undefined,
  use: (envelope: Envelope) => T,
): T | Failure {
  const input = acceptInput(body, contentType, ctx.maxBodyBytes);
  if (!input.ok) return fail(input.result, input.reason);
  const parsed = ctx.libxml2.parse(input.bytes, input.override);
  if (!parsed.ok) return fail(CONFIRMATION.NOT_WELL_FORMED, libxmlReason(parsed.errors, 'not well-formed'));
  const doc = parsed.doc;
  try {
    const root = rootElement(doc);
    const rootName = nameOf(root);
    if (rootName !== ENVELOPE.root) {
      return fail(CONFIRMATION.INVALID, `line ${lineOf(root)}: root element is ${rootName}, expected ${ENVELOPE.root}`);
    }
    const children = elementChildren(root);
    const names = children.map(nameOf);
    const first = children[0];
    const transId = first !== undefined && names[0] === ENVELOPE.transId ? trimXmlSpace(textOf(first)) : undefined;
    const version = attributeValue(root, 'Version');
    if (version !== undefined && version !== ENVELOPE.version) {
      return fail(
        CONFIRMATION.VERSION,
        `line ${lineOf(root)}: ${ENVELOPE.root}@Version '${version}' is not supported (${ENVELOPE.version})`,
        transId,
      );
    }
    if (children.length - 1 > ctx.maxCommands) {
      return fail(
        CONFIRMATION.TOO_LARGE,
        `line ${lineOf(root)}: ${children.length - 1} commands in one transaction, over the limit of ${ctx.maxCommands}`,
        transId,
      );
    }
    const invalid = ctx.libxml2.invalidities(doc);
    if (invalid.length > 0) return fail(CONFIRMATION.INVALID, libxmlReason(invalid, 'not valid'), transId);
    return use({ transId, children, names });
  } finally {
    ctx.libxml2.free(doc);
  }
}

/** Structure the DTD cannot state: direction, and no content but whitespace. */
function structureProblem(ctx: DecodeContext, element: NodePtr, name: string, direction: Direction): string | null {
  const entry = ctx.elements.get(name);
  if (!entry) return `${name} is not a command`;
  if (entry.direction !== direction) return `${name} is sent ${entry.direction}; this body must be ${direction}`;
  if (hasChildren(element) && NOT_XML_SPACE.test(textOf(element))) return `${name} must not have content`;
  return null;
}

function toMessage(ctx: DecodeContext, element: NodePtr, elementName: string): TspMessage | string {
  // structureProblem has run: the entry exists.
  const entry = ctx.elements.get(elementName) as ElementEntry;
  const message: Record<string, WireValue> = { type: entry.type };
  for (let attr = firstAttribute(element); attr; attr = nextSibling(attr)) {
    const wireName = nameOf(attr);
    const value = textOf(attr);
    // The DTD has declared every attribute present.
    const [name, spec] = entry.attributes.get(wireName) as readonly [AttributeName, AttributeSpec];
    const problem = valueProblem(spec, value, ctx.isAllowedWbxHost);
    if (problem) return `${elementName}@${wireName} ${problem}`;
    message[name] = fromWire(spec, value);
  }
  return message as TspMessage;
}

export function decodeCommands(ctx: DecodeContext, body: Uint8Array | string, opts: DecodeOptions): DecodeResult {
  return withEnvelope(ctx, body, opts.contentType, ({ transId, children, names }): DecodeResult => {
    // The DTD guarantees a TransID first and at least one command or a Confirmation after it.
    const id = transId ?? '';
    for (let i = 1; i < children.length; i++) {
      const element = children[i] as NodePtr;
      const problem = structureProblem(ctx, element, names[i] as string, opts.direction);
      if (problem) return fail(CONFIRMATION.INVALID, `line ${lineOf(element)}: ${problem}`, id);
    }
    const idProblem = valueProblem(ENVELOPE.transIdSpec, id, ctx.isAllowedWbxHost);
    if (idProblem) return fail(CONFIRMATION.VALUE_RULE, `line ${lineOf(children[0] as NodePtr)}: ${ENVELOPE.transId} ${idProblem}`, id);
    const messages: TspMessage[] = [];
    for (let i = 1; i < children.length; i++) {
      const element = children[i] as NodePtr;
      const message = toMessage(ctx, element, names[i] as string);
      if (typeof message === 'string') return fail(CONFIRMATION.VALUE_RULE, `line ${lineOf(element)}: ${message}`, id);
      messages.push(message);
    }
    return { ok: true, transId: id, messages };
  });
}

/**
 * The Confirmation exactly as this codec writes it (and WebEx's examples show it), with a
 * TransID that needs no escaping: such a document is well-formed and valid by construction,
 * so it is read with one regular expression instead of a parse (~0.07 ms, once per A2W post).
 * Anything else takes the full path.
 */
const CANONICAL_CONFIRMATION = new RegExp(
  `^<${ENVELOPE.root} Name="${ENVELOPE.name}" Version="${ENVELOPE.version.replace('.', '\\.')}">\\s*` +
  `<${ENVELOPE.transId}>([A-Za-z0-9._:@/+=-]*)</${ENVELOPE.transId}>\\s*` +
  `<${ENVELOPE.confirmation} ${ENVELOPE.result}="([0-9])"></${ENVELOPE.confirmation}>\\s*</${ENVELOPE.root}>\\s*$`,
);

export function decodeConfirmation(ctx: DecodeContext, body: Uint8Array | string): ConfirmationDecodeResult {
  const canonical = typeof body === 'string' ? CANONICAL_CONFIRMATION.exec(body) : null;
  if (canonical) {
    const result = Number(canonical[2]);
    if ((ENVELOPE.confirmationResult.values as readonly number[]).includes(result)) {
      return { ok: true, transId: canonical[1]!, result: result as ConfirmationResult };
    }
  }
  const decoded = withEnvelope(ctx, body, undefined, ({ transId, children, names }): ConfirmationDecodeResult => {
    const confirmation = children[1];
    if (children.length !== 2 || confirmation === undefined || names[1] !== ENVELOPE.confirmation) {
      return { ok: false, reason: `line ${lineOf(children[1] ?? (children[0] as NodePtr))}: expected one ${ENVELOPE.confirmation}` };
    }
    // The DTD has checked the attribute against the enumeration of codes.
    const result = Number(attributeValue(confirmation, ENVELOPE.result)) as ConfirmationResult;
    return { ok: true, transId: transId ?? '', result };
  });
  return isFailure(decoded) ? { ok: false, reason: decoded.reason } : decoded;
}
