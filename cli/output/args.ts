// Flag parsing for the operator commands (node:util parseArgs, strict), with the one `-o/--output`
// flag every data command shares: the formats a command accepts, checked in one place.
import { parseArgs } from 'node:util';
import { UsageError } from '../command.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export interface FlagOption {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  output: OutputFormat;
}

/**
 * Parses argv against the command's flags plus `-o/--output` (one of `formats`, the first being the
 * default). Unknown flags, missing values and bad formats are UsageErrors (exit 2).
 */
export function parseCommandArgs(argv: string[], options: Record<string, FlagOption>, formats: readonly OutputFormat[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, output: { type: 'string', short: 'o' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('. ')[0] ?? String(err));
  }
  const { output: requested, ...values } = parsed.values as ParsedArgs['values'];
  const output = (requested ?? formats[0]) as OutputFormat;
  if (!formats.includes(output)) throw new UsageError(`-o must be ${formats.join(', ')}; not '${String(requested)}'`);
  return { values, positionals: parsed.positionals, output };
}

/** A flag's value as a string (the last one when repeated), or undefined. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (Array.isArray(value)) return value[value.length - 1];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable flag's values (empty when not given). */
export function listFlag(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

/** A positive integer flag, or the fallback when absent. */
export function integerFlag(args: ParsedArgs, name: string, fallback: number): number {
  const text = stringFlag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: '${text}' is not a non-negative integer`);
  return n;
}

/** The one positional argument that must be one of `choices`. */
export function choiceArg<T extends string>(value: string | undefined, choices: readonly T[], what: string): T {
  if (value === undefined) throw new UsageError(`${what} is required: one of ${choices.join(', ')}`);
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${what} must be one of ${choices.join(', ')}; not '${value}'`);
  return value as T;
}
