/**
 * How the 2313 codec reads and writes attribute values: a checked reader over one element's
 * attributes, and two-way token tables. Every decoding failure is a CodecError, which callers
 * count as a malformed frame; the message catalogue itself is in codec.ts.
 */
import type { XmlElement } from './xml.js';

export class CodecError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodecError';
  }
}

type AttrValue = string | number | boolean | undefined;

/** Attributes in the given order, leaving out those that are undefined. */
export function attrs(values: Record<string, AttrValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = String(value);
  return out;
}

/** Drops keys whose value is undefined, so a decoded message equals the one that was encoded. */
export function defined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

const INTEGER = /^(0|[1-9][0-9]{0,14})$/;
/** Request ids are the client's choice: short tokens without spaces. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,32}$/;

export class AttrReader {
  constructor(readonly element: XmlElement) {}

  optStr(name: string): string | undefined {
    return this.element.attrs[name];
  }

  str(name: string): string {
    const value = this.element.attrs[name];
    if (value === undefined) throw new CodecError(`<${this.element.name}> lacks ${name}`);
    return value;
  }

  int(name: string): number {
    const value = this.str(name);
    if (!INTEGER.test(value)) throw new CodecError(`<${this.element.name}> ${name}="${value}" is not an integer`);
    return Number(value);
  }

  reqId(): string {
    const value = this.str('reqId');
    if (!REQUEST_ID.test(value)) throw new CodecError(`<${this.element.name}> reqId="${value}" is not a request id`);
    return value;
  }

  bool(name: string): boolean {
    const value = this.str(name);
    if (value !== 'true' && value !== 'false') throw new CodecError(`<${this.element.name}> ${name} must be true or false`);
    return value === 'true';
  }

  oneOf<T extends string>(name: string, tokens: Tokens<T>): T {
    return tokens.decode(this.str(name), `<${this.element.name}> ${name}`);
  }
}

/** A two-way table between contract values and wire tokens. */
export class Tokens<T extends string> {
  readonly #byToken: Map<string, T>;

  constructor(readonly byValue: Readonly<Record<T, string>>) {
    this.#byToken = new Map(Object.entries(byValue).map(([value, token]) => [token as string, value as T]));
  }

  encode(value: T): string {
    return this.byValue[value];
  }

  decode(token: string, where: string): T {
    const value = this.#byToken.get(token);
    if (value === undefined) throw new CodecError(`${where}: unknown value '${token}'`);
    return value;
  }
}
