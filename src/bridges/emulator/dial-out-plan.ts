/**
 * How each dial-out ends, decided when it starts: a rule for the exact number wins, then the
 * rule with the longest matching prefix, then a draw from the set odds (seeded, so runs repeat).
 * Set through the control interface so tests and benchmarks can script every outcome.
 */
import { pickWeighted, type Random } from './random.js';

/** `rejected`: the callee answered but did not press 1 (only meaningful with confirm). */
export const DIAL_OUT_OUTCOMES = ['answered', 'busy', 'no-answer', 'rejected', 'invalid', 'failed'] as const;
export type DialOutOutcome = (typeof DIAL_OUT_OUTCOMES)[number];

export interface DialOutRule {
  match: 'exact' | 'prefix';
  /** `CountryCode,AreaCode,LocalNumber`, or the start of one. */
  number: string;
  outcome: DialOutOutcome;
  /** How long it rings before the outcome; the plan's ringMs when absent. */
  ringMs?: number;
}

export type DialOutOdds = Partial<Record<DialOutOutcome, number>>;

export interface DialOutPlanSettings {
  rules: DialOutRule[];
  /** Relative weights for numbers no rule matches. */
  odds: DialOutOdds;
  ringMs: number;
}

export const DEFAULT_DIAL_OUT_ODDS: DialOutOdds = { answered: 1 };

export function validateDialOutPlan(settings: DialOutPlanSettings): DialOutPlanSettings {
  const weights = Object.values(settings.odds);
  if (weights.some((w) => !(w >= 0)) || !weights.some((w) => w > 0)) {
    throw new RangeError('dial-out odds need non-negative weights, at least one positive');
  }
  if (!(settings.ringMs >= 0) || settings.rules.some((r) => r.ringMs !== undefined && !(r.ringMs >= 0))) {
    throw new RangeError('ring times must be non-negative');
  }
  return { rules: settings.rules.map((r) => ({ ...r })), odds: { ...settings.odds }, ringMs: settings.ringMs };
}

export function decideDialOut(
  plan: DialOutPlanSettings,
  number: string,
  random: Random,
): { outcome: DialOutOutcome; ringMs: number } {
  const exact = plan.rules.find((r) => r.match === 'exact' && r.number === number);
  const prefix = plan.rules
    .filter((r) => r.match === 'prefix' && number.startsWith(r.number))
    .reduce<DialOutRule | undefined>((best, r) => (!best || r.number.length > best.number.length ? r : best), undefined);
  const rule = exact ?? prefix;
  if (rule) return { outcome: rule.outcome, ringMs: rule.ringMs ?? plan.ringMs };
  return { outcome: pickWeighted(random, plan.odds as Record<DialOutOutcome, number>), ringMs: plan.ringMs };
}
