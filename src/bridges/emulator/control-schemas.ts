/**
 * The control interface's request bodies, checked at the edge so the bridge model only ever
 * sees well-formed values. Field names follow the driver contract (driver.ts) and
 * docs/emulator.md; unknown fields are refused so a typo in a test fails loudly.
 */
import { z } from 'zod';
import { DIAL_OUT_OUTCOMES } from './dial-out-plan.js';

const port = z.string().regex(/^\d+\/\d+$/);
const id = z.string().min(1).max(64);
const nonNegativeMs = z.number().int().nonnegative();

export const callInBody = z.strictObject({
  dialledNumber: z.string().min(1),
  digits: z.string(),
  callerId: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
});

export const dtmfBody = z.strictObject({ digits: z.string().min(1) });
export const talkBody = z.strictObject({ ms: z.number().int().positive() });

export const dialOutPlanBody = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        match: z.enum(['exact', 'prefix']),
        number: z.string().min(1),
        outcome: z.enum(DIAL_OUT_OUTCOMES),
        ringMs: nonNegativeMs.optional(),
      }),
    )
    .default([]),
  odds: z.partialRecord(z.enum(DIAL_OUT_OUTCOMES), z.number().nonnegative()).optional(),
  ringMs: nonNegativeMs.optional(),
});

export const delayBody = z.strictObject({ ms: nonNegativeMs });
export const restartBody = z.strictObject({ keepState: z.boolean() });

export const trafficBody = z.strictObject({
  confKeys: z.array(z.string().min(1)).min(1),
  targetCallers: z.number().int().nonnegative(),
  arrivalsPerSecond: z.number().nonnegative(),
  departuresPerSecond: z.number().nonnegative().default(0),
  keypadMutesPerSecond: z.number().nonnegative().default(0),
  talkBurstsPerSecond: z.number().nonnegative().default(0),
  talkMs: z.strictObject({ min: z.number().int().positive(), max: z.number().int().positive() }).default({ min: 500, max: 3_000 }),
  seed: z.number().int().default(1),
  dialledNumbers: z.array(z.string().min(1)).min(1).optional(),
  tickMs: z.number().int().positive().optional(),
});

const conferenceOptions = z.strictObject({
  confKey: z.string(),
  entryTone: z.enum(['none', 'beep', 'announce']).default('beep'),
  silentJoin: z.boolean().default(false),
  muteOnEntry: z.boolean().default(false),
});

/** Every BridgeCommand of driver.ts, for running one on the model directly. */
export const commandBody = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('createConference'), options: conferenceOptions }),
  z.strictObject({ op: z.literal('endConference'), bridgeConfId: id }),
  z.strictObject({ op: z.literal('lockConference'), bridgeConfId: id, locked: z.boolean() }),
  z.strictObject({ op: z.literal('mute'), bridgeConfId: id, port, muted: z.boolean() }),
  z.strictObject({
    op: z.literal('muteAll'),
    bridgeConfId: id,
    muted: z.boolean(),
    exceptPort: port.optional(),
    applyToNewCallers: z.boolean(),
  }),
  z.strictObject({ op: z.literal('expel'), bridgeConfId: id, port }),
  z.strictObject({
    op: z.literal('dialOut'),
    bridgeConfId: id,
    dialOutId: id,
    number: z.string(),
    name: z.string().optional(),
    confirm: z.boolean(),
    silent: z.boolean(),
  }),
  z.strictObject({ op: z.literal('cancelDialOut'), bridgeConfId: id, dialOutId: id }),
  z.strictObject({ op: z.literal('moveToSubConference'), bridgeConfId: id, port, subConfId: z.number().int() }),
  z.strictObject({ op: z.literal('playTone'), bridgeConfId: id, port: port.optional(), tone: z.enum(['beep', 'announce']) }),
  z.strictObject({ op: z.literal('passthrough'), bridgeConfId: id, port: port.optional(), data: z.string() }),
  z.strictObject({ op: z.literal('snapshot') }),
]);
