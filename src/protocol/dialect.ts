/**
 * The dialect map (spec, preamble): a provider holding the full guide renames a [modeled]
 * element or attribute on the wire, our name -> their name, in both directions. This module
 * checks a dialect once, at codec creation, and turns it into the two lookups the codec uses.
 *
 * Attribute renames are global (one name, every element that carries it); the envelope is
 * [guide] and never renamed.
 */
import { ATTRIBUTES, ENVELOPE, MESSAGES, type AttributeName, type MessageType } from './catalogue.js';
import type { Dialect } from './api.js';

/** Our names <-> wire names, for elements and command attributes. */
export interface WireNames {
  readonly element: ReadonlyMap<MessageType, string>;
  readonly attribute: ReadonlyMap<AttributeName, string>;
}

export class DialectError extends Error {
  constructor(message: string) {
    super(`dialect: ${message}`);
    this.name = 'DialectError';
  }
}

// An XML Name without a colon (namespaces are not part of the TSP API).
const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
const ENVELOPE_NAMES: ReadonlySet<string> = new Set([ENVELOPE.root, ENVELOPE.transId, ENVELOPE.confirmation]);

function renamed<N extends string>(
  what: 'element' | 'attribute',
  provenance: Readonly<Record<N, 'guide' | 'modeled'>>,
  renames: Record<string, string> | undefined,
  reserved: ReadonlySet<string>,
): Map<N, string> {
  const wire = new Map<N, string>();
  for (const name of Object.keys(provenance) as N[]) wire.set(name, name);
  for (const [ours, theirs] of Object.entries(renames ?? {})) {
    if (!Object.hasOwn(provenance, ours)) throw new DialectError(`no ${what} named '${ours}' in the catalogue`);
    if (provenance[ours as N] === 'guide') {
      throw new DialectError(`'${ours}' is a [guide] ${what} name, fixed by the WebEx guide; only [modeled] names can be renamed`);
    }
    if (typeof theirs !== 'string' || !XML_NAME.test(theirs)) {
      throw new DialectError(`'${String(theirs)}' (for ${what} '${ours}') is not a valid XML name`);
    }
    wire.set(ours as N, theirs);
  }
  const seen = new Map<string, N>();
  for (const [ours, theirs] of wire) {
    const clash = seen.get(theirs) ?? (reserved.has(theirs) ? theirs : undefined);
    if (clash !== undefined) throw new DialectError(`${what} '${ours}' would be spelled '${theirs}' on the wire, like '${clash}'`);
    seen.set(theirs, ours);
  }
  return wire;
}

/** Checks a dialect and resolves it; throws DialectError with the offending name. */
export function resolveDialect(dialect: Dialect = {}): WireNames {
  const elementProvenance = Object.fromEntries(
    Object.entries(MESSAGES).map(([name, spec]) => [name, spec.provenance]),
  ) as Record<MessageType, 'guide' | 'modeled'>;
  return {
    element: renamed('element', elementProvenance, dialect.elements, ENVELOPE_NAMES),
    attribute: renamed('attribute', ATTRIBUTES, dialect.attributes, new Set()),
  };
}
