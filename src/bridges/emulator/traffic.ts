/**
 * Generated telephone traffic on the bridge model: callers dialling into given conferences
 * (by conference key) at a rate, hanging up at a rate, toggling their keypad mute and talking
 * in bursts, topped up to a target number of simultaneous callers. This is how the emulator
 * produces 350 simultaneous calls, or a full chassis, on demand.
 *
 * Rates are spent in fixed ticks on the injected clock, so the same options, seed and clock
 * give the same calls on the same ports; the seed picks conferences, leavers and talkers.
 */
import type { LegId, PortId } from '../driver.js';
import { isBridgeError } from '../errors.js';
import type { Cancel, Clock } from './clock.js';
import type { BridgeModel } from './model.js';
import { SELF_MUTE_KEYS } from './conference.js';
import { pickOne, seededRandom, type Random } from './random.js';
import type { SequencedEvent } from './endpoint.js';

export const DEFAULT_TRAFFIC_TICK_MS = 100;

export interface TrafficOptions {
  /** Conference keys the callers key in, chosen uniformly; the conferences must exist to join. */
  confKeys: string[];
  /** Simultaneous generated callers the generator tops up to. */
  targetCallers: number;
  /** New calls per second while below the target. */
  arrivalsPerSecond: number;
  /** Generated callers hanging up per second (0: nobody leaves). */
  departuresPerSecond: number;
  /** `*6` presses per second, across all generated callers. */
  keypadMutesPerSecond: number;
  /** Talking bursts per second, across all generated callers. */
  talkBurstsPerSecond: number;
  talkMs: { min: number; max: number };
  seed: number;
  /** Call-in numbers to dial; the bridge's own by default. */
  dialledNumbers?: string[];
  tickMs?: number;
}

export interface TrafficStats {
  running: boolean;
  /** Generated callers on the bridge now. */
  callers: number;
  joined: number;
  /** Generated callers that left, by their own hang-up or otherwise (expelled, conference ended). */
  left: number;
  /** Calls the bridge refused (full, locked, no such conference). */
  refused: number;
  keypadMutes: number;
  talkBursts: number;
}

type Rate = 'arrivalsPerSecond' | 'departuresPerSecond' | 'keypadMutesPerSecond' | 'talkBurstsPerSecond';

interface Running {
  options: Required<TrafficOptions>;
  random: Random;
  /** Events owed by each rate, carried between ticks. */
  credit: Record<Rate, number>;
  cancelTick: Cancel;
}

export class TrafficGenerator {
  readonly #model: BridgeModel;
  readonly #clock: Clock;
  readonly #legs = new Map<LegId, PortId>();
  #counts = { joined: 0, left: 0, refused: 0, keypadMutes: 0, talkBursts: 0 };
  #state: { kind: 'stopped' } | ({ kind: 'running' } & Running) = { kind: 'stopped' };
  readonly #unsubscribe: () => void;

  constructor(model: BridgeModel, clock: Clock) {
    this.#model = model;
    this.#clock = clock;
    const onEvent = ({ event }: SequencedEvent): void => {
      // A generated caller may also leave by expel, conference end or a control hang-up.
      if (event.type === 'callerLeft' && this.#legs.delete(event.legId)) this.#counts.left++;
    };
    model.on('event', onEvent);
    this.#unsubscribe = () => model.off('event', onEvent);
  }

  /** Starts (or restarts with new options) the generator; counts start again from zero. */
  start(options: TrafficOptions): void {
    const complete = validate({
      ...options,
      dialledNumbers: options.dialledNumbers ?? [...this.#model.callInNumbers],
      tickMs: options.tickMs ?? DEFAULT_TRAFFIC_TICK_MS,
    });
    this.stop();
    this.#counts = { joined: 0, left: 0, refused: 0, keypadMutes: 0, talkBursts: 0 };
    const credit = { arrivalsPerSecond: 0, departuresPerSecond: 0, keypadMutesPerSecond: 0, talkBurstsPerSecond: 0 };
    const running: Running = { options: complete, random: seededRandom(complete.seed), credit, cancelTick: () => {} };
    this.#state = { kind: 'running', ...running };
    this.#scheduleTick();
  }

  /** Stops generating; with `hangUp`, every generated caller still on the bridge hangs up. */
  stop({ hangUp = false }: { hangUp?: boolean } = {}): void {
    if (this.#state.kind === 'running') this.#state.cancelTick();
    this.#state = { kind: 'stopped' };
    if (hangUp) for (const port of [...this.#legs.values()]) this.#model.hangUp(port);
  }

  /** Stops and lets go of the model. */
  close(): void {
    this.stop();
    this.#unsubscribe();
  }

  stats(): TrafficStats {
    return { running: this.#state.kind === 'running', callers: this.#legs.size, ...this.#counts };
  }

  #scheduleTick(): void {
    if (this.#state.kind !== 'running') return;
    this.#state.cancelTick = this.#clock.schedule(this.#state.options.tickMs, () => {
      this.#model.batch(() => this.#tick());
      this.#scheduleTick();
    });
  }

  #tick(): void {
    if (this.#state.kind !== 'running') return;
    const { options, random } = this.#state;
    const due = (rate: Rate, cap: number): number => this.#spend(rate, cap);
    // One list per step rather than per pick: a full chassis would otherwise copy 1344 ports per pick.
    const leaving = [...this.#legs.values()];
    for (let n = due('departuresPerSecond', leaving.length); n > 0; n--) this.#model.hangUp(takeOne(random, leaving));
    for (let n = due('arrivalsPerSecond', options.targetCallers - this.#legs.size); n > 0; n--) this.#arrive(options, random);
    const present = [...this.#legs.values()];
    for (let n = due('keypadMutesPerSecond', present.length); n > 0; n--) {
      this.#model.sendDtmf(pickOne(random, present), SELF_MUTE_KEYS);
      this.#counts.keypadMutes++;
    }
    for (let n = due('talkBurstsPerSecond', present.length); n > 0; n--) {
      const { min, max } = options.talkMs;
      // Muted callers are not heard: such a burst is simply lost, as on a real bridge.
      if (this.#model.talk(pickOne(random, present), min + Math.floor(random() * (max - min + 1)))) {
        this.#counts.talkBursts++;
      }
    }
  }

  /**
   * How many events of `rate` fall in this tick, at most `cap`. A capped rate keeps at most one
   * event of credit, so a generator held back by its target does not burst when released.
   */
  #spend(rate: Rate, cap: number): number {
    if (this.#state.kind !== 'running') return 0;
    const { credit, options } = this.#state;
    credit[rate] += (options[rate] * options.tickMs) / 1_000;
    const n = Math.max(0, Math.min(Math.floor(credit[rate]), cap));
    credit[rate] -= n;
    if (n === cap) credit[rate] = Math.min(credit[rate], 1);
    return n;
  }

  #arrive(options: Required<TrafficOptions>, random: Random): void {
    const callerId = `1408555${String(Math.floor(random() * 10_000)).padStart(4, '0')}`;
    try {
      const result = this.#model.callIn({
        dialledNumber: pickOne(random, options.dialledNumbers),
        digits: `${pickOne(random, options.confKeys)}#`,
        callerId,
      });
      if (result.state === 'joined') {
        this.#legs.set(result.legId, result.port);
        this.#counts.joined++;
      } else {
        // No conference with that key: the caller gives up rather than hold a port at the prompt.
        this.#model.hangUp(result.port);
        this.#counts.refused++;
      }
    } catch (err) {
      if (!isBridgeError(err)) throw err;
      this.#counts.refused++;
    }
  }
}

/** Removes and returns a uniformly chosen element of a non-empty array (order not kept). */
function takeOne<T>(random: Random, items: T[]): T {
  const i = Math.floor(random() * items.length);
  const chosen = items[i]!;
  items[i] = items[items.length - 1]!;
  items.pop();
  return chosen;
}

function validate(options: Required<TrafficOptions>): Required<TrafficOptions> {
  const rates: Rate[] = ['arrivalsPerSecond', 'departuresPerSecond', 'keypadMutesPerSecond', 'talkBurstsPerSecond'];
  for (const rate of rates) if (!(options[rate] >= 0)) throw new RangeError(`${rate} must be >= 0`);
  if (options.confKeys.length === 0) throw new RangeError('traffic needs at least one conference key');
  if (options.dialledNumbers.length === 0) throw new RangeError('traffic needs at least one call-in number');
  if (!(options.targetCallers >= 0)) throw new RangeError('targetCallers must be >= 0');
  if (!(options.tickMs > 0)) throw new RangeError('tickMs must be positive');
  if (!(options.talkMs.min > 0 && options.talkMs.max >= options.talkMs.min)) throw new RangeError('talkMs needs 0 < min <= max');
  return { ...options, confKeys: [...options.confKeys], dialledNumbers: [...options.dialledNumbers] };
}
