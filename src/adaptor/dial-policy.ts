/**
 * Dial-out policy against toll fraud (issue 4): a dial-out goes out only when the conference
 * enabled its call-back class (domestic vs international from the number's CountryCode against
 * the home country), the number passes the allowed and blocked prefixes, and the conference is
 * under its concurrent and per-minute limits. A refusal is answered Result 44 and counted by rule.
 *
 * Prefixes are compared on the digits a switch would dial, not on the written form: the commas
 * between CountryCode, AreaCode and LocalNumber can be moved (`1,9,005551234` is `1,900,...`),
 * and a national trunk prefix (`44,0,9...`, `1,1,900...`) can be put in front of the area code,
 * so a blocked prefix is checked against the number with and without its trunk prefix. A
 * "domestic" number whose national part starts with an international access code (`1,011,44...`)
 * is an international call in disguise and is refused, as is a CountryCode with a leading zero.
 */
import type { DialOutOptions } from './options.js';
import type { ConferenceState } from './conference/state.js';

export type DialOutRefusal =
  | 'malformed-number'
  | 'domestic-call-back-disabled'
  | 'international-call-back-disabled'
  | 'blocked-prefix'
  | 'prefix-not-allowed'
  | 'too-many-concurrent'
  | 'too-many-per-minute';

const MINUTE_MS = 60_000;
/** The guide's `CountryCode,AreaCode,LocalNumber`; the decoder checks it too, the policy does not rely on that. */
const NUMBER = /^([0-9]{1,4}),([0-9]*),([0-9]+)$/;
/** The ITU's international access code, and the home countries that dial abroad otherwise. */
const ITU_INTERNATIONAL_ACCESS = '00';
const INTERNATIONAL_ACCESS: Readonly<Record<string, readonly string[]>> = { 1: ['011'], 7: ['810'], 61: ['0011'], 81: ['010'] };

const digitsOf = (prefix: string) => prefix.replaceAll(',', '');

/** The national part as dialled after the CountryCode, without a trunk prefix (0, or 1 in +1). */
function withoutTrunkPrefix(countryCode: string, national: string): string {
  return national.replace(countryCode === '1' ? /^[01]+/ : /^0+/, '');
}

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
  const parts = NUMBER.exec(number);
  if (!parts) return 'malformed-number';
  const [, countryCode = '', areaCode = '', localNumber = ''] = parts;
  if (countryCode.startsWith('0')) return 'malformed-number';
  const national = areaCode + localNumber;
  const domestic = countryCode === options.homeCountryCode;
  if (domestic) {
    const access = [ITU_INTERNATIONAL_ACCESS, ...(INTERNATIONAL_ACCESS[countryCode] ?? [])];
    if (access.some((p) => national.startsWith(p))) return 'malformed-number';
  }
  if (domestic && !conf.classes.domesticCallBack) return 'domestic-call-back-disabled';
  if (!domestic && !conf.classes.intlCallBack) return 'international-call-back-disabled';
  const dialled = countryCode + national;
  const trunkless = countryCode + withoutTrunkPrefix(countryCode, national);
  const blocked = options.blockedPrefixes.map(digitsOf);
  if (blocked.some((p) => dialled.startsWith(p) || trunkless.startsWith(p))) return 'blocked-prefix';
  if (options.allowedPrefixes.length > 0 && !options.allowedPrefixes.some((p) => dialled.startsWith(digitsOf(p)))) {
    return 'prefix-not-allowed';
  }
  const ringing = conf.callers.filter((c) => c.phase === 'dialing').length;
  if (ringing >= options.maxConcurrentPerConference) return 'too-many-concurrent';
  if (recentDialOuts(conf, now).length >= options.maxPerMinutePerConference) return 'too-many-per-minute';
  return undefined;
}
