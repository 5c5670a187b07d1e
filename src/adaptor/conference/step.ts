/**
 * The shape every W2A command handler returns (docs/engine.md, "Functional core"): a Step is
 * either the final Effects, or one bridge command plus what to do with its reply, given the
 * conference as it is by then (bridge events may have changed it while the command was on the
 * wire). The engine runs the bridge commands; nothing here does I/O.
 */
import type { BridgeCapabilities, BridgeCommand } from '../../bridges/driver.js';
import type { BridgeErrorCode } from '../../bridges/errors.js';
import { RESULT, type MessageOf, type ResponseResult, type W2AMessage } from '../../protocol/index.js';
import type { Admission } from '../admission.js';
import type { DialOutRefusal } from '../dial-policy.js';
import { effects, isRequest, response, type Effects, type TransitionContext } from './effects.js';
import type { ConferenceState } from './state.js';

export interface CommandContext extends TransitionContext {
  /** The store's id of this command: stable across a restart, so ids derived from it are too. */
  commandId: number;
  /** This command may have reached the bridge before a crash (it is being finished by recovery). */
  inDoubt: boolean;
  newConfId(): string;
  admit(attendeeCount: number): Admission;
  capabilities(bridgeId: string): BridgeCapabilities | undefined;
}

export type Step =
  | { kind: 'done'; effects: Effects; dialOutRefusal?: DialOutRefusal }
  | {
      kind: 'bridge';
      bridgeId: string;
      confId: string;
      command: BridgeCommand;
      /** The conference to keep before the command goes out (so events it causes find it). */
      journal?: ConferenceState;
      then(reply: unknown, conf: ConferenceState | undefined): Step;
      /** A bridge error this command handles itself; undefined: answer the mapped Result. */
      onError?(code: BridgeErrorCode | undefined, conf: ConferenceState | undefined): Step | undefined;
    };

export const done = (e: Effects): Step => ({ kind: 'done', effects: e });

/** Answers `request` with `result`, changing nothing. */
export function answer(request: W2AMessage, result: ResponseResult, conf: ConferenceState | undefined): Step {
  if (!isRequest(request)) return done(effects());
  return done(effects({ out: [response(request, result, conf)], result }));
}

/** The Result for a command addressed to a conference that is not open, if it is not. */
export function closedResult(conf: ConferenceState | undefined): ResponseResult | undefined {
  if (!conf) return RESULT.CONF_NOT_FOUND;
  if (conf.status === 'ended') return RESULT.ENDED;
  // Only a crash can leave a command queued behind an unfinished create; its fate is unknown.
  if (conf.status === 'creating' || conf.bridgeConfId === undefined) return RESULT.BRIDGE_FAILED;
  return undefined;
}

/** Runs `run` on the conference if it is open, else answers why not (10, 13 or 32). */
export function whenOpen(conf: ConferenceState | undefined, msg: W2AMessage, run: (conf: ConferenceState) => Step): Step {
  const closed = closedResult(conf);
  return closed !== undefined || !conf ? answer(msg, closed ?? RESULT.CONF_NOT_FOUND, conf) : run(conf);
}

/** One bridge command for `conf`. */
export function onBridge(
  conf: ConferenceState,
  command: BridgeCommand,
  then: (latest: ConferenceState) => Step,
  onError?: (code: BridgeErrorCode | undefined, latest: ConferenceState) => Step | undefined,
): Step {
  const step: Step = { kind: 'bridge', bridgeId: conf.bridgeId, confId: conf.confId, command, then: (_r, latest) => then(latest ?? conf) };
  if (onError) step.onError = (code, latest) => onError(code, latest ?? conf);
  return step;
}

export type Handler<T extends W2AMessage['type']> = (
  conf: ConferenceState | undefined,
  msg: MessageOf<T>,
  ctx: CommandContext,
) => Step;
