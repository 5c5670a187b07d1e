/**
 * libxml2, driven through libxml2-wasm's exported bindings with contexts kept for the codec's
 * life: one parser context (libxml2's documented reuse: xmlCtxtReadMemory resets it), one
 * validation context and one compiled DTD. Documents stay raw pointers from parse to free.
 *
 * Why not the package's XmlDocument and DtdValidator classes: per document they create and free
 * a parser context, register an error collector, and wrap the tree in an object tracked by a
 * WeakRef and a FinalizationRegistry. On a TSP request that bookkeeping measured a third of the
 * parse itself (9.8 us per document against 6.5 us with a reused context), and about as much
 * again for validation; the per-message path would keep well under half the bare-parse rate.
 *
 * Not re-entrant (one document at a time), which a single-threaded codec guarantees.
 */
import type { ErrorDetail } from 'libxml2-wasm';
import {
  error,
  xmlCtxtParseDtd,
  xmlCtxtSetErrorHandler,
  xmlCtxtValidateDtd,
  xmlFreeDoc,
  xmlFreeDtd,
  xmlFreeParserCtxt,
  xmlNewParserCtxt,
  xmlReadMemory,
} from 'libxml2-wasm/lib/libxml2.mjs';

/** A libxml2 document pointer inside the WebAssembly heap. */
export type DocPtr = number;
export type ParseOutcome = { ok: true; doc: DocPtr } | { ok: false; errors: readonly ErrorDetail[] };

// libxml2's xmlErrorLevel: 1 warning, 2 error, 3 fatal. Warnings do not refuse a document.
const ERROR_LEVEL = 2;
/**
 * The parser context interns element and attribute names in a dictionary that outlives each
 * document; a fresh context now and then bounds what a stream of made-up names can make it hold.
 */
const DOCUMENTS_PER_PARSER_CONTEXT = 10_000;

export class Libxml2Session {
  #closed = false;
  readonly #errors: ErrorDetail[] = [];
  readonly #slot: number;
  readonly #options: number;
  readonly #validator: number;
  readonly #dtd: number;
  #parser: number;
  #parsed = 0;

  /** Compiles the DTD text; throws with libxml2's messages if it refuses it. */
  constructor(dtdText: string, parseOptions: number) {
    this.#options = parseOptions;
    this.#slot = error.storage.allocate(this.#errors);
    this.#parser = this.#newContext();
    this.#validator = this.#newContext();
    this.#dtd = xmlCtxtParseDtd(this.#validator, new TextEncoder().encode(dtdText), null, null);
    if (!this.#dtd) {
      const reason = this.#errors.map((e) => `line ${e.line}: ${e.message.trim()}`).join('; ');
      this.close();
      throw new Error(`libxml2 refused the generated DTD: ${reason}`);
    }
  }

  #newContext(): number {
    const context = xmlNewParserCtxt();
    xmlCtxtSetErrorHandler(context, error.errorCollector, this.#slot);
    return context;
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('the libxml2 session is closed');
  }

  /** Parses bytes; `encoding` overrides the document's own declaration when given. */
  parse(bytes: Uint8Array, encoding: string | undefined): ParseOutcome {
    this.#checkOpen();
    if (++this.#parsed > DOCUMENTS_PER_PARSER_CONTEXT) {
      // Documents parsed before keep their own reference to the old dictionary.
      xmlFreeParserCtxt(this.#parser);
      this.#parser = this.#newContext();
      this.#parsed = 1;
    }
    this.#errors.length = 0;
    const doc = xmlReadMemory(this.#parser, bytes, null, encoding ?? null, this.#options);
    const errors = this.#errors.filter((e) => e.level >= ERROR_LEVEL);
    if (doc && errors.length === 0) return { ok: true, doc };
    if (doc) xmlFreeDoc(doc);
    return { ok: false, errors: errors.length > 0 ? errors : [{ message: 'not well-formed', level: 3, line: 1, col: 0 }] };
  }

  /** The document's validity errors against the DTD, each with its line; empty when valid. */
  invalidities(doc: DocPtr): readonly ErrorDetail[] {
    this.#checkOpen();
    this.#errors.length = 0;
    if (xmlCtxtValidateDtd(this.#validator, doc, this.#dtd) === 1) return [];
    return this.#errors.length > 0 ? [...this.#errors] : [{ message: 'not valid', level: 2, line: 1, col: 0 }];
  }

  free(doc: DocPtr): void {
    xmlFreeDoc(doc);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#dtd) xmlFreeDtd(this.#dtd);
    xmlFreeParserCtxt(this.#validator);
    xmlFreeParserCtxt(this.#parser);
    error.storage.free(this.#slot);
  }
}
