// Fast passes for protoc-gen-validate's scalar rules: a field's rule set compiled once into a
// predicate that says, cheaply and without allocating, that a value surely meets every rule. When a
// predicate cannot say so (the value breaks a rule, or is of a form the predicate does not read), the
// full checks of scalars.ts decide and name what is broken, so a fast pass never changes a verdict.
import type protobuf from 'protobufjs';
import { re2Matches } from './re2.js';
import { list, type Rules } from './rules.js';
import { INTEGER_KINDS, STRING_AFFIXES, totalNanos } from './scalars.js';
import { headerRegexError, wellKnownString } from './well-known.js';

/** True when the value surely meets every rule; false means "ask the full check". */
export type Pass = (value: unknown) => boolean;

const MAX_SAFE_NANOS_SECONDS = 9_000_000;

/** An integer (number, or a Long within ±2^53) as a number; undefined for anything else. */
function safeInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const long = value as { low?: unknown; high?: unknown; unsigned?: unknown };
  if (typeof long.low !== 'number' || typeof long.high !== 'number') return undefined;
  const low = long.low >>> 0;
  if (long.unsigned === true) return long.high >= 0 && long.high < 0x20_0000 ? (long.high >>> 0) * 0x1_0000_0000 + low : undefined;
  return long.high >= -0x20_0000 && long.high < 0x20_0000 ? long.high * 0x1_0000_0000 + low : undefined;
}

/** A bound as a number that compares exactly as the full check's bigint does, or undefined. */
function exactBound(value: unknown, integer: boolean): number | undefined {
  if (!integer) return Number(value);
  const n = typeof value === 'number' ? value : Number(String(value));
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * const, lt, lte, gt, gte, in, not_in over numbers, as orderedRules in scalars.ts reads them (a
 * lower bound above the upper bound means "outside the range"). Undefined when a bound is not exact.
 */
function orderedPass(rules: Rules, convert: (v: unknown) => number | undefined): ((v: number) => boolean) | undefined {
  const names = ['const', 'lt', 'lte', 'gt', 'gte'];
  const bounds = new Map<string, number>();
  for (const name of names) {
    if (rules[name] === undefined) continue;
    const bound = convert(rules[name]);
    if (bound === undefined) return undefined;
    bounds.set(name, bound);
  }
  const allowed = list(rules.in).map(convert);
  const denied = list(rules.not_in).map(convert);
  if (allowed.includes(undefined) || denied.includes(undefined)) return undefined;
  const [expected, lt, lte, gt, gte] = names.map((n) => bounds.get(n));
  const upper = lt ?? lte;
  const lower = gt ?? gte;
  const outside = upper !== undefined && lower !== undefined && upper < lower;
  return (v) => {
    if (expected !== undefined && v !== expected) return false;
    const belowUpper = upper === undefined || (lt !== undefined ? v < lt : v <= upper);
    const aboveLower = lower === undefined || (gt !== undefined ? v > gt : v >= lower);
    if (outside ? !(aboveLower || belowUpper) : !(aboveLower && belowUpper)) return false;
    if (allowed.length > 0 && !allowed.includes(v)) return false;
    return denied.length === 0 || !denied.includes(v);
  };
}

const ORDERED = new Set(['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in']);

function onlyNames(rules: Rules, names: ReadonlySet<string>): boolean {
  for (const name in rules) if (!names.has(name)) return false;
  return true;
}

const NUMBER_NAMES = new Set([...ORDERED, 'ignore_empty']);

function numberPass(kind: string, rules: Rules): Pass | undefined {
  if (!onlyNames(rules, NUMBER_NAMES)) return undefined;
  const integer = INTEGER_KINDS.has(kind);
  const float = kind === 'float';
  const convert = (v: unknown) => (float ? Math.fround(Number(v)) : exactBound(v, integer));
  const ordered = orderedPass(rules, convert);
  if (!ordered) return undefined;
  const ignoreEmpty = rules.ignore_empty === true;
  return (value) => {
    const v = integer ? safeInteger(value ?? 0) : typeof value === 'number' ? (float ? Math.fround(value) : value) : undefined;
    if (v === undefined) return false;
    return (ignoreEmpty && v === 0) || ordered(v);
  };
}

/**
 * Patterns made only of literal characters, character classes, anchors and the quantifiers
 * `* + ?` (no escapes, groups, alternation or counted repetition) match the same strings in
 * JavaScript's RegExp as in RE2, without a trip into RE2's wasm.
 */
const PLAIN_PATTERN = /^[A-Za-z0-9_^$[\]?#/+*.:,=@!%&~ -]*$/;

function sameInJavaScript(pattern: string): RegExp | undefined {
  // RE2 reads `[]a]` as a class holding `]`; JavaScript reads `[]` as an empty class.
  if (!PLAIN_PATTERN.test(pattern) || pattern.includes('[]') || pattern.includes('[^]')) return undefined;
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

/** One string rule as a predicate, or undefined when only the full check reads it. */
function stringRulePass(name: string, rule: unknown, rules: Rules): ((v: string) => boolean) | undefined {
  const affix = STRING_AFFIXES.get(name);
  if (affix && typeof rule === 'string') return (v) => affix[0](v, rule);
  const wellKnown = wellKnownString.get(name);
  if (wellKnown) return rule === true ? (v) => wellKnown(v) === undefined : () => true;
  const n = Number(rule);
  switch (name) {
    // A string has at least half as many code points as UTF-16 units (rounded up), at most as many,
    // at least as many UTF-8 bytes and at most three times as many.
    case 'min_len':
      return (v) => Math.ceil(v.length / 2) >= n;
    case 'max_len':
      return (v) => v.length <= n;
    case 'min_bytes':
      return (v) => v.length >= n;
    case 'max_bytes':
      return (v) => v.length * 3 <= n;
    case 'const':
      return (v) => v === String(rule);
    case 'in': {
      const allowed = new Set(list(rule).map(String));
      return (v) => allowed.has(v);
    }
    case 'not_in': {
      const denied = new Set(list(rule).map(String));
      return (v) => !denied.has(v);
    }
    case 'pattern': {
      if (typeof rule !== 'string') return undefined;
      const same = sameInJavaScript(rule);
      return same ? (v) => same.test(v) : (v) => re2Matches(rule, v);
    }
    case 'well_known_regex':
      return typeof rule === 'string' ? (v) => headerRegexError(rule, rules.strict !== false, v) === undefined : () => true;
    case 'strict':
    case 'ignore_empty':
      return () => true;
    default:
      return undefined;
  }
}

function stringPass(rules: Rules): Pass | undefined {
  const checks: ((v: string) => boolean)[] = [];
  for (const [name, rule] of Object.entries(rules)) {
    const check = stringRulePass(name, rule, rules);
    if (!check) return undefined;
    checks.push(check);
  }
  const ignoreEmpty = rules.ignore_empty === true;
  return (value) => {
    const v = value ?? '';
    if (typeof v !== 'string') return false;
    if (ignoreEmpty && v === '') return true;
    for (const check of checks) if (!check(v)) return false;
    return true;
  };
}

/** The fast pass of a scalar kind's rules (`string`, `uint32`, `bool`, …), or undefined. */
export function scalarPass(kind: string, rules: Rules): Pass | undefined {
  if (kind === 'string') return stringPass(rules);
  if (kind === 'bool') return (v) => rules.const === undefined || rules.const === (v === true);
  if (kind === 'bytes') return undefined;
  return numberPass(kind, rules);
}

const ENUM_NAMES = new Set(['const', 'in', 'not_in', 'defined_only']);

export function enumPass(rules: Rules, type: protobuf.Enum): Pass | undefined {
  if (!onlyNames(rules, ENUM_NAMES)) return undefined;
  const ordered = orderedPass({ const: rules.const, in: rules.in, not_in: rules.not_in }, (v) => exactBound(v, true));
  if (!ordered) return undefined;
  const definedOnly = rules.defined_only === true;
  return (value) => {
    const v = Number(value ?? 0);
    return ordered(v) && (!definedOnly || type.valuesById[v] !== undefined);
  };
}

const DURATION_NAMES = new Set(['const', 'lt', 'lte', 'gt', 'gte', 'required']);
const MAX_DURATION_SECONDS = 315_576_000_000;

/**
 * A Duration is valid (protobuf's range, nanos of the seconds' sign) and meets its rules, read in
 * numbers: exact while the value's and the bounds' nanoseconds stay below 2^53.
 */
export function durationPass(rules: Rules | undefined): Pass | undefined {
  let ordered: ((v: number) => boolean) | undefined = () => true;
  if (rules) {
    if (!onlyNames(rules, DURATION_NAMES)) return undefined;
    const bounds: Rules = { ...rules };
    delete bounds.required;
    ordered = orderedPass(bounds, (v) => {
      const nanos = Number(totalNanos(v));
      return Number.isSafeInteger(nanos) ? nanos : undefined;
    });
  }
  if (!ordered) return undefined;
  const inRange = ordered;
  return (value) => {
    const parts = value as { seconds?: unknown; nanos?: unknown };
    const seconds = safeInteger(parts.seconds ?? 0);
    const nanos = parts.nanos ?? 0;
    if (seconds === undefined || typeof nanos !== 'number') return false;
    if (Math.abs(seconds) > MAX_DURATION_SECONDS || Math.abs(nanos) >= 1e9 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return false;
    return rules === undefined || (Math.abs(seconds) < MAX_SAFE_NANOS_SECONDS && inRange(seconds * 1e9 + nanos));
  };
}
