/**
 * DTD validation by libxml2 with one validation context and one error list kept for the
 * codec's life. libxml2-wasm's DtdValidator creates and frees a parser context and registers
 * an error collector on every call, which measured about as much as the validation itself on
 * a TSP document; this class makes the same libxml2 call (xmlCtxtValidateDtd, which resets the
 * context first) through the same exported bindings, once set up.
 *
 * Not re-entrant: one validation at a time, which a single-threaded codec guarantees.
 */
import { XmlDtd, type ErrorDetail, type XmlDocument } from 'libxml2-wasm';
import {
  error,
  xmlCtxtSetErrorHandler,
  xmlCtxtValidateDtd,
  xmlFreeParserCtxt,
  xmlNewParserCtxt,
} from 'libxml2-wasm/lib/libxml2.mjs';

// Both classes keep their libxml2 pointer in `_ptr`; the package types do not show it.
const pointerOf = (object: XmlDocument | XmlDtd): number => (object as unknown as { _ptr: number })._ptr;

export class DtdValidation {
  #closed = false;
  readonly #dtd: XmlDtd;
  readonly #context: number;
  readonly #errors: ErrorDetail[] = [];
  readonly #slot: number;

  /** Compiles the DTD text; throws if libxml2 refuses it. */
  constructor(dtdText: string) {
    this.#dtd = XmlDtd.fromString(dtdText);
    this.#context = xmlNewParserCtxt();
    this.#slot = error.storage.allocate(this.#errors);
    xmlCtxtSetErrorHandler(this.#context, error.errorCollector, this.#slot);
  }

  /** The document's validity errors, each with its line; empty when it is valid. */
  errors(doc: XmlDocument): readonly ErrorDetail[] {
    if (this.#closed) throw new Error('the DTD validation is closed');
    this.#errors.length = 0;
    const valid = xmlCtxtValidateDtd(this.#context, pointerOf(doc), pointerOf(this.#dtd)) === 1;
    if (valid) return [];
    // libxml2 reports every invalidity it finds; the guard only keeps "invalid" from being empty.
    return this.#errors.length > 0 ? [...this.#errors] : [{ message: 'not valid', level: 2, line: 1, col: 0 }];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    xmlFreeParserCtxt(this.#context);
    error.storage.free(this.#slot);
    this.#dtd.dispose();
  }
}
