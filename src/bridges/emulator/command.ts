/**
 * `tsp-adaptor emulator`: runs the bridge emulator as its own process until SIGINT/SIGTERM,
 * printing one line with the bound ports so scripts can wait for it. Options and defaults are
 * in docs/emulator.md.
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { DEFAULT_EMULATOR_PORTS, Emulator, type EmulatorOptions } from './emulator.js';
import { DEFAULT_CHANNELS_PER_SPAN } from './model.js';

const USAGE = `usage: tsp-adaptor emulator [--host H] [--control-port N] [--port-2035 N] [--port-2313 N]
       [--notify-port-2313 N] [--ports N] [--reserved N] [--heartbeat-ms N] [--ring-ms N]
       [--user U --password P] [--seed N]
`;

const INTEGER_FLAGS = [
  'control-port', 'port-2035', 'port-2313', 'notify-port-2313', 'ports', 'reserved', 'heartbeat-ms', 'ring-ms', 'seed',
] as const;
type IntegerFlag = (typeof INTEGER_FLAGS)[number];

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let options: EmulatorOptions;
  try {
    options = parseOptions(args);
  } catch (err) {
    process.stderr.write(`tsp-adaptor emulator: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const emulator = new Emulator(options);
  const ports = await emulator.start();
  const host = options.host ?? '127.0.0.1';
  process.stdout.write(
    `emulator listening on ${host}: control ${ports.control}, voyant2035 ${ports.voyant2035}, ` +
      `voyant2313 request ${ports.voyant2313Request} notify ${ports.voyant2313Notify}\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await emulator.close();
  process.stdout.write(`emulator stopped (${signal})\n`);
  return 0;
}

export function parseOptions(args: string[]): EmulatorOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      ...Object.fromEntries(INTEGER_FLAGS.map((flag) => [flag, { type: 'string' }])),
    } as Record<string, { type: 'string' }>,
  });
  const int = (flag: IntegerFlag): number | undefined => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new Error(`--${flag} needs a non-negative integer`);
    return Number(raw);
  };
  const totalPorts = int('ports');
  if (totalPorts !== undefined && (totalPorts === 0 || totalPorts % DEFAULT_CHANNELS_PER_SPAN !== 0)) {
    throw new Error(`--ports must be a positive multiple of ${DEFAULT_CHANNELS_PER_SPAN} (whole T1 spans)`);
  }
  if ((values.user === undefined) !== (values.password === undefined)) throw new Error('--user and --password go together');
  const bridge: NonNullable<EmulatorOptions['bridge']> = {
    ...(totalPorts !== undefined && { spans: totalPorts / DEFAULT_CHANNELS_PER_SPAN }),
    ...(int('reserved') !== undefined && { reservedPorts: int('reserved') }),
    ...(int('ring-ms') !== undefined && { ringMs: int('ring-ms') }),
  };
  return {
    host: typeof values.host === 'string' ? values.host : '127.0.0.1',
    ports: {
      control: int('control-port') ?? DEFAULT_EMULATOR_PORTS.control,
      voyant2035: int('port-2035') ?? DEFAULT_EMULATOR_PORTS.voyant2035,
      voyant2313Request: int('port-2313') ?? DEFAULT_EMULATOR_PORTS.voyant2313Request,
      voyant2313Notify: int('notify-port-2313') ?? DEFAULT_EMULATOR_PORTS.voyant2313Notify,
    },
    bridge,
    ...(typeof values.user === 'string' && { username: values.user }),
    ...(typeof values.password === 'string' && { password: values.password }),
    ...(int('heartbeat-ms') !== undefined && { heartbeatIntervalMs: int('heartbeat-ms') }),
    ...(int('seed') !== undefined && { seed: int('seed') }),
  };
}
