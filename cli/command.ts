// The shape of one `skiff` subcommand, and the exit codes every command uses.

export const EXIT_OK = 0;
/** The command ran but found a problem (invalid config, unsynced proxy, failed check). */
export const EXIT_PROBLEM = 1;
/** Bad usage: unknown flag, missing argument. */
export const EXIT_USAGE = 2;
/** Could not reach what it needed (control plane, redirector, kernel). */
export const EXIT_UNAVAILABLE = 3;

export interface Command {
  name: string;
  summary: string;
  /** Full help: usage line, flags, and at least one example. */
  help: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {}

/**
 * One line of the command registry (cli/commands/index.ts): what `skiff --help` shows, and how to
 * load the command's module only when it runs (most commands pull in heavy modules: protos, gRPC,
 * the Kubernetes client).
 */
export interface CommandEntry {
  name: string;
  /** The same text as the loaded command's `summary` (a test checks they agree). */
  summary: string;
  load(): Promise<Command>;
}
