// RE2, the regex engine of both protoc-gen-validate's `pattern` rules and Envoy's `safe_regex`
// matchers, through re2-wasm. JavaScript's RegExp accepts syntax RE2 rejects (lookaround,
// backreferences), so regexes Envoy will compile are judged by RE2 itself.
import re2 from 're2-wasm';

const { RE2 } = re2;
type Compiled = InstanceType<typeof RE2>;

/** Compiled patterns by source. PGV patterns are few and fixed; route regexes come from config. */
const compiled = new Map<string, Compiled | Error>();
const MAX_CACHED = 4096;

function compile(pattern: string): Compiled | Error {
  let entry = compiled.get(pattern);
  if (entry) return entry;
  try {
    entry = new RE2(pattern, 'u');
  } catch (err) {
    entry = err instanceof Error ? err : new Error(String(err));
  }
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(pattern, entry);
  return entry;
}

/** Why RE2 rejects a pattern, or undefined when it compiles. */
export function re2Error(pattern: string): string | undefined {
  const entry = compile(pattern);
  return entry instanceof Error ? entry.message : undefined;
}

/** Whether a pattern matches anywhere in the text (unanchored, as RE2's PartialMatch). */
export function re2Matches(pattern: string, text: string): boolean {
  const entry = compile(pattern);
  if (entry instanceof Error) throw entry;
  entry.lastIndex = 0;
  return entry.test(text);
}
