/**
 * Encoding: typed messages -> one TSP document under wire names, written by xml2js (which
 * escapes attribute values), then validated against the same DTD the decoder uses, so the
 * adaptor never posts what it would itself refuse.
 *
 * A bad message here is a bug in the caller, so it throws TspEncodeError naming the field.
 */
import { Builder } from 'xml2js';
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
}

type Child = Record<string, string | { $: Record<string, string> }>;

const ROOT_OPEN = `<${ENVELOPE.root}>`;
const ROOT_OPEN_WITH_ATTRIBUTES = `<${ENVELOPE.root} Name="${ENVELOPE.name}" Version="${ENVELOPE.version}">`;

// xml2js writes children in order only when given an array, and an array root cannot carry
// attributes; the root's attributes are constants, so they are put in after rendering.
// allowEmpty (an xmlbuilder option @types/xml2js does not list) writes `<X a="1"></X>`, the
// form the guide's senders use.
const RENDER_OPTIONS = { pretty: true, indent: '  ', newline: '\n', allowEmpty: true };
const builder = new Builder({ rootName: ENVELOPE.root, headless: true, renderOpts: RENDER_OPTIONS });

function render(children: readonly Child[]): string {
  let xml: string;
  try {
    xml = builder.buildObject(children);
  } catch (err) {
    // xmlbuilder refuses characters XML cannot carry.
    throw new TspEncodeError(`cannot write the document: ${(err as Error).message}`, { cause: err });
  }
  return ROOT_OPEN_WITH_ATTRIBUTES + xml.slice(ROOT_OPEN.length);
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
  const children: Child[] = [{ [ENVELOPE.transId]: transId }];
  let direction: string | undefined;
  for (const message of messages) {
    if (!Object.hasOwn(MESSAGES, message.type)) throw new TspEncodeError(`no message type ${String(message.type)}`);
    const type = message.type as MessageType;
    direction ??= specOf(type).direction;
    if (specOf(type).direction !== direction) throw new TspEncodeError(`${type} cannot share a document with ${direction} messages`);
    children.push({ [ctx.names.element.get(type) ?? type]: { $: wireAttributes(ctx, message) } });
  }
  const xml = render(children);
  assertValid(ctx, xml);
  return xml;
}

export function encodeConfirmation(transId: string, result: ConfirmationResult): string {
  if (!ENVELOPE.confirmationResult.values.includes(result)) throw new TspEncodeError(`no Confirmation Result ${String(result)}`);
  // A refused body may not have had a TransID; the Confirmation still carries the element.
  return render([{ [ENVELOPE.transId]: transId }, { [ENVELOPE.confirmation]: { $: { [ENVELOPE.result]: String(result) } } }]);
}
