/**
 * The DTD text, generated from the catalogue. `dtd/wbxtsp.dtd` is this function's output for
 * the default (identity) dialect; a codec with a dialect generates and compiles its own renamed
 * copy at creation, so that a renamed document is validated under its wire names.
 */
import { ENVELOPE, MESSAGE_TYPES, attributesOf, specOf, type ValueSpec } from './catalogue.js';
import { resolveDialect, type WireNames } from './dialect.js';

export const DTD_HEADER = '<!-- Generated from src/protocol/catalogue.ts by dtd/generate.ts: do not edit. -->';

function attributeType(spec: ValueSpec): string {
  switch (spec.type) {
    case 'flag':
      return '(0|1)';
    case 'bool':
      return '(True|False)';
    case 'code':
    case 'enum':
      return `(${spec.values.join('|')})`;
    default:
      // Lengths, digits and grammars are value rules, checked in code (values.ts).
      return 'CDATA';
  }
}

function attlist(element: string, attributes: ReadonlyArray<readonly [string, string, boolean]>): string {
  const lines = attributes.map(([name, type, required]) => `  ${name} ${type} ${required ? '#REQUIRED' : '#IMPLIED'}`);
  return `<!ATTLIST ${element}\n${lines.join('\n')}>`;
}

export function generateDtd(names: WireNames = resolveDialect()): string {
  const commands = MESSAGE_TYPES.map((type) => names.element.get(type) ?? type);
  const out = [
    DTD_HEADER,
    '<!-- The WebEx TSP API (docs/protocol.md). Commands carry attributes only; (#PCDATA) rather',
    '     than EMPTY because senders may put whitespace between the open and close tag, and the',
    '     decoder refuses any other content. -->',
    `<!ELEMENT ${ENVELOPE.root} (${ENVELOPE.transId}, (${ENVELOPE.confirmation} | (${commands.join(' | ')})+))>`,
    attlist(ENVELOPE.root, [
      ['Name', `(${ENVELOPE.name})`, true],
      // A wrong Version is Confirmation 4, not 2, so the DTD accepts any and the decoder checks.
      ['Version', 'CDATA', true],
    ]),
    `<!ELEMENT ${ENVELOPE.transId} (#PCDATA)>`,
    `<!ELEMENT ${ENVELOPE.confirmation} (#PCDATA)>`,
    attlist(ENVELOPE.confirmation, [[ENVELOPE.result, attributeType(ENVELOPE.confirmationResult), true]]),
  ];
  for (const [index, type] of MESSAGE_TYPES.entries()) {
    const spec = specOf(type);
    const element = commands[index] ?? type;
    const answer = spec.response ? ` -> ${names.element.get(spec.response as typeof type) ?? spec.response}` : '';
    out.push('', `<!-- ${type} [${spec.provenance}] ${spec.direction} ${spec.kind}${answer} -->`);
    out.push(`<!ELEMENT ${element} (#PCDATA)>`);
    out.push(
      attlist(
        element,
        attributesOf(type).map(([name, attr]) => [names.attribute.get(name) ?? name, attributeType(attr), attr.required]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
