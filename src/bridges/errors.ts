/**
 * Why a bridge command failed, as stable codes. The engine branches on `code` (never on message
 * text) to pick the TSP Result of its response message (spec 2.2); the emulator's bridge model
 * throws the same codes so that drivers and model agree on refusals.
 */
export const BRIDGE_ERROR_CODES = {
  /** No reply within the command's deadline. A late reply is counted and dropped. */
  BRIDGE_ERR_TIMEOUT: 'the bridge did not answer in time',
  /** The link was not up, or dropped while the command was in flight. */
  BRIDGE_ERR_LINK_DOWN: 'the bridge link is down',
  /** The driver was closed. */
  BRIDGE_ERR_CLOSED: 'the driver is closed',
  /** This bridge model cannot do that (see capabilities). */
  BRIDGE_ERR_UNSUPPORTED: 'the bridge does not support this command',
  BRIDGE_ERR_CONF_NOT_FOUND: 'no such conference on the bridge',
  BRIDGE_ERR_PORT_NOT_FOUND: 'no caller on that port in that conference',
  BRIDGE_ERR_DIALOUT_NOT_FOUND: 'no such dial-out',
  BRIDGE_ERR_KEY_IN_USE: 'the conference key is in use by another bridge conference',
  BRIDGE_ERR_NO_PORTS: 'no free port on the bridge',
  BRIDGE_ERR_LOCKED: 'the conference is locked',
  BRIDGE_ERR_INVALID: 'the bridge rejected an argument',
  /** The bridge refused for another reason (overload, maintenance). */
  BRIDGE_ERR_REFUSED: 'the bridge refused the command',
  /** A reply that could not be understood. */
  BRIDGE_ERR_PROTOCOL: 'the bridge sent a reply that could not be decoded',
} as const;

export type BridgeErrorCode = keyof typeof BRIDGE_ERROR_CODES;

export class BridgeError extends Error {
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${BRIDGE_ERROR_CODES[code]}: ${detail}` : BRIDGE_ERROR_CODES[code], options);
    this.name = 'BridgeError';
    this.code = code;
  }
}

export function isBridgeError(err: unknown, code?: BridgeErrorCode): err is BridgeError {
  return err instanceof BridgeError && (code === undefined || err.code === code);
}
