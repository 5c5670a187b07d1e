/**
 * Counts, on the emulator's side, every command that reached an emulated bridge, keyed by what
 * WebEx asked for (the conference's ConfKey, and the number for a dial-out), so the HA tests
 * check each confirmed command was carried out exactly once, not only that a conference exists.
 * It wraps the emulator's endpoint (below the adaptor's boundary: the adaptor sees the same TCP).
 */
import type { BridgeCommand } from '../../src/bridges/driver.js';
import type { Emulator } from '../../src/bridges/emulator/emulator.js';

export interface TalliedCommand { bridge: string; op: BridgeCommand['op']; key: string }

export class BridgeTally {
  readonly commands: TalliedCommand[] = [];
  /** bridge + bridgeConfId -> ConfKey, from each createConference's reply. */
  #confKeys = new Map<string, string>();

  watch(bridge: string, emu: Emulator): void {
    const endpoint = emu.endpoint;
    const execute = endpoint.execute.bind(endpoint);
    endpoint.execute = (async (command: BridgeCommand) => {
      if (command.op !== 'createConference') this.commands.push({ bridge, op: command.op, key: this.#keyOf(bridge, command) });
      const reply = await execute(command);
      if (command.op === 'createConference') {
        this.#confKeys.set(`${bridge}/${(reply as { bridgeConfId: string }).bridgeConfId}`, command.options.confKey);
        this.commands.push({ bridge, op: command.op, key: command.options.confKey });
      }
      return reply;
    }) as typeof endpoint.execute;
  }

  /** How many times `op` reached any bridge for `key` (a ConfKey, or `ConfKey/number` for dialOut). */
  count(op: BridgeCommand['op'], key: string): number {
    return this.commands.filter((c) => c.op === op && c.key === key).length;
  }

  /** The bridges a ConfKey's conference was created on. */
  bridgesOf(confKey: string): string[] {
    return this.commands.filter((c) => c.op === 'createConference' && c.key === confKey).map((c) => c.bridge);
  }

  #keyOf(bridge: string, command: Exclude<BridgeCommand, { op: 'createConference' }>): string {
    const confKey = 'bridgeConfId' in command ? this.#confKeys.get(`${bridge}/${command.bridgeConfId}`) ?? `?${command.bridgeConfId}` : '?';
    return command.op === 'dialOut' ? `${confKey}/${command.number}` : confKey;
  }
}
