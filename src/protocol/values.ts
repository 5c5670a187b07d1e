/**
 * Attribute values between the wire and the typed message: conversion both ways, and the value
 * rules the DTD cannot express (spec 3: ConfKey digits, phone number format, NBR sequence
 * grammar, lengths, URLs and the caller's WebEx host allow-list).
 *
 * Decoding converts only what the DTD has already accepted, so conversion cannot fail there;
 * encoding checks the JavaScript type too, because engine code may hand over anything.
 */
import { LIMITS, type ValueSpec } from './catalogue.js';

export type WireValue = string | number | boolean;
/** Says whether a URL in WbxHostName may be used. */
export type HostPolicy = (url: string) => boolean;

const CONF_KEY = /^[0-9]{4,16}$/;
// CountryCode,AreaCode,LocalNumber; some countries have no area code, so it may be empty.
const PHONE = /^[0-9]{1,4},[0-9]*,[0-9]+$/;
// Tokens start with distinct letters, so the loop cannot backtrack more than one token.
const NBR_SEQUENCE = /^(?:P[0-9]+|D[0-9#*]+)*P0$/;
const DIGITS = /^[0-9]{1,9}$/;

/** Wire text -> typed value, for a value the DTD has validated. */
export function fromWire(spec: ValueSpec, raw: string): WireValue {
  switch (spec.type) {
    case 'flag':
      return raw === '1';
    case 'bool':
      return raw === 'True';
    case 'code':
      return Number(raw);
    case 'int':
      // Digits are checked by the value rule; NaN here is reported there.
      return DIGITS.test(raw) ? Number(raw) : Number.NaN;
    default:
      return raw;
  }
}

/** Typed value -> wire text, or a reason why the value has the wrong JavaScript type. */
export function toWire(spec: ValueSpec, value: unknown): string | { problem: string } {
  switch (spec.type) {
    case 'flag':
      return typeof value === 'boolean' ? (value ? '1' : '0') : { problem: `expected a boolean, got ${typeof value}` };
    case 'bool':
      return typeof value === 'boolean' ? (value ? 'True' : 'False') : { problem: `expected a boolean, got ${typeof value}` };
    case 'code':
      return typeof value === 'number' && spec.values.includes(value)
        ? String(value)
        : { problem: `expected one of ${spec.values.join(', ')}, got ${String(value)}` };
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value)
        ? value
        : { problem: `expected one of ${spec.values.join(', ')}, got ${String(value)}` };
    case 'int':
      return Number.isSafeInteger(value) ? String(value) : { problem: `expected an integer, got ${String(value)}` };
    default:
      return typeof value === 'string' ? value : { problem: `expected a string, got ${typeof value}` };
  }
}

function tooLong(value: string, max: number): string | null {
  return value.length > max ? `is ${value.length} characters, over the limit of ${max}` : null;
}

// URL.canParse builds no URL object; the scheme is read from the text (schemes are ASCII and
// case-insensitive, and the URL parser would accept nothing else before '://').
const HTTP_SCHEME = /^https?:\/\//i;

function urlProblem(value: string, policy: HostPolicy | null): string | null {
  const long = tooLong(value, LIMITS.URL_MAX_CHARS);
  if (long) return long;
  if (!URL.canParse(value)) return 'is not a URL';
  if (!HTTP_SCHEME.test(value)) return 'is not an http or https URL';
  if (policy && !policy(value)) return 'is not an allowed WebEx host';
  return null;
}

/**
 * The value rule of one attribute: null when the value is acceptable, else what is wrong with
 * it, phrased to follow the attribute's name in a reason.
 */
export function valueProblem(spec: ValueSpec, value: string, policy: HostPolicy): string | null {
  switch (spec.type) {
    case 'id':
      if (value === '' && !spec.allowEmpty) return 'is empty';
      return tooLong(value, LIMITS.ID_MAX_CHARS);
    case 'text':
      return tooLong(value, spec.maxLength);
    case 'confKey':
      return CONF_KEY.test(value) ? null : 'must be 4 to 16 digits';
    case 'phone':
      return (
        tooLong(value, LIMITS.PHONE_MAX_CHARS) ??
        (PHONE.test(value) ? null : 'must be CountryCode,AreaCode,LocalNumber in digits')
      );
    case 'nbrSequence':
      return (
        tooLong(value, LIMITS.NBR_SEQUENCE_MAX_CHARS) ??
        (NBR_SEQUENCE.test(value) ? null : 'must be P<seconds> and D<digits> tokens ending in P0')
      );
    case 'int':
      return DIGITS.test(value) && Number(value) <= spec.max ? null : `must be an integer from 0 to ${spec.max}`;
    case 'url':
      return urlProblem(value, spec.policy ? policy : null);
    default:
      // flag, bool, code, enum: the DTD's enumerations decide.
      return null;
  }
}
