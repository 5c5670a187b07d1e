/**
 * A deliberately minimal XML reader and writer for the 2313 wire format (docs/voyant2313-protocol.md,
 * "XML subset"): elements with attributes and child elements, nothing else.
 *
 * Why not a general parser: every message of the protocol is attribute-only, so the subset keeps
 * the hot path (hundreds of events a second at 350 calls) to one linear scan, and it is safe by
 * construction: no DTD, no entity declarations, no external references, no processing
 * instructions, no comments, no CDATA, no text content. Only the five predefined entities and
 * numeric character references are expanded. Nesting depth and attribute count are capped so a
 * hostile frame costs at most its own length.
 */

export interface XmlElement {
  name: string;
  /** Null-prototype record: an attribute named `__proto__` is just an attribute. */
  attrs: Record<string, string>;
  children: XmlElement[];
}

export class XmlSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlSyntaxError';
  }
}

/** Deeper than any message of the protocol (RESP > SNAPSHOT > CONF > CALLER is 4). */
export const MAX_XML_DEPTH = 8;
/** More than any element of the protocol carries. */
export const MAX_XML_ATTRIBUTES = 32;

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'",
};

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** XML 1.0 Char production: what may appear in a document at all. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x09 || cp === 0x0a || cp === 0x0d ||
    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Parses one document of the subset: exactly one root element, optional surrounding whitespace. */
export function parseXml(text: string): XmlElement {
  let pos = 0;

  const fail = (message: string): never => {
    throw new XmlSyntaxError(message, pos);
  };

  const skipSpace = (): void => {
    while (pos < text.length && isSpace(text.charCodeAt(pos))) pos++;
  };

  const readName = (): string => {
    const start = pos;
    if (!isNameStart(text.charCodeAt(pos))) fail('expected a name');
    pos++;
    while (pos < text.length && isNameChar(text.charCodeAt(pos))) pos++;
    return text.slice(start, pos);
  };

  const readAttrValue = (): string => {
    const quote = text.charCodeAt(pos);
    if (quote !== 0x22 && quote !== 0x27) fail('expected a quoted attribute value');
    pos++;
    let value = '';
    let runStart = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated attribute value');
      const c = text.charCodeAt(pos);
      if (c === quote) break;
      if (c === 0x3c) fail("'<' in attribute value");
      if (c === 0x26) {
        value += text.slice(runStart, pos);
        value += readReference();
        runStart = pos;
        continue;
      }
      if (!isXmlChar(c) && !(c >= 0xd800 && c <= 0xdfff)) fail('character not allowed in XML');
      pos++;
    }
    value += text.slice(runStart, pos);
    pos++;
    return value;
  };

  const readReference = (): string => {
    const end = text.indexOf(';', pos);
    if (end < 0 || end - pos > 12) fail('unterminated reference');
    const body = text.slice(pos + 1, end);
    pos = end + 1;
    if (body.startsWith('#')) {
      const hex = body.startsWith('#x');
      const digits = body.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) fail('bad character reference');
      const cp = parseInt(digits, hex ? 16 : 10);
      if (!isXmlChar(cp)) fail('character reference to a character not allowed in XML');
      return String.fromCodePoint(cp);
    }
    const expanded = PREDEFINED_ENTITIES[body];
    if (expanded === undefined) fail(`undeclared entity '${body}'`);
    return expanded as string;
  };

  const readElement = (depth: number): XmlElement => {
    if (depth > MAX_XML_DEPTH) fail('elements nested too deep');
    if (text.charCodeAt(pos) !== 0x3c) fail("expected '<'");
    pos++;
    const name = readName();
    const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
    let count = 0;
    for (;;) {
      const hadSpace = pos < text.length && isSpace(text.charCodeAt(pos));
      skipSpace();
      const c = text.charCodeAt(pos);
      if (c === 0x2f) {
        if (text.charCodeAt(pos + 1) !== 0x3e) fail("expected '/>'");
        pos += 2;
        return { name, attrs, children: [] };
      }
      if (c === 0x3e) {
        pos++;
        break;
      }
      if (!hadSpace) fail('expected whitespace before an attribute');
      const attrName = readName();
      skipSpace();
      if (text.charCodeAt(pos) !== 0x3d) fail("expected '='");
      pos++;
      skipSpace();
      if (attrName in attrs) fail(`duplicate attribute '${attrName}'`);
      if (++count > MAX_XML_ATTRIBUTES) fail('too many attributes');
      attrs[attrName] = readAttrValue();
    }
    const children: XmlElement[] = [];
    for (;;) {
      skipSpace();
      if (pos >= text.length) fail(`unterminated element '${name}'`);
      if (text.charCodeAt(pos) !== 0x3c) fail('text content is not part of the subset');
      const next = text.charCodeAt(pos + 1);
      if (next === 0x2f) {
        pos += 2;
        const closing = readName();
        if (closing !== name) fail(`'</${closing}>' closes '<${name}>'`);
        skipSpace();
        if (text.charCodeAt(pos) !== 0x3e) fail("expected '>'");
        pos++;
        return { name, attrs, children };
      }
      // '<!' (comment, DOCTYPE, CDATA) and '<?' (processing instruction) fail in readName.
      children.push(readElement(depth + 1));
    }
  };

  skipSpace();
  const root = readElement(1);
  skipSpace();
  if (pos !== text.length) fail('content after the root element');
  return root;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;',
  // Written as references so a conforming parser does not normalise them to spaces.
  '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};

/** Escapes an attribute value; throws on characters XML cannot carry at all. */
export function escapeAttr(value: string): string {
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    if (!isXmlChar(cp)) throw new RangeError(`U+${cp.toString(16).padStart(4, '0')} cannot be carried in XML`);
  }
  return value.replace(/[&<>"\t\n\r]/g, (c) => ESCAPES[c] as string);
}

/** Writes an element, escaping every attribute value. */
export function writeXml(element: XmlElement): string {
  let out = `<${element.name}`;
  for (const [key, value] of Object.entries(element.attrs)) {
    out += ` ${key}="${escapeAttr(value)}"`;
  }
  if (element.children.length === 0) return `${out}/>`;
  out += '>';
  for (const child of element.children) out += writeXml(child);
  return `${out}</${element.name}>`;
}
