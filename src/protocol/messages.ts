/**
 * The TSP message types, derived from the catalogue so that they cannot drift from the DTD or
 * the codec: one object type per element, discriminated on `type` (the element name), with one
 * field per attribute under the spec's own attribute name.
 *
 * Field types: 0/1 flags and True/False attributes are booleans; Status, Result and EntryTone
 * are unions of their number literals; SubConfID and AttendeeCount are numbers; enumerations
 * are string literal unions; everything else is a string. Optional attributes are optional
 * fields. Names are always OUR names; a dialect renames only on the wire.
 */
import type { AttributeSpec, Direction, MESSAGES, MessageType } from './catalogue.js';

type ValueOf<S> = S extends { type: 'flag' | 'bool' }
  ? boolean
  : S extends { type: 'code'; values: readonly (infer V)[] }
    ? V
    : S extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : S extends { type: 'int' }
        ? number
        : string;

type RequiredKeys<A> = { [K in keyof A]: A[K] extends { required: true } ? K : never }[keyof A];
type OptionalKeys<A> = Exclude<keyof A, RequiredKeys<A>>;

// Flattened into one object type so editors show the fields, not an intersection.
type Fields<A extends Record<string, AttributeSpec>> = {
  -readonly [K in RequiredKeys<A>]: ValueOf<A[K]>;
} & {
  -readonly [K in OptionalKeys<A>]?: ValueOf<A[K]>;
} extends infer F
  ? { [K in keyof F]: F[K] }
  : never;

type Catalogue = typeof MESSAGES;

type MessageFor<T extends MessageType> = { type: T } & Fields<Catalogue[T]['attributes']> extends infer M
  ? { [K in keyof M]: M[K] }
  : never;

type AllMessages = { [T in MessageType]: MessageFor<T> };
type TypesOf<D extends Direction> = { [T in MessageType]: Catalogue[T]['direction'] extends D ? T : never }[MessageType];

export type W2AType = TypesOf<'W2A'>;
export type A2WType = TypesOf<'A2W'>;
/** A message WebEx sends to the adaptor. */
export type W2AMessage = AllMessages[W2AType];
/** A message the adaptor sends to WebEx. */
export type A2WMessage = AllMessages[A2WType];
export type TspMessage = W2AMessage | A2WMessage;
export type MessageOf<T extends TspMessage['type']> = Extract<TspMessage, { type: T }>;
