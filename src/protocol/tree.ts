/**
 * Reads a parsed libxml2 tree through libxml2-wasm's struct accessors instead of its node
 * classes. Those classes build, decorate and register a JavaScript object for every node and
 * attribute visited; on a TSP document that costs more than parsing it, which alone would take
 * the decode path below half the bare-parse rate (figures in bench/protocol.ts and the commit
 * that introduced this module). The accessors are the ones the node classes themselves use,
 * exported and typed by the package.
 *
 * Pointers are valid only until the document is disposed; callers copy out strings first.
 */
import {
  XmlNodeStruct,
  XmlNodeType,
  xmlDocGetRootElement,
  xmlNodeGetContent,
} from 'libxml2-wasm/lib/libxml2.mjs';
import type { DocPtr } from './libxml2-session.js';

/** A libxml2 node pointer inside the WebAssembly heap. */
export type NodePtr = number;

export const rootElement = (doc: DocPtr): NodePtr => xmlDocGetRootElement(doc);

export function elementChildren(parent: NodePtr): NodePtr[] {
  const out: NodePtr[] = [];
  for (let node = XmlNodeStruct.children(parent); node; node = XmlNodeStruct.next(node)) {
    if (XmlNodeStruct.type(node) === XmlNodeType.XML_ELEMENT_NODE) out.push(node);
  }
  return out;
}

/** The name of an element or attribute node. */
export const nameOf = (node: NodePtr): string => XmlNodeStruct.name_(node);
export const lineOf = (node: NodePtr): number => XmlNodeStruct.line(node);
/** Concatenated text of the node and its descendants (an attribute: its value). */
export const textOf = (node: NodePtr): string => xmlNodeGetContent(node);
export const hasChildren = (node: NodePtr): boolean => XmlNodeStruct.children(node) !== 0;

/** An element's first attribute node (0 if none); attributes chain through `nextSibling`. */
export const firstAttribute = (element: NodePtr): NodePtr => XmlNodeStruct.properties(element);
export const nextSibling = (node: NodePtr): NodePtr => XmlNodeStruct.next(node);

export function attributeValue(element: NodePtr, name: string): string | undefined {
  for (let attr = firstAttribute(element); attr; attr = nextSibling(attr)) {
    if (nameOf(attr) === name) return textOf(attr);
  }
  return undefined;
}
