/**
 * The two families of numeric codes of the TSP API: the Confirmation `Result` every HTTP
 * response carries (spec 2.1), and the `Result` of a response message (spec 2.2). The catalogue
 * builds its DTD enumerations from these objects, so a code added here is declared everywhere.
 */

/** Confirmation `Result` (spec 2.1): what the receiver says about a whole transaction. */
export const CONFIRMATION = {
  OK: 0,
  NOT_WELL_FORMED: 1,
  INVALID: 2,
  VALUE_RULE: 3,
  VERSION: 4,
  UNAUTHORISED: 5,
  TOO_LARGE: 6,
  BUSY: 7,
  INTERNAL: 8,
} as const;

export type ConfirmationResult = (typeof CONFIRMATION)[keyof typeof CONFIRMATION];

/** `Result` of every `A2W_Rsp*` message (spec 2.2). */
export const RESULT = {
  DONE: 0,
  CONF_NOT_FOUND: 10,
  KEY_IN_USE: 11,
  LOCKED: 12,
  ENDED: 13,
  CALL_NOT_FOUND: 20,
  NO_PORTS: 30,
  BRIDGE_UNAVAILABLE: 31,
  BRIDGE_FAILED: 32,
  DIAL_BUSY: 40,
  DIAL_NO_ANSWER: 41,
  DIAL_REFUSED: 42,
  DIAL_INVALID: 43,
  DIAL_NOT_ALLOWED: 44,
  DIAL_CANCELLED: 45,
  REDIRECTED: 50,
  INTERNAL: 99,
} as const;

export type ResponseResult = (typeof RESULT)[keyof typeof RESULT];

export const CONFIRMATION_RESULTS: readonly ConfirmationResult[] = Object.values(CONFIRMATION);
export const RESPONSE_RESULTS: readonly ResponseResult[] = Object.values(RESULT);
