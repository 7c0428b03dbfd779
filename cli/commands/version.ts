// `skiff version`: prints the version of this build.
import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { EXIT_OK } from '../command.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the skiff version',
  help: 'Usage: skiff version\n\nPrints the version of this skiff build.\n\nExample:\n  skiff version\n',
  async run() {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`skiff ${pkg.version}\n`);
    return EXIT_OK;
  },
};
