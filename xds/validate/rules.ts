// Reads protoc-gen-validate annotations back from the protobufjs reflection objects: a field's
// `(validate.rules)`, a oneof's `(validate.required)`, a message's `(validate.disabled)` and
// `(validate.ignored)`. protobufjs keeps them in `parsedOptions` as a list of `{ name: value }`.
import type protobuf from 'protobufjs';

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
export function optionOf(object: protobuf.ReflectionObject, name: string): unknown {
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

const fieldRules = new WeakMap<protobuf.Field, Rules | null>();

/** The `(validate.rules)` of a field, or undefined when it has none. */
export function rulesOf(field: protobuf.Field): Rules | undefined {
  let rules = fieldRules.get(field);
  if (rules === undefined) {
    const option = optionOf(field, '(validate.rules)');
    rules = isRecord(option) ? option : null;
    fieldRules.set(field, rules);
  }
  return rules ?? undefined;
}

/** Whether PGV generates no checks for a message (`(validate.disabled)` or `(validate.ignored)`). */
export function isDisabled(type: protobuf.Type): boolean {
  return optionOf(type, '(validate.disabled)') === true || optionOf(type, '(validate.ignored)') === true;
}

/** Whether a oneof must have one member set (`option (validate.required) = true`). */
export function isRequiredOneof(oneof: protobuf.OneOf): boolean {
  return optionOf(oneof, '(validate.required)') === true;
}
