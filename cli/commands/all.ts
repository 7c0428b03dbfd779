// Every `skiff` command, loaded at once (this module's import loads them all: for tests and tools
// that inspect every command's help; the CLI itself loads only the command it runs).
import type { Command } from '../command.js';
import { loadAll } from './index.js';

export const commands: Command[] = await loadAll();
