/**
 * The fuzzer's mutations: structure-aware ones for markup (attribute insert, delete, duplicate;
 * element swap, nest, duplicate), for the 2035's `key=value` lines (token insert, delete,
 * duplicate, value swap), values from a dictionary of interesting ones (boundaries, huge,
 * unicode, entities, NUL, invalid UTF-8, charset declarations), and byte-level ones (flip,
 * insert, delete, splice of two inputs). All from a seeded PRNG, so a run replays exactly.
 */

export type Random = () => number;

/** Keeps a mutated input from growing without bound over generations. */
export const MAX_INPUT_BYTES = 96 * 1024;

const HUGE = 'A'.repeat(70_000);
const DEEP = '<a>'.repeat(300);

/** Values that sit on the edges the decoders check. */
export const INTERESTING: readonly (string | Buffer)[] = [
  '', '0', '-1', '1', '2', '7', '8', '9', '99', '100', '255', '256', '65535', '65536', '2147483647', '2147483648',
  '4294967295', '4294967296', '9007199254740993', '1e309', 'NaN', 'Infinity', '-0', '0x10', '00000001', ' 1', '1 ',
  'true', 'false', 'TRUE', 'yes', HUGE, 'x'.repeat(256), 'x'.repeat(257), '9'.repeat(400),
  '\u00e9', '\u0661\u0662\u0663', '\uff11', '\u202e', '\ud83d\ude00', '\uffff', '\ufeff', '\u0000', '\t', '\r\n', '\n',
  '&amp;', '&lt;', '&#0;', '&#x0;', '&#xD800;', '&#1114112;', '&#x110000;', '&#99999999999;', '&bogus;', '&', '&#;',
  '<![CDATA[x]]>', ']]>', '<!--x-->', '<?pi x?>', '<!DOCTYPE WbxTSPSchema [<!ENTITY e "x">]>', '<!ENTITY a "&a;&a;">',
  DEEP, '<?xml version="1.0" encoding="UTF-16"?>', '<?xml version="1.0" encoding="ISO-8859-1"?>',
  '<?xml version="1.0" encoding="EBCDIC-US"?>', '<?xml version="1.1"?>', 'https://127.0.0.1/', 'http://[::1]:1/',
  'file:///etc/passwd', 'javascript:x', '+1,303,5551234', '011,44,1234', ',,', '1,,', '%', '%zz', '%00', '%C0%80', '%ED%A0%80',
  'CX\u0000\u0001', '1/1', '99999/99999', '0/0', '/', 'a=b', 'key=', '=v', ' ', '  ', '"', "'",
  Buffer.from([0xff]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xfe, 0xff, 0x00, 0x3c]), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0x43, 0x58, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff]),
  Buffer.from([0x43, 0x58, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]),
];

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const below = (random: Random, n: number) => Math.floor(random() * n);
const toBuffer = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

function interesting(random: Random): Buffer {
  return toBuffer(pick(random, INTERESTING));
}

function replaceRange(bytes: Buffer, start: number, end: number, insert: Buffer): Buffer {
  return Buffer.concat([bytes.subarray(0, start), insert, bytes.subarray(end)]);
}

// --- byte level -------------------------------------------------------------------------------

function byteMutation(bytes: Buffer, random: Random, other: Buffer): Buffer {
  const at = below(random, bytes.length + 1);
  switch (below(random, 6)) {
    case 0: { // flip
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      const i = Math.min(at, copy.length - 1);
      copy[i] = (copy[i] ?? 0) ^ (1 << below(random, 8));
      return copy;
    }
    case 1: // insert random bytes
      return replaceRange(bytes, at, at, Buffer.from(Array.from({ length: 1 + below(random, 4) }, () => below(random, 256))));
    case 2: // delete a span
      return replaceRange(bytes, at, Math.min(bytes.length, at + 1 + below(random, 32)), Buffer.alloc(0));
    case 3: { // splice: this one's head with the other's tail
      const cut = below(random, other.length + 1);
      return Buffer.concat([bytes.subarray(0, at), other.subarray(cut)]);
    }
    case 4: // truncate
      return bytes.subarray(0, at);
    default: { // duplicate a span
      const end = Math.min(bytes.length, at + below(random, 64));
      return replaceRange(bytes, end, end, bytes.subarray(at, end));
    }
  }
}

// --- markup -----------------------------------------------------------------------------------

// Bounded quantifiers: an unbounded name or value run backtracks quadratically on a 64 KiB token.
const ATTRIBUTE = /\s([\w:.-]{1,64})=("[^"]{0,4096}"|'[^']{0,4096}')/g;
const ELEMENT = /<([\w:.-]{1,64})[^<>]{0,4096}?(\/>|>[^<]{0,4096}<\/\1>)/g;

function matches(text: string, pattern: RegExp): RegExpMatchArray[] {
  return [...text.matchAll(pattern)];
}

function markupMutation(bytes: Buffer, random: Random, other: Buffer): Buffer {
  const text = bytes.toString('latin1'); // latin1 round-trips every byte, valid UTF-8 or not
  const attributes = matches(text, ATTRIBUTE);
  const elements = matches(text, ELEMENT);
  const attr = attributes.length ? pick(random, attributes) : undefined;
  const element = elements.length ? pick(random, elements) : undefined;
  const latin1 = (s: Buffer) => s.toString('latin1');
  const put = (start: number, end: number, insert: string) => Buffer.from(text.slice(0, start) + insert + text.slice(end), 'latin1');
  switch (below(random, 9)) {
    case 0: // attribute value from the dictionary
      if (!attr || attr.index === undefined) return bytes;
      return put(attr.index, attr.index + attr[0].length, ` ${attr[1]}="${latin1(interesting(random))}"`);
    case 1: // attribute deleted
      if (!attr || attr.index === undefined) return bytes;
      return put(attr.index, attr.index + attr[0].length, '');
    case 2: // attribute duplicated, or moved in from the other input
      if (!attr || attr.index === undefined) return bytes;
      {
        const donor = matches(other.toString('latin1'), ATTRIBUTE);
        const added = random() < 0.5 || donor.length === 0 ? attr[0] : pick(random, donor)[0];
        return put(attr.index, attr.index, added);
      }
    case 3: { // many attributes
      const at = text.indexOf('>');
      if (at < 0) return bytes;
      return put(at, at, Array.from({ length: 1 + below(random, 200) }, (_, i) => ` a${i}="${i}"`).join(''));
    }
    case 4: // element duplicated
      if (!element || element.index === undefined) return bytes;
      return put(element.index, element.index, element[0]);
    case 5: { // two elements swapped
      const b = elements.length ? pick(random, elements) : undefined;
      if (!element || !b || element.index === undefined || b.index === undefined || element.index + element[0].length > b.index) return bytes;
      return Buffer.from(
        text.slice(0, element.index) + b[0] + text.slice(element.index + element[0].length, b.index) + element[0] + text.slice(b.index + b[0].length),
        'latin1',
      );
    }
    case 6: { // element nested inside another (or inside itself)
      if (!element || element.index === undefined) return bytes;
      const inner = elements.length ? pick(random, elements)[0] : element[0];
      const close = element[0].lastIndexOf('</');
      const at = element.index + (close > 0 ? close : element[0].length - 2);
      return put(at, at, inner);
    }
    case 7: { // element renamed after another in either input
      if (!element || element.index === undefined) return bytes;
      const names = matches(`${text}${other.toString('latin1')}`, /<([\w:.-]{1,64})/g).map((m) => m[1] as string);
      const name = names.length ? pick(random, names) : 'X';
      return Buffer.from(text.replaceAll(`<${element[1]}`, `<${name}`).replaceAll(`</${element[1]}>`, `</${name}>`), 'latin1');
    }
    default: { // text or markup from the dictionary anywhere
      const at = below(random, text.length + 1);
      return put(at, at, latin1(interesting(random)));
    }
  }
}

// --- 2035 lines -------------------------------------------------------------------------------

function lineMutation(bytes: Buffer, random: Random, other: Buffer): Buffer {
  const lines = bytes.toString('latin1').split('\n');
  const li = below(random, lines.length);
  const tokens = (lines[li] ?? '').split(' ');
  const ti = below(random, tokens.length);
  const donorTokens = other.toString('latin1').split(/[ \n]/).filter(Boolean);
  switch (below(random, 6)) {
    case 0: { // a field's value from the dictionary
      const token = tokens[ti] ?? '';
      const eq = token.indexOf('=');
      tokens[ti] = `${eq >= 0 ? token.slice(0, eq + 1) : ''}${interesting(random).toString('latin1')}`;
      break;
    }
    case 1: // token deleted
      tokens.splice(ti, 1);
      break;
    case 2: // token duplicated
      tokens.splice(ti, 0, tokens[ti] ?? '');
      break;
    case 3: // token from the other input
      if (donorTokens.length) tokens.splice(ti, 0, pick(random, donorTokens));
      break;
    case 4: // line duplicated or dropped
      if (random() < 0.5) lines.splice(li, 0, lines[li] ?? '');
      else lines.splice(li, 1);
      return Buffer.from(lines.join('\n'), 'latin1');
    default: // two tokens swapped
      {
        const tj = below(random, tokens.length);
        [tokens[ti], tokens[tj]] = [tokens[tj] ?? '', tokens[ti] ?? ''];
      }
  }
  lines[li] = tokens.join(' ');
  return Buffer.from(lines.join('\n'), 'latin1');
}

export type Grammar = 'markup' | 'lines';

/** One to four stacked mutations of `input`, `other` a second corpus entry to splice from. */
export function mutate(input: Buffer, other: Buffer, grammar: Grammar, random: Random): Buffer {
  let bytes = input;
  const rounds = 1 + below(random, 4);
  for (let r = 0; r < rounds; r++) {
    if (random() < 0.4) bytes = byteMutation(bytes, random, other);
    else bytes = grammar === 'markup' ? markupMutation(bytes, random, other) : lineMutation(bytes, random, other);
    if (bytes.length > MAX_INPUT_BYTES) bytes = bytes.subarray(0, MAX_INPUT_BYTES);
  }
  return bytes;
}
