// protoc-gen-validate's rules for single values: numbers, bool, string, bytes, enum, and the
// Duration and Timestamp well-known types. Each check returns the rules a value breaks.
import type protobuf from 'protobufjs';
import { re2Matches } from './re2.js';
import { list, type Rules } from './rules.js';
import { headerRegexError, wellKnownString } from './well-known.js';

/** A broken rule, named as in validate.proto (`string.min_len`), with a readable reason. */
export interface Failure {
  rule: string;
  message: string;
}

type Ordered = number | bigint;

export const INTEGER_KINDS = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);
const NUMBER_KINDS = new Set([...INTEGER_KINDS, 'float', 'double']);

/** An integer from a decoded field (number, Long, string) or a rule value, as a bigint (never throws). */
function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  const text = String(value ?? 0);
  if (/^-?\d+$/.test(text)) return BigInt(text);
  const number = Number(text);
  return Number.isFinite(number) ? BigInt(Math.trunc(number)) : 0n;
}

/**
 * const, lt, lte, gt, gte, in, not_in, over any ordered kind. As PGV does, a lower bound above the
 * upper bound means the value must lie outside the range between them.
 */
function orderedRules(kind: string, rules: Rules, value: Ordered, convert: (v: unknown) => Ordered, show: (v: Ordered) => string): Failure[] {
  const failures: Failure[] = [];
  const bound = (name: string) => (rules[name] === undefined ? undefined : convert(rules[name]));
  const expected = bound('const');
  if (expected !== undefined && expected !== value) {
    failures.push({ rule: `${kind}.const`, message: `must equal ${show(expected)} (got ${show(value)})` });
  }
  const [lt, lte, gt, gte] = [bound('lt'), bound('lte'), bound('gt'), bound('gte')];
  const upper = lt ?? lte;
  const lower = gt ?? gte;
  const upperName = lt !== undefined ? 'lt' : 'lte';
  const lowerName = gt !== undefined ? 'gt' : 'gte';
  const belowUpper = upper === undefined || (lt !== undefined ? value < lt : value <= upper);
  const aboveLower = lower === undefined || (gt !== undefined ? value > gt : value >= lower);
  const describe = (name: string, limit: Ordered) =>
    `${{ lt: 'less than', lte: 'at most', gt: 'greater than', gte: 'at least' }[name]} ${show(limit)}`;
  if (upper !== undefined && lower !== undefined && upper < lower) {
    if (!aboveLower && !belowUpper) {
      failures.push({
        rule: `${kind}.${lowerName}`,
        message: `must be ${describe(lowerName, lower)} or ${describe(upperName, upper)} (got ${show(value)})`,
      });
    }
  } else {
    if (!aboveLower && lower !== undefined) {
      failures.push({ rule: `${kind}.${lowerName}`, message: `must be ${describe(lowerName, lower)} (got ${show(value)})` });
    }
    if (!belowUpper && upper !== undefined) {
      failures.push({ rule: `${kind}.${upperName}`, message: `must be ${describe(upperName, upper)} (got ${show(value)})` });
    }
  }
  const allowed = list(rules.in).map(convert);
  if (allowed.length > 0 && !allowed.includes(value)) {
    failures.push({ rule: `${kind}.in`, message: `must be one of ${allowed.map(show).join(', ')} (got ${show(value)})` });
  }
  const denied = list(rules.not_in).map(convert);
  if (denied.includes(value)) {
    failures.push({ rule: `${kind}.not_in`, message: `must not be one of ${denied.map(show).join(', ')} (got ${show(value)})` });
  }
  return failures;
}

/** Rules of a numeric kind (`uint32`, `double`, …) on a decoded value. */
function checkNumber(kind: string, rules: Rules, value: unknown): Failure[] {
  if (rules.ignore_empty === true && Number(String(value)) === 0) return [];
  if (INTEGER_KINDS.has(kind)) return orderedRules(kind, rules, toBigInt(value), toBigInt, String);
  // A float field and its float rules compare at single precision, as PGV's generated code does.
  const convert = kind === 'float' ? (v: unknown) => Math.fround(Number(v)) : Number;
  return orderedRules(kind, rules, convert(value), convert, String);
}

function checkBool(rules: Rules, value: boolean): Failure[] {
  if (rules.const !== undefined && rules.const !== value) {
    return [{ rule: 'bool.const', message: `must be ${String(rules.const)}` }];
  }
  return [];
}

/** Length rules shared by string (counted in characters or bytes) and bytes; `measure` runs only if needed. */
function lengthRules(kind: string, rules: Rules, names: [string, string, string], measure: () => number, unit: string): Failure[] {
  const [exact, min, max] = names;
  if (rules[exact] === undefined && rules[min] === undefined && rules[max] === undefined) return [];
  const length = measure();
  const failures: Failure[] = [];
  if (rules[exact] !== undefined && length !== Number(rules[exact])) {
    failures.push({ rule: `${kind}.${exact}`, message: `must be exactly ${String(rules[exact])} ${unit} long (got ${length})` });
  }
  if (rules[min] !== undefined && length < Number(rules[min])) {
    failures.push({ rule: `${kind}.${min}`, message: `must be at least ${String(rules[min])} ${unit} long (got ${length})` });
  }
  if (rules[max] !== undefined && length > Number(rules[max])) {
    failures.push({ rule: `${kind}.${max}`, message: `must be at most ${String(rules[max])} ${unit} long (got ${length})` });
  }
  return failures;
}

/** Membership rules (const, in, not_in) over values compared by a key; `show` names the value. */
function membershipRules(kind: string, rules: Rules, key: string, keyOf: (v: unknown) => string, show: () => string): Failure[] {
  const failures: Failure[] = [];
  if (rules.const !== undefined && keyOf(rules.const) !== key) {
    failures.push({ rule: `${kind}.const`, message: `must equal ${JSON.stringify(rules.const)} (got ${show()})` });
  }
  const allowed = list(rules.in);
  if (allowed.length > 0 && !allowed.some((v) => keyOf(v) === key)) {
    failures.push({ rule: `${kind}.in`, message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')} (got ${show()})` });
  }
  if (list(rules.not_in).some((v) => keyOf(v) === key)) {
    failures.push({ rule: `${kind}.not_in`, message: `must not be ${show()}` });
  }
  return failures;
}

function quote(value: string): string {
  const shown = JSON.stringify(value);
  return shown.length > 80 ? `${shown.slice(0, 77)}…"` : shown;
}

export const STRING_AFFIXES = new Map<string, [holds: (value: string, rule: string) => boolean, verb: string]>([
  ['prefix', [(v, r) => v.startsWith(r), 'start with']],
  ['suffix', [(v, r) => v.endsWith(r), 'end with']],
  ['contains', [(v, r) => v.includes(r), 'contain']],
  ['not_contains', [(v, r) => !v.includes(r), 'not contain']],
]);

/**
 * True when the rules are only lower length bounds (most string rules in Envoy's protos are
 * `min_len: 1` or `min_bytes: 1`) and the value meets them: checked by its UTF-16 length alone, as
 * it has at least half as many code points (rounded up) and at least as many UTF-8 bytes.
 */
function meetsLowerBounds(rules: Rules, value: string): boolean {
  for (const name in rules) if (name !== 'min_len' && name !== 'min_bytes' && name !== 'ignore_empty') return false;
  if (rules.min_len !== undefined && Math.ceil(value.length / 2) < Number(rules.min_len)) return false;
  return rules.min_bytes === undefined || value.length >= Number(rules.min_bytes);
}

function checkString(rules: Rules, value: string): Failure[] {
  if (rules.ignore_empty === true && value === '') return [];
  if (meetsLowerBounds(rules, value)) return [];
  const shown = () => quote(value);
  const failures = [
    ...membershipRules('string', rules, value, String, shown),
    ...lengthRules('string', rules, ['len', 'min_len', 'max_len'], () => [...value].length, 'characters'),
    ...lengthRules('string', rules, ['len_bytes', 'min_bytes', 'max_bytes'], () => Buffer.byteLength(value), 'bytes'),
  ];
  // The other rules, looked up by the names a field actually has (one or two, usually).
  for (const [name, rule] of Object.entries(rules)) {
    const affix = STRING_AFFIXES.get(name);
    const wellKnown = wellKnownString.get(name);
    if (affix && typeof rule === 'string' && !affix[0](value, rule)) {
      failures.push({ rule: `string.${name}`, message: `must ${affix[1]} ${JSON.stringify(rule)} (got ${shown()})` });
    } else if (name === 'pattern' && typeof rule === 'string' && !re2Matches(rule, value)) {
      failures.push({ rule: 'string.pattern', message: `must match the RE2 pattern ${JSON.stringify(rule)} (got ${shown()})` });
    } else if (wellKnown && rule === true) {
      const why = wellKnown(value);
      if (why) failures.push({ rule: `string.${name}`, message: `${shown()} ${why}` });
    } else if (name === 'well_known_regex' && typeof rule === 'string') {
      const why = headerRegexError(rule, rules.strict !== false, value);
      if (why) failures.push({ rule: 'string.well_known_regex', message: `${shown()} ${why} (${rule})` });
    }
  }
  return failures;
}

/** A bytes rule value: the .proto string literal, one byte per character. */
function ruleBytes(value: unknown): Buffer {
  return value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(String(value), 'latin1');
}

function checkBytes(rules: Rules, value: Uint8Array): Failure[] {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (rules.ignore_empty === true && bytes.length === 0) return [];
  const hex = bytes.toString('hex');
  const shown = `0x${hex.length > 64 ? `${hex.slice(0, 64)}…` : hex}`;
  const failures = [
    ...membershipRules('bytes', rules, hex, (v) => ruleBytes(v).toString('hex'), () => shown),
    ...lengthRules('bytes', rules, ['len', 'min_len', 'max_len'], () => bytes.length, 'bytes'),
  ];
  const affix: [string, (b: Buffer) => boolean, string][] = [
    ['prefix', (b) => bytes.subarray(0, b.length).equals(b), 'start with'],
    ['suffix', (b) => b.length <= bytes.length && bytes.subarray(bytes.length - b.length).equals(b), 'end with'],
    ['contains', (b) => bytes.includes(b), 'contain'],
  ];
  for (const [name, holds, verb] of affix) {
    if (rules[name] !== undefined && !holds(ruleBytes(rules[name]))) {
      failures.push({ rule: `bytes.${name}`, message: `must ${verb} 0x${ruleBytes(rules[name]).toString('hex')} (got ${shown})` });
    }
  }
  if (typeof rules.pattern === 'string' && !re2Matches(rules.pattern, bytes.toString('utf8'))) {
    failures.push({ rule: 'bytes.pattern', message: `must match the RE2 pattern ${JSON.stringify(rules.pattern)}` });
  }
  const ipLengths: [string, number[]][] = [['ip', [4, 16]], ['ipv4', [4]], ['ipv6', [16]]];
  for (const [name, lengths] of ipLengths) {
    if (rules[name] === true && !lengths.includes(bytes.length)) {
      failures.push({ rule: `bytes.${name}`, message: `must be an ${name === 'ip' ? 'IP' : name.toUpperCase()} address in bytes (got ${bytes.length} bytes)` });
    }
  }
  return failures;
}

export function checkEnum(rules: Rules, value: number, type: protobuf.Enum): Failure[] {
  const show = (v: Ordered) => {
    const name = type.valuesById[Number(v)];
    return name === undefined ? String(v) : `${name} (${v})`;
  };
  const failures = orderedRules('enum', { const: rules.const, in: rules.in, not_in: rules.not_in }, value, Number, show);
  if (rules.defined_only === true && type.valuesById[value] === undefined) {
    failures.push({ rule: 'enum.defined_only', message: `${value} is not a defined value of ${type.fullName.slice(1)}` });
  }
  return failures;
}

const NANOS = 1_000_000_000n;

/** A Duration or Timestamp (message or rule value `{ seconds, nanos }`) in nanoseconds. */
export function totalNanos(value: unknown): bigint {
  const parts = (value ?? {}) as { seconds?: unknown; nanos?: unknown };
  return toBigInt(parts.seconds ?? 0) * NANOS + toBigInt(parts.nanos ?? 0);
}

function showDuration(value: Ordered): string {
  const nanos = BigInt(value);
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const fraction = (abs % NANOS).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${abs / NANOS}${fraction ? `.${fraction}` : ''}s`;
}

function showTimestamp(value: Ordered): string {
  return new Date(Number(BigInt(value) / 1_000_000n)).toISOString();
}

/** Protobuf's own Duration limits, which Envoy enforces on every Duration it ingests. */
const MAX_DURATION_SECONDS = 315_576_000_000n;

export function checkDuration(rules: Rules | undefined, value: unknown): Failure[] {
  const failures: Failure[] = [];
  const parts = value as { seconds?: unknown; nanos?: unknown };
  const seconds = toBigInt(parts.seconds ?? 0);
  const nanos = Number(parts.nanos ?? 0);
  if (seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS || Math.abs(nanos) >= 1e9 || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    failures.push({ rule: 'duration.valid', message: `{seconds: ${seconds}, nanos: ${nanos}} is not a valid protobuf Duration` });
  }
  if (rules) failures.push(...orderedRules('duration', rules, totalNanos(value), totalNanos, showDuration));
  return failures;
}

export function checkTimestamp(rules: Rules, value: unknown, nowMs = Date.now()): Failure[] {
  const nanos = totalNanos(value);
  const failures = orderedRules('timestamp', rules, nanos, totalNanos, showTimestamp);
  const now = BigInt(nowMs) * 1_000_000n;
  if (rules.lt_now === true && nanos >= now) failures.push({ rule: 'timestamp.lt_now', message: `${showTimestamp(nanos)} must be in the past` });
  if (rules.gt_now === true && nanos <= now) failures.push({ rule: 'timestamp.gt_now', message: `${showTimestamp(nanos)} must be in the future` });
  if (rules.within !== undefined) {
    const within = totalNanos(rules.within);
    const distance = nanos > now ? nanos - now : now - nanos;
    if (distance > within) failures.push({ rule: 'timestamp.within', message: `${showTimestamp(nanos)} must be within ${showDuration(within)} of now` });
  }
  return failures;
}

/** The rules of one scalar kind (`string`, `uint32`, …) a field value breaks; an absent value is the kind's default. */
export function scalarFailures(kind: string, rules: Rules, value: unknown): Failure[] {
  if (kind === 'string') return checkString(rules, typeof value === 'string' ? value : '');
  if (kind === 'bool') return checkBool(rules, value === true);
  if (kind === 'bytes') return checkBytes(rules, value instanceof Uint8Array ? value : new Uint8Array());
  if (NUMBER_KINDS.has(kind)) return checkNumber(kind, rules, value ?? 0);
  return [];
}
