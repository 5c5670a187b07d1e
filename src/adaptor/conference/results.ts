/**
 * How a bridge's answer becomes the Result of a response message (spec 2.2). The engine
 * branches on BridgeError codes only, never on message text.
 */
import type { DialOutState } from '../../bridges/driver.js';
import { isBridgeError, type BridgeErrorCode } from '../../bridges/errors.js';
import { RESULT, type ResponseResult } from '../../protocol/index.js';

const RESULT_OF_BRIDGE_ERROR: Record<BridgeErrorCode, ResponseResult> = {
  BRIDGE_ERR_TIMEOUT: RESULT.BRIDGE_FAILED,
  BRIDGE_ERR_LINK_DOWN: RESULT.BRIDGE_UNAVAILABLE,
  BRIDGE_ERR_CLOSED: RESULT.BRIDGE_UNAVAILABLE,
  BRIDGE_ERR_UNSUPPORTED: RESULT.BRIDGE_FAILED,
  // The engine believes the conference exists: the bridge lost it, which reconciliation repairs.
  BRIDGE_ERR_CONF_NOT_FOUND: RESULT.BRIDGE_FAILED,
  BRIDGE_ERR_PORT_NOT_FOUND: RESULT.CALL_NOT_FOUND,
  BRIDGE_ERR_DIALOUT_NOT_FOUND: RESULT.CALL_NOT_FOUND,
  BRIDGE_ERR_KEY_IN_USE: RESULT.KEY_IN_USE,
  BRIDGE_ERR_NO_PORTS: RESULT.NO_PORTS,
  BRIDGE_ERR_LOCKED: RESULT.LOCKED,
  BRIDGE_ERR_INVALID: RESULT.BRIDGE_FAILED,
  BRIDGE_ERR_REFUSED: RESULT.BRIDGE_FAILED,
  BRIDGE_ERR_PROTOCOL: RESULT.BRIDGE_FAILED,
};

/** The code of a failed driver call; undefined when the failure was not the bridge's (a bug). */
export function bridgeErrorCode(err: unknown): BridgeErrorCode | undefined {
  return isBridgeError(err) ? err.code : undefined;
}

export function resultOfBridgeError(code: BridgeErrorCode | undefined): ResponseResult {
  return code === undefined ? RESULT.INTERNAL : RESULT_OF_BRIDGE_ERROR[code];
}

const RESULT_OF_DIAL_OUT: Record<Exclude<DialOutState, 'ringing'>, ResponseResult> = {
  answered: RESULT.DONE,
  busy: RESULT.DIAL_BUSY,
  'no-answer': RESULT.DIAL_NO_ANSWER,
  rejected: RESULT.DIAL_REFUSED,
  invalid: RESULT.DIAL_INVALID,
  failed: RESULT.BRIDGE_FAILED,
  cancelled: RESULT.DIAL_CANCELLED,
};

export function resultOfDialOut(state: Exclude<DialOutState, 'ringing'>): ResponseResult {
  return RESULT_OF_DIAL_OUT[state];
}
