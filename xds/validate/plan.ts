// Check plans: what the validator does with each message type, compiled once per type from its
// protoc-gen-validate annotations. A plan lists, by field name, the check of a present value (a
// fast pass first, the full check of scalars.ts only when that cannot vouch for the value), and for
// each field whose absence breaks a rule, the violations absence causes (the same every time, so
// worked out here). A field whose type carries no rule anywhere below it (worked out over the
// types it reaches) has no check: its subtree is never walked.
import protobuf from 'protobufjs';
import { envoyChecks, type EnvoyCheck } from './envoy-checks.js';
import { durationPass, enumPass, scalarPass, type Pass } from './fast.js';
import type { Walk } from './pgv.js';
import { isRecord, list, planOf, sub, type Rules } from './rules.js';
import { checkDuration, checkEnum, checkTimestamp, scalarFailures, type Failure } from './scalars.js';

type Fields = { [name: string]: unknown };

/** Checks one present value; the walk stands at the value's path. */
export type ValueCheck = (walk: Walk, value: unknown) => void;

/** The `(validate.rules).any` of a field, read once. */
export interface AnyRules {
  allowed: readonly string[];
  denied: readonly string[];
}

export interface CheckPlan {
  /** Full name without the leading dot. */
  name: string;
  /** PGV generates no checks for it (`(validate.disabled)` or `(validate.ignored)`). */
  disabled: boolean;
  requiredOneofs: { name: string; members: readonly string[]; message: string }[];
  /** Every field with something to check, set or not. */
  fields: readonly FieldPlan[];
  /**
   * Field name → its plan, for messages with many such fields (most of them unset in any one
   * message): those are walked by the keys they have, then their absent fields; others field by field.
   */
  byName: ReadonlyMap<string, FieldPlan> | undefined;
  /** The fields whose absence breaks a rule. */
  absent: readonly FieldPlan[];
  /** Envoy's own checks of this type (envoy-checks.ts). */
  envoy: EnvoyCheck | undefined;
}

export interface FieldPlan {
  name: string;
  /** The check of its value when set (undefined: nothing to check). */
  present: ValueCheck | undefined;
  /** What its absence breaks, at the field's path (empty: nothing). */
  absent: readonly Failure[];
  /** Unset reads as null (a singular message): no own-property test is needed. */
  nullWhenUnset: boolean;
}

/** Above this many fields with checks, a message is walked by its own keys. */
const BY_NAME_ABOVE = 12;

/** How one value of a field is checked: when present, and what its absence breaks. */
interface ValuePlan {
  present: ValueCheck | undefined;
  absent: readonly Failure[];
}

const NONE: readonly Failure[] = [];
const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((t) => `google.protobuf.${t}Value`),
);
const DURATION = 'google.protobuf.Duration';
const TIMESTAMP = 'google.protobuf.Timestamp';
const ANY = 'google.protobuf.Any';

/** Types checked as one value (by the field's rules), not walked field by field. */
function isLeaf(name: string): boolean {
  return WRAPPERS.has(name) || name === DURATION || name === TIMESTAMP || name === ANY;
}

/** The message types a walk of `type` may enter. */
function childTypes(type: protobuf.Type): protobuf.Type[] {
  const plan = planOf(type);
  if (plan.disabled) return [];
  const children: protobuf.Type[] = [];
  for (const { field, rules } of plan.fields) {
    const resolved = field.resolvedType;
    if (!(resolved instanceof protobuf.Type) || isLeaf(planOf(resolved).name)) continue;
    if (sub(rules, 'message')?.skip !== true) children.push(resolved);
  }
  return children;
}

/** Whether the type itself (not counting its submessages) may break a rule. */
function checkedItself(type: protobuf.Type): boolean {
  const plan = planOf(type);
  if (plan.disabled) return false;
  if (plan.requiredOneofs.length > 0 || envoyChecks.has(plan.name)) return true;
  return plan.fields.some(({ field, rules }) => {
    if (rules !== undefined || field.required) return true;
    const resolved = field.resolvedType;
    const name = resolved instanceof protobuf.Type ? planOf(resolved).name : '';
    // A Duration is always checked for protobuf's range; an Any for its type and contents.
    return name === DURATION || name === ANY;
  });
}

const needs = new WeakMap<protobuf.Type, boolean>();

/**
 * Whether a walk of `type` can find anything to report: it or a type it reaches carries a rule.
 * Worked out for every type reachable from it at once (types refer to each other in cycles).
 */
export function needsCheck(root: protobuf.Type): boolean {
  const known = needs.get(root);
  if (known !== undefined) return known;
  const reached: protobuf.Type[] = [];
  const seen = new Set<protobuf.Type>();
  const stack = [root];
  while (stack.length > 0) {
    const type = stack.pop() as protobuf.Type;
    if (seen.has(type) || needs.has(type)) continue;
    seen.add(type);
    reached.push(type);
    stack.push(...childTypes(type));
  }
  const value = new Map(reached.map((type) => [type, checkedItself(type)]));
  const children = new Map(reached.map((type) => [type, childTypes(type)]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const type of reached) {
      if (value.get(type)) continue;
      if ((children.get(type) ?? []).some((c) => value.get(c) ?? needs.get(c))) {
        value.set(type, true);
        changed = true;
      }
    }
  }
  for (const [type, v] of value) needs.set(type, v);
  return value.get(root) === true;
}

/** A check from a fast pass and the full check that names what is broken. */
function checked(pass: Pass | undefined, failuresOf: (value: unknown) => Failure[]): ValueCheck {
  if (!pass) return (walk, value) => walk.failures(failuresOf(value));
  return (walk, value) => {
    if (!pass(value)) walk.failures(failuresOf(value));
  };
}

function scalarPlan(kind: string, rules: Rules | undefined): ValuePlan {
  const kindRules = sub(rules, kind);
  if (!kindRules) return { present: undefined, absent: NONE };
  return {
    present: checked(scalarPass(kind, kindRules), (v) => scalarFailures(kind, kindRules, v)),
    absent: scalarFailures(kind, kindRules, undefined),
  };
}

/** A message value: absent, only `required` rules apply; present, its kind's checks. */
function messagePlan(type: protobuf.Type, rules: Rules | undefined): ValuePlan {
  const required = ['message', 'duration', 'timestamp', 'any'].find((kind) => sub(rules, kind)?.required === true);
  const absent = required ? [{ rule: `${required}.required`, message: 'is required' }] : NONE;
  const inner = sub(rules, 'message')?.skip === true ? undefined : messageCheck(type, rules);
  if (!inner) return { present: undefined, absent };
  return { present: (walk, value) => (isRecord(value) ? inner(walk, value) : walk.failures(absent)), absent };
}

function messageCheck(type: protobuf.Type, rules: Rules | undefined): ((walk: Walk, value: Fields) => void) | undefined {
  const name = planOf(type).name;
  if (WRAPPERS.has(name)) {
    const wrapped = scalarPlan((type.fields.value as protobuf.Field).type, rules).present;
    return wrapped && ((walk, value) => wrapped(walk, value.value));
  }
  if (name === DURATION) {
    const durationRules = sub(rules, 'duration');
    return checked(durationPass(durationRules), (v) => checkDuration(durationRules, v));
  }
  if (name === TIMESTAMP) {
    const timestampRules = sub(rules, 'timestamp');
    return timestampRules && checked(undefined, (v) => checkTimestamp(timestampRules, v));
  }
  if (name === ANY) {
    const anyRules = sub(rules, 'any');
    const compiled: AnyRules = { allowed: list(anyRules?.in).map(String), denied: list(anyRules?.not_in).map(String) };
    return (walk, value) => walk.any(compiled, value);
  }
  if (!needsCheck(type)) return undefined;
  let plan: CheckPlan | undefined;
  return (walk, value) => walk.planned((plan ??= checkPlanOf(type)), value);
}

/** One value of a field (the field itself, one repeated item, or one map value). */
function valuePlan(field: protobuf.FieldBase, rules: Rules | undefined): ValuePlan {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messagePlan(resolved, rules);
  if (resolved instanceof protobuf.Enum) {
    const enumRules = sub(rules, 'enum');
    if (!enumRules) return { present: undefined, absent: NONE };
    return {
      present: checked(enumPass(enumRules, resolved), (v) => checkEnum(enumRules, Number(v ?? 0), resolved)),
      absent: checkEnum(enumRules, 0, resolved),
    };
  }
  return scalarPlan(field.type, rules);
}

/** Each item (or map value) at its own path: absent ones (null) break what absence breaks. */
function eachValue(walk: Walk, item: ValuePlan, key: string | number, value: unknown): void {
  walk.enter(key);
  if (value == null) walk.failures(item.absent);
  else item.present?.(walk, value);
  walk.leave();
}

function uniqueKey(item: unknown): string {
  return item instanceof Uint8Array ? Buffer.from(item).toString('hex') : String(item);
}

/** The count rules of a repeated field (`repeated.min_items`, …) or a map (`map.min_pairs`, …). */
function countFailures(rules: Rules, count: number, [kind, min, max, unit]: readonly [string, string, string, string]): Failure[] {
  const failures: Failure[] = [];
  if (rules.ignore_empty === true && count === 0) return failures;
  if (rules[min] !== undefined && count < Number(rules[min])) {
    failures.push({ rule: `${kind}.${min}`, message: `must have at least ${String(rules[min])} ${unit} (got ${count})` });
  }
  if (rules[max] !== undefined && count > Number(rules[max])) {
    failures.push({ rule: `${kind}.${max}`, message: `must have at most ${String(rules[max])} ${unit} (got ${count})` });
  }
  return failures;
}

const ITEMS = ['repeated', 'min_items', 'max_items', 'items'] as const;
const PAIRS = ['map', 'min_pairs', 'max_pairs', 'entries'] as const;

function repeatedFailures(rules: Rules, items: readonly unknown[]): readonly Failure[] {
  const failures = countFailures(rules, items.length, ITEMS);
  if (rules.unique === true && new Set(items.map(uniqueKey)).size !== items.length) failures.push({ rule: 'repeated.unique', message: 'items must be unique' });
  return failures;
}

function repeatedPlan(field: protobuf.Field, rules: Rules | undefined): ValuePlan {
  const repeated = sub(rules, 'repeated');
  const item = valuePlan(field, sub(repeated, 'items'));
  const absent = repeated ? repeatedFailures(repeated, []) : NONE;
  const itemsChecked = item.present !== undefined || item.absent.length > 0;
  if (!repeated && !itemsChecked) return { present: undefined, absent };
  // Counts within bounds pass without building a list of failures.
  const min = Number(repeated?.min_items ?? 0);
  const max = Number(repeated?.max_items ?? Infinity);
  const unique = repeated?.unique === true;
  return {
    present: (walk, value) => {
      const items = Array.isArray(value) ? value : [];
      if (repeated && (items.length < min || items.length > max || unique)) walk.failures(repeatedFailures(repeated, items));
      if (itemsChecked) for (let i = 0; i < items.length; i++) eachValue(walk, item, i, items[i]);
    },
    absent,
  };
}

/** A map key as protobufjs stores it (always a string property name) back as a typed value. */
function mapKey(keyType: string, key: string): unknown {
  if (keyType === 'bool') return key === 'true';
  if (keyType === 'string') return key;
  if (/^-?\d+$/.test(key)) return key;
  return protobuf.util.longFromHash(key, keyType.startsWith('u') || keyType.startsWith('fixed')).toString();
}

const SPARSE: Failure = { rule: 'map.no_sparse', message: 'map values must not be unset' };

function mapPlan(field: protobuf.MapField, rules: Rules | undefined): ValuePlan {
  const map = sub(rules, 'map');
  const keyCheck = scalarPlan(field.keyType, sub(map, 'keys')).present;
  const item = valuePlan(field, sub(map, 'values'));
  const noSparse = map?.no_sparse === true;
  const absent = map ? countFailures(map, 0, PAIRS) : NONE;
  if (!map && !item.present && item.absent.length === 0) return { present: undefined, absent };
  return {
    present: (walk, value) => {
      const entries = isRecord(value) ? value : {};
      const keys = Object.keys(entries);
      if (map) walk.failures(countFailures(map, keys.length, PAIRS));
      for (const key of keys) {
        const at = `[${JSON.stringify(key)}]`;
        if (keyCheck || (noSparse && entries[key] == null)) {
          walk.enter(at);
          keyCheck?.(walk, mapKey(field.keyType, key));
          if (noSparse && entries[key] == null) walk.failures([SPARSE]);
          walk.leave();
        }
        eachValue(walk, item, at, entries[key]);
      }
    },
    absent,
  };
}

const PROTO2_REQUIRED: Failure = { rule: 'proto2.required', message: 'is a required field and is missing' };

function compile(type: protobuf.Type): CheckPlan {
  const base = planOf(type);
  const fields: FieldPlan[] = [];
  for (const { field, rules } of base.fields) {
    const value = field instanceof protobuf.MapField ? mapPlan(field, rules) : field.repeated ? repeatedPlan(field, rules) : valuePlan(field, rules);
    const absent = [...(field.required ? [PROTO2_REQUIRED] : []), ...(field.partOf ? [] : value.absent)];
    if (!value.present && absent.length === 0) continue;
    const nullWhenUnset = !field.repeated && field.resolvedType instanceof protobuf.Type;
    fields.push({ name: field.name, present: value.present, absent: absent.length > 0 ? absent : NONE, nullWhenUnset });
  }
  return {
    name: base.name,
    disabled: base.disabled,
    requiredOneofs: base.requiredOneofs.map((o) => ({ name: o.name, members: o.oneof, message: `one of ${o.oneof.join(', ')} must be set` })),
    fields,
    byName: fields.length > BY_NAME_ABOVE ? new Map(fields.map((f) => [f.name, f])) : undefined,
    absent: fields.filter((f) => f.absent.length > 0),
    envoy: envoyChecks.get(base.name),
  };
}

const plans = new WeakMap<protobuf.Type, CheckPlan>();

/** The check plan of a message type, compiled on first use. */
export function checkPlanOf(type: protobuf.Type): CheckPlan {
  let plan = plans.get(type);
  if (!plan) {
    plan = compile(type);
    plans.set(type, plan);
  }
  return plan;
}
