/**
 * The chassis' ports: `spans x channelsPerSpan` T1 channels named "span/channel", the last
 * `reserved` of them kept back for operators and never offered. A new call takes the lowest
 * free offerable port, so a given sequence of calls always lands on the same ports.
 */
import type { PortId, PortUsage } from '../driver.js';

export interface ChassisSize {
  spans: number;
  channelsPerSpan: number;
  /** Kept back for operators, taken from the end of the chassis. */
  reserved: number;
}

export class PortTable<Occupant> {
  readonly #offerable: readonly PortId[];
  readonly #usage: Omit<PortUsage, 'inUse'>;
  readonly #occupied = new Map<PortId, Occupant>();

  constructor(size: ChassisSize) {
    const total = size.spans * size.channelsPerSpan;
    if (!Number.isInteger(total) || total <= 0) throw new RangeError(`chassis of ${total} ports`);
    if (!Number.isInteger(size.reserved) || size.reserved < 0 || size.reserved > total) {
      throw new RangeError(`${size.reserved} reserved ports on a chassis of ${total}`);
    }
    const all: PortId[] = [];
    for (let span = 1; span <= size.spans; span++) {
      for (let channel = 1; channel <= size.channelsPerSpan; channel++) all.push(`${span}/${channel}`);
    }
    this.#offerable = all.slice(0, total - size.reserved);
    this.#usage = { total, reserved: size.reserved };
  }

  usage(): PortUsage {
    return { total: this.#usage.total, inUse: this.#occupied.size, reserved: this.#usage.reserved };
  }

  get full(): boolean {
    return this.#occupied.size >= this.#offerable.length;
  }

  /**
   * Seizes the lowest free port for the occupant `occupy` builds around it; undefined (and
   * `occupy` not called) when every offerable port is busy.
   */
  seize<O extends Occupant>(occupy: (port: PortId) => O): O | undefined {
    if (this.full) return undefined;
    const port = this.#offerable.find((p) => !this.#occupied.has(p));
    if (port === undefined) return undefined;
    const occupant = occupy(port);
    this.#occupied.set(port, occupant);
    return occupant;
  }

  /** Hands a seized port to its next occupant (a prompting caller joins, a dial-out answers). */
  replace(port: PortId, occupant: Occupant): void {
    if (!this.#occupied.has(port)) throw new Error(`port ${port} is not seized`);
    this.#occupied.set(port, occupant);
  }

  get(port: PortId): Occupant | undefined {
    return this.#occupied.get(port);
  }

  release(port: PortId): void {
    this.#occupied.delete(port);
  }

  clear(): void {
    this.#occupied.clear();
  }

  occupants(): IterableIterator<[PortId, Occupant]> {
    return this.#occupied.entries();
  }
}
