/**
 * The XML subset reader: what it accepts, everything it refuses, and fuzzing that it never
 * throws anything but XmlSyntaxError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_XML_DEPTH, XmlSyntaxError, parseXml, writeXml, type XmlElement } from '../../src/bridges/voyant2313/xml.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

function plain(e: XmlElement): unknown {
  return { name: e.name, attrs: { ...e.attrs }, children: e.children.map(plain) };
}

test('elements, attributes, children and whitespace of the subset parse', () => {
  const doc = parseXml(` <A x="1" y='two' >\n  <B z="&lt;&amp;&gt;&quot;&apos;&#65;&#x42;"/>\n  <C></C>\n</A> `);
  assert.deepEqual(plain(doc), {
    name: 'A', attrs: { x: '1', y: 'two' },
    children: [{ name: 'B', attrs: { z: `<&>"'AB` }, children: [] }, { name: 'C', attrs: {}, children: [] }],
  });
});

test('an attribute named __proto__ is only an attribute', () => {
  const doc = parseXml('<A __proto__="x" constructor="y"/>');
  assert.equal(doc.attrs['__proto__'], 'x');
  assert.equal(({} as Record<string, unknown>)['x'], undefined);
});

test('everything outside the subset is refused', () => {
  const refused = [
    '', '   ', 'text', '<A>text</A>', '<A/><B/>', '<A>', '<A></B>', '<A x="1" x="2"/>', '<A x=1/>', '<A x="1"y="2"/>',
    '<?xml version="1.0"?><A/>', '<!-- c --><A/>', '<!DOCTYPE A><A/>', '<A><![CDATA[x]]></A>',
    '<A x="&ent;"/>', '<A x="&#0;"/>', '<A x="&#xD800;"/>', '<A x="&#xZZ;"/>', '<A x="&amp"/>', '<A x="<"/>',
    '<A x="\u0001"/>', '<1A/>', '< A/>', '<A/ >',
    '<A>' + '<B>'.repeat(MAX_XML_DEPTH) + '</B>'.repeat(MAX_XML_DEPTH) + '</A>',
    '<A ' + Array.from({ length: 40 }, (_, i) => `a${i}="1"`).join(' ') + '/>',
  ];
  for (const text of refused) assert.throws(() => parseXml(text), XmlSyntaxError, JSON.stringify(text));
});

test('writeXml then parseXml gives back the element, for random trees and values', () => {
  const random = prng(11);
  const alphabet = ['a', 'Z', '0', ' ', '&', '<', '>', '"', "'", '\t', '\n', '\r', 'é', '😀', ';', '#', '='];
  const value = (): string => Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  const tree = (depth: number): XmlElement => {
    const attrs: Record<string, string> = {};
    for (let i = Math.floor(random() * 5); i > 0; i--) attrs[`a${i}`] = value();
    const children = depth < 4 ? Array.from({ length: Math.floor(random() * 3) }, () => tree(depth + 1)) : [];
    return { name: `E${depth}`, attrs, children };
  };
  for (let round = 0; round < 300; round++) {
    const t = tree(1);
    assert.deepEqual(plain(parseXml(writeXml(t))), plain(t), `round ${round}`);
  }
});

test('random mutations of a valid document either parse or throw XmlSyntaxError, nothing else', () => {
  const random = prng(5);
  const base = '<GET_CONF_SNAPSHOT_RESP reqId="1" result="OK"><SNAPSHOT a="&amp;x"><CONF confId="C1"><PART port="1/1"/></CONF></SNAPSHOT></GET_CONF_SNAPSHOT_RESP>';
  const pieces = ['<', '>', '/', '"', "'", '&', ';', '=', ' ', '!', '?', '#', 'x', '&#', '\u0000', ']]>'];
  for (let round = 0; round < 3000; round++) {
    const chars = [...base];
    for (let edits = 1 + Math.floor(random() * 4); edits > 0; edits--) {
      const at = Math.floor(random() * chars.length);
      const r = random();
      if (r < 0.4) chars.splice(at, 1);
      else if (r < 0.8) chars.splice(at, 0, pieces[Math.floor(random() * pieces.length)] as string);
      else chars[at] = pieces[Math.floor(random() * pieces.length)] as string;
    }
    try {
      parseXml(chars.join(''));
    } catch (err) {
      assert.ok(err instanceof XmlSyntaxError, `round ${round}: ${String(err)}`);
    }
  }
});
