#!/usr/bin/env node
/**
 * `tsp-adaptor <command> [args]`: the one command-line entry. Each command lives in its own
 * module and is loaded only when named, so `validate` never pays for the engine's start-up.
 */
import process from 'node:process';

interface Command {
  summary: string;
  /** Returns the process exit code. */
  load: () => Promise<{ run: (args: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  serve: { summary: 'run the adaptor daemon: serve [--config FILE] (embedded defaults without one)', load: () => import('./adaptor/serve-command.js') },
  'check-config': { summary: 'validate a configuration FILE and print OK or every problem', load: () => import('./adaptor/check-config-command.js') },
  validate: { summary: 'print the Confirmation Result the daemon would give each FILE', load: () => import('./protocol/validate-command.js') },
  emulator: { summary: 'run the Voyant bridge emulator (both protocols, control on HTTP)', load: () => import('./bridges/emulator/command.js') },
  certify: { summary: 'check a running adaptor against the TSP contract: certify URL [--emulator CONTROL_URL]', load: () => import('./tools/certify/certify-command.js') },
  bench: { summary: 'run the benchmarks and write bench/results/: bench [--scenario NAME] [--duration S] [--smoke]', load: () => import('./tools/bench/bench-command.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length), 4);
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: tsp-adaptor <command> [args]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`tsp-adaptor: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsp-adaptor: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
