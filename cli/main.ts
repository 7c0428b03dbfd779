#!/usr/bin/env node
// The `skiff` command: dispatches to one subcommand module per command (cli/commands/*), loading
// only the module of the command it runs (the list in `skiff --help` loads none).
import { EXIT_OK, EXIT_USAGE, UsageError } from './command.js';
import { findCommand, registry } from './commands/index.js';

function usage(): string {
  const width = Math.max(...registry.map((c) => c.name.length));
  const lines = registry.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `skiff: a sidecar-less service mesh\n\nUsage: skiff <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun 'skiff <command> --help' for a command's flags and examples.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? findCommand(rest[0]) : undefined;
    process.stdout.write(target ? (await target.load()).help : usage());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const entry = findCommand(name);
  if (!entry) {
    process.stderr.write(`skiff: unknown command '${name}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return EXIT_OK;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`skiff ${command.name}: ${err.message}\n\n${command.help}`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`skiff: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
