/**
 * Reads a parsed libxml2 tree through libxml2-wasm's struct accessors instead of its node
 * classes. Those classes build, decorate and register a JavaScript object for every node and
 * attribute visited; on a TSP document that costs more than parsing it, which alone would take
 * the decode path below half the bare-parse rate (figures in bench/protocol.ts and the commit
 * that introduced this module). The accessors are the ones the node classes themselves use,
 * typed by the package; only the document's pointer is reached past the public surface.
 *
 * Pointers are valid only until the document is disposed; callers copy out strings first.
 */
import type { XmlDocument } from 'libxml2-wasm';
import {
  XmlNodeStruct,
  XmlNodeType,
  xmlDocGetRootElement,
  xmlNodeGetContent,
} from 'libxml2-wasm/lib/libxml2.mjs';

/** A libxml2 node pointer inside the WebAssembly heap. */
export type NodePtr = number;

export interface TreeAttribute {
  readonly name: string;
  readonly value: string;
}

export function rootElement(doc: XmlDocument): NodePtr {
  return xmlDocGetRootElement((doc as unknown as { _ptr: number })._ptr);
}

export function elementChildren(parent: NodePtr): NodePtr[] {
  const out: NodePtr[] = [];
  for (let node = XmlNodeStruct.children(parent); node; node = XmlNodeStruct.next(node)) {
    if (XmlNodeStruct.type(node) === XmlNodeType.XML_ELEMENT_NODE) out.push(node);
  }
  return out;
}

export const nameOf = (node: NodePtr): string => XmlNodeStruct.name_(node);
export const lineOf = (node: NodePtr): number => XmlNodeStruct.line(node);
/** Concatenated text of the node and its descendants (an attribute: its value). */
export const textOf = (node: NodePtr): string => xmlNodeGetContent(node);
export const hasChildren = (node: NodePtr): boolean => XmlNodeStruct.children(node) !== 0;

export function attributesOf(element: NodePtr): TreeAttribute[] {
  const out: TreeAttribute[] = [];
  for (let attr = XmlNodeStruct.properties(element); attr; attr = XmlNodeStruct.next(attr)) {
    out.push({ name: XmlNodeStruct.name_(attr), value: xmlNodeGetContent(attr) });
  }
  return out;
}

export function attributeValue(element: NodePtr, name: string): string | undefined {
  for (let attr = XmlNodeStruct.properties(element); attr; attr = XmlNodeStruct.next(attr)) {
    if (XmlNodeStruct.name_(attr) === name) return xmlNodeGetContent(attr);
  }
  return undefined;
}
