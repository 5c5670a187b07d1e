/**
 * `nextEvent` typed for any BridgeDriver: the compiler cannot infer the event map through a
 * driver subclass, so tests name it once here.
 */
import type { BridgeDriver, DriverEvents } from '../../../src/bridges/driver.js';
import { nextEvent } from '../../../src/common/typed-emitter.js';

export function nextDriverEvent<K extends keyof DriverEvents & string>(
  driver: BridgeDriver,
  event: K,
  predicate?: (...args: DriverEvents[K]) => boolean,
): Promise<DriverEvents[K]> {
  return nextEvent<DriverEvents, K>(driver, event, predicate);
}
