/**
 * Turns a configured driver name into a driver. The composition root is the only caller; the
 * engine never sees a concrete driver class. A provider with another bridge type registers its
 * own factory under a new name (docs/bridges.md) and selects it in the configuration.
 */
import type { BridgeDriver, DriverConfig, DriverDeps, DriverFactory } from './driver.js';
import { Voyant2035Driver } from './voyant2035/driver.js';
import { Voyant2313Driver } from './voyant2313/driver.js';

const factories = new Map<string, DriverFactory>([
  ['voyant2035', (config, deps) => new Voyant2035Driver(config, deps)],
  ['voyant2313', (config, deps) => new Voyant2313Driver(config, deps)],
]);

/** Adds a driver under `name`; refuses to replace one, so a typo cannot shadow a standard driver. */
export function registerDriver(name: string, factory: DriverFactory): void {
  if (factories.has(name)) throw new Error(`bridge driver '${name}' is already registered`);
  factories.set(name, factory);
}

export function knownDrivers(): string[] {
  return [...factories.keys()].sort();
}

export function createDriver(config: DriverConfig, deps: DriverDeps): BridgeDriver {
  const factory = factories.get(config.driver);
  if (!factory) {
    throw new Error(`bridge '${config.id}': unknown driver '${config.driver}'; known drivers: ${knownDrivers().join(', ')}`);
  }
  return factory(config, deps);
}
