// Reads protoc-gen-validate annotations back from the protobufjs reflection objects: a field's
// `(validate.rules)`, a oneof's `(validate.required)`, a message's `(validate.disabled)` and
// `(validate.ignored)`. protobufjs keeps them in `parsedOptions` as a list of `{ name: value }`.
// Each message type's plan (its annotated fields and oneofs) is worked out once and kept.
import protobuf from 'protobufjs';

/** A rule set as written in the .proto, e.g. `{ string: { min_len: 1 } }` or `{ uint32: { lte: 65535 } }`. */
export type Rules = { [name: string]: unknown };

export function isRecord(value: unknown): value is Rules {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function merge(into: Rules, from: Rules): Rules {
  const out: Rules = { ...into };
  for (const [key, value] of Object.entries(from)) {
    const existing = out[key];
    out[key] = isRecord(existing) && isRecord(value) ? merge(existing, value) : value;
  }
  return out;
}

/** An option of a reflection object (all its mentions merged), or undefined when not set. */
function optionOf(object: protobuf.ReflectionObject, name: string): unknown {
  let found: unknown;
  // Typed as a record, but protobufjs 7 keeps a list of single-key objects.
  const entries = (object.parsedOptions ?? []) as unknown as unknown[];
  for (const entry of entries) {
    if (!isRecord(entry) || !(name in entry)) continue;
    const value = entry[name];
    found = isRecord(found) && isRecord(value) ? merge(found, value) : value;
  }
  return found;
}

/** A sub-rule set, e.g. `sub(rules, 'string')`, or undefined. */
export function sub(rules: Rules | undefined, name: string): Rules | undefined {
  const value = rules?.[name];
  return isRecord(value) ? value : undefined;
}

/** A rule value that may be written once or repeated (`in: "a" in: "b"`), as a list. */
export function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The `(validate.rules)` of a field, or undefined when it has none. */
function rulesOf(field: protobuf.Field): Rules | undefined {
  const option = optionOf(field, '(validate.rules)');
  return isRecord(option) ? option : undefined;
}

/** What the validator needs of a message type, worked out once per type. */
export interface TypePlan {
  /** Full name without the leading dot. */
  name: string;
  /** PGV generates no checks for it (`(validate.disabled)` or `(validate.ignored)`). */
  disabled: boolean;
  /** Oneofs with `option (validate.required) = true`. */
  requiredOneofs: protobuf.OneOf[];
  /** The fields that can break a rule: with rules, proto2 `required`, or of a message type. */
  fields: { field: protobuf.Field; rules: Rules | undefined }[];
}

const plans = new WeakMap<protobuf.Type, TypePlan>();

export function planOf(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (plan) return plan;
  const fields = type.fieldsArray
    .map((field) => ({ field, rules: rulesOf(field) }))
    .filter(({ field, rules }) => rules !== undefined || field.required || field.resolvedType instanceof protobuf.Type);
  plan = {
    name: type.fullName.slice(1),
    disabled: optionOf(type, '(validate.disabled)') === true || optionOf(type, '(validate.ignored)') === true,
    requiredOneofs: type.oneofsArray.filter((oneof) => optionOf(oneof, '(validate.required)') === true),
    fields,
  };
  plans.set(type, plan);
  return plan;
}
