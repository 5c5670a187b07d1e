/**
 * Dial-out policy against toll fraud (issue 4): a dial-out goes out only when the conference
 * enabled its call-back class (domestic vs international from the number's CountryCode against
 * the home country), the number passes the allowed and blocked prefixes, and the conference is
 * under its concurrent and per-minute limits. A refusal is answered Result 44 and counted by rule.
 */
import type { DialOutOptions } from './options.js';
import type { ConferenceState } from './conference/state.js';

export type DialOutRefusal =
  | 'domestic-call-back-disabled'
  | 'international-call-back-disabled'
  | 'blocked-prefix'
  | 'prefix-not-allowed'
  | 'too-many-concurrent'
  | 'too-many-per-minute';

const MINUTE_MS = 60_000;

/** Dial-outs started within the last minute, for the per-minute limit. */
export function recentDialOuts(conf: ConferenceState, now: number): number[] {
  return conf.recentDialOutsAt.filter((t) => now - t < MINUTE_MS);
}

/** Undefined when the dial-out may go ahead, else the rule that refuses it. */
export function checkDialOut(
  conf: ConferenceState,
  number: string,
  now: number,
  options: DialOutOptions,
): DialOutRefusal | undefined {
  const countryCode = number.split(',', 1)[0];
  const domestic = countryCode === options.homeCountryCode;
  if (domestic && !conf.classes.domesticCallBack) return 'domestic-call-back-disabled';
  if (!domestic && !conf.classes.intlCallBack) return 'international-call-back-disabled';
  if (options.blockedPrefixes.some((p) => number.startsWith(p))) return 'blocked-prefix';
  if (options.allowedPrefixes.length > 0 && !options.allowedPrefixes.some((p) => number.startsWith(p))) {
    return 'prefix-not-allowed';
  }
  const ringing = conf.callers.filter((c) => c.phase === 'dialing').length;
  if (ringing >= options.maxConcurrentPerConference) return 'too-many-concurrent';
  if (recentDialOuts(conf, now).length >= options.maxPerMinutePerConference) return 'too-many-per-minute';
  return undefined;
}
