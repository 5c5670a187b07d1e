/**
 * Encoding: typed messages -> one TSP document under wire names, written out with text and
 * attribute values escaped, so the adaptor never posts what it would itself refuse.
 *
 * Why the written document needs no DTD check (a libxml2 parse and validation per A2W post,
 * 20-50 us against 2 us for the writing; 3% of the daemon's busy time under load): the DTD is
 * generated from the catalogue (dtd.ts) under the same wire names, and every rule it states is
 * one this module enforces before a byte is written:
 *   - root, its Name and Version, TransID, Confirmation: constants of the catalogue;
 *   - content model TransID then (Confirmation | message+): `render` writes TransID first, then
 *     one Confirmation or at least one message (an empty list throws), each a catalogue type
 *     (unknown types throw) under the dialect's name for it;
 *   - attributes: only declared ones (a stray field throws), every #REQUIRED one present (else
 *     throws), and the enumerated types (flag, bool, code, enum) can only be written as the
 *     DTD's own enumeration (`toWire` produces exactly those values); the rest are CDATA;
 *   - element content (#PCDATA): nothing is written inside a message element;
 *   - well-formedness: element and attribute names are the catalogue's or the dialect's, which
 *     are checked XML names that cannot collide (dialect.ts); attribute and text values are
 *     escaped, and characters XML cannot carry throw.
 * So the check is off by default and `checkEncoded` turns it on: the protocol tests encode every
 * message type (each enumerated value, hostile text, under a dialect) with it on, so a rule
 * added to the DTD generator and not here fails there rather than on the wire.
 *
 * A bad message here is a bug in the caller, so it throws TspEncodeError naming the field.
 */
import type { ErrorDetail } from 'libxml2-wasm';
import { TspEncodeError } from './api.js';
import { ENVELOPE, MESSAGES, attributesOf, specOf, type MessageType } from './catalogue.js';
import type { ConfirmationResult } from './codes.js';
import type { WireNames } from './dialect.js';
import type { Libxml2Session } from './libxml2-session.js';
import type { TspMessage } from './messages.js';
import { toWire, valueProblem, type HostPolicy } from './values.js';

export interface EncodeContext {
  readonly names: WireNames;
  readonly libxml2: Libxml2Session;
  readonly isAllowedWbxHost: HostPolicy;
  /** Also parse each document written and validate it against the DTD (see above). */
  readonly checkEncoded: boolean;
}

/** One message element: its wire name and attributes, in declaration order. */
type Element = readonly [name: string, attributes: Record<string, string>];

const ROOT_OPEN_WITH_ATTRIBUTES = `<${ENVELOPE.root} Name="${ENVELOPE.name}" Version="${ENVELOPE.version}">`;
const INDENT = '\n  ';
/** What XML 1.0 cannot carry at all: C0 controls but tab, LF and CR; U+FFFE/F; lone surrogates. */
const ILLEGAL_CHAR = /[\0-\x08\x0B\f\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:[^\uD800-\uDBFF]|^)[\uDC00-\uDFFF]/;
const TEXT_SPECIAL = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<"\t\n\r]/g;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' };
const escapeOne = (ch: string): string => ESCAPES[ch]!;

/**
 * Written directly, in the layout the guide's examples use (two-space indent, `<X a="1"></X>`),
 * escaping as an XML writer does; a string builder costs ~0.15 ms a document, once per A2W post.
 */
function render(transId: string, elements: readonly Element[]): string {
  let xml = `${ROOT_OPEN_WITH_ATTRIBUTES}${INDENT}<${ENVELOPE.transId}>${escaped(transId, TEXT_SPECIAL)}</${ENVELOPE.transId}>`;
  for (const [name, attributes] of elements) {
    xml += `${INDENT}<${name}`;
    for (const key in attributes) xml += ` ${key}="${escaped(attributes[key]!, ATTRIBUTE_SPECIAL)}"`;
    xml += `></${name}>`;
  }
  return `${xml}\n</${ENVELOPE.root}>`;
}

function escaped(value: string, special: RegExp): string {
  const illegal = ILLEGAL_CHAR.exec(value);
  if (illegal) throw new TspEncodeError(`cannot write the document: a character XML cannot carry at index ${illegal.index} of '${value}'`);
  return value.replace(special, escapeOne);
}

function wireAttributes(ctx: EncodeContext, message: TspMessage): Record<string, string> {
  const fields = message as unknown as Record<string, unknown>;
  const type = message.type as MessageType;
  const declared = new Set<string>(['type']);
  const attrs: Record<string, string> = {};
  for (const [name, spec] of attributesOf(type)) {
    declared.add(name);
    const value = fields[name];
    if (value === undefined) {
      if (spec.required) throw new TspEncodeError(`${type}.${name} is required`);
      continue;
    }
    const wire = toWire(spec, value);
    if (typeof wire !== 'string') throw new TspEncodeError(`${type}.${name}: ${wire.problem}`);
    const problem = valueProblem(spec, wire, ctx.isAllowedWbxHost);
    if (problem) throw new TspEncodeError(`${type}.${name} ${problem}`);
    attrs[ctx.names.attribute.get(name) ?? name] = wire;
  }
  const stray = Object.keys(fields).find((key) => !declared.has(key));
  if (stray) throw new TspEncodeError(`${type} has no attribute ${stray}`);
  return attrs;
}

function describe(detail: ErrorDetail | undefined): string {
  return detail ? `line ${detail.line}: ${detail.message.trim()}` : 'no detail';
}

function assertValid(ctx: EncodeContext, xml: string): void {
  const parsed = ctx.libxml2.parse(Buffer.from(xml, 'utf8'), 'UTF-8');
  if (!parsed.ok) throw new TspEncodeError(`the document is not well-formed: ${describe(parsed.errors[0])}`);
  try {
    const invalid = ctx.libxml2.invalidities(parsed.doc);
    if (invalid.length > 0) throw new TspEncodeError(`the document does not validate: ${describe(invalid[0])}`);
  } finally {
    ctx.libxml2.free(parsed.doc);
  }
}

export function encodeMessages(ctx: EncodeContext, transId: string, messages: readonly TspMessage[]): string {
  if (messages.length === 0) throw new TspEncodeError('a transaction carries at least one message');
  const idProblem = valueProblem(ENVELOPE.transIdSpec, transId, ctx.isAllowedWbxHost);
  if (idProblem) throw new TspEncodeError(`${ENVELOPE.transId} ${idProblem}`);
  const elements: Element[] = [];
  let direction: string | undefined;
  for (const message of messages) {
    if (!Object.hasOwn(MESSAGES, message.type)) throw new TspEncodeError(`no message type ${String(message.type)}`);
    const type = message.type as MessageType;
    direction ??= specOf(type).direction;
    if (specOf(type).direction !== direction) throw new TspEncodeError(`${type} cannot share a document with ${direction} messages`);
    elements.push([ctx.names.element.get(type) ?? type, wireAttributes(ctx, message)]);
  }
  const xml = render(transId, elements);
  if (ctx.checkEncoded) assertValid(ctx, xml);
  return xml;
}

export function encodeConfirmation(transId: string, result: ConfirmationResult): string {
  if (!ENVELOPE.confirmationResult.values.includes(result)) throw new TspEncodeError(`no Confirmation Result ${String(result)}`);
  // A refused body may not have had a TransID; the Confirmation still carries the element.
  return render(transId, [[ENVELOPE.confirmation, { [ENVELOPE.result]: String(result) }]]);
}
