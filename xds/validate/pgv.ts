// Checks a message against every protoc-gen-validate rule in Envoy's protos, as Envoy does when it
// ingests config: field rules, required oneofs, submessages, repeated items, map keys and values,
// wrapper types, and google.protobuf.Any (decoded by its type URL and checked in turn). Checks
// Envoy makes beyond PGV are included too: Duration range (`duration.valid`), and those in
// envoy-checks.ts (rule names `envoy.*` and `re2.compile`).
//
// Input: the encoded bytes, a protobufjs message, or a plain object in `Type.fromObject` form (field
// names as in the .proto, Any as `{ '@type': url, ...fields }` or `{ type_url, value }`, enums as
// names or numbers, 64-bit integers as numbers or strings, Duration as `{ seconds, nanos }`).
// Presence follows proto3: an absent message is null (only `required` rules apply to it); an absent
// scalar has its default value and its rules still apply (unless `ignore_empty`); a oneof member,
// including a proto3 `optional` field, is checked only when set.
import protobuf from 'protobufjs';
import { lookupType, typeForUrl } from './proto-root.js';
import { isRecord, list, planOf, sub, type Rules } from './rules.js';
import { envoyChecks } from './envoy-checks.js';
import { checkBool, checkBytes, checkDuration, checkEnum, checkNumber, checkString, checkTimestamp, NUMBER_KINDS, type Failure } from './scalars.js';
import { checkShape, joinPath } from './shape.js';

/** One broken rule: where (`virtual_hosts[1].domains`), which (`repeated.min_items`), and why. */
export interface Violation {
  path: string;
  rule: string;
  message: string;
}

type Fields = { [name: string]: unknown };

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((t) => `google.protobuf.${t}Value`),
);

function isSet(message: Fields, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, name) && message[name] != null;
}

/** A map key as protobufjs stores it (always a string property name) back as a typed value. */
function mapKey(keyType: string, key: string): unknown {
  if (keyType === 'bool') return key === 'true';
  if (keyType === 'string') return key;
  if (/^-?\d+$/.test(key)) return key;
  return protobuf.util.longFromHash(key, keyType.startsWith('u') || keyType.startsWith('fixed')).toString();
}

function uniqueKey(item: unknown): string {
  return item instanceof Uint8Array ? Buffer.from(item).toString('hex') : String(item);
}

/**
 * One walk over a message. The path to the value being checked is kept as a stack of segments (a
 * field name, a repeated index, a map key already in brackets) and joined only when a rule breaks:
 * most values break none, and building a path string for each one was most of the walk's garbage.
 */
class Walk {
  readonly violations: Violation[] = [];
  private readonly segments: (string | number)[] = [];

  /** The current path, e.g. `virtual_hosts[1].domains`. */
  private path(): string {
    let path = '';
    for (const segment of this.segments) {
      if (typeof segment === 'number') path += `[${segment}]`;
      else if (segment.startsWith('[')) path += segment;
      else path = joinPath(path, segment);
    }
    return path;
  }

  report(path: string, rule: string, message: string): void {
    this.violations.push({ path, rule, message });
  }

  private here(rule: string, message: string): void {
    this.report(this.path(), rule, message);
  }

  private failures(failures: Failure[]): void {
    for (const failure of failures) this.here(failure.rule, failure.message);
  }

  /** Walks a top-level message (or an Any's contents) at the current path. */
  message(type: protobuf.Type, message: Fields): void {
    const plan = planOf(type);
    if (plan.disabled) return;
    const segments = this.segments;
    for (const oneof of plan.requiredOneofs) {
      if (!oneof.oneof.some((name) => isSet(message, name))) {
        segments.push(oneof.name);
        this.here('oneof.required', `one of ${oneof.oneof.join(', ')} must be set`);
        segments.pop();
      }
    }
    for (const { field, rules } of plan.fields) {
      const set = isSet(message, field.name);
      if (!set && (field.required || field.partOf)) {
        if (field.required) {
          segments.push(field.name);
          this.here('proto2.required', 'is a required field and is missing');
          segments.pop();
        }
        if (field.partOf) continue;
      }
      const value = message[field.name];
      segments.push(field.name);
      if (field instanceof protobuf.MapField) this.map(field, rules, isRecord(value) ? value : {});
      else if (field.repeated) this.repeated(field, rules, Array.isArray(value) ? value : []);
      else this.value(field, rules, value);
      segments.pop();
    }
    const check = envoyChecks.get(plan.name);
    if (check) check(message, this.path(), (at, rule, why) => this.report(at, rule, why));
  }

  private repeated(field: protobuf.FieldBase, rules: Rules | undefined, items: unknown[]): void {
    const repeated = sub(rules, 'repeated');
    if (repeated && !(repeated.ignore_empty === true && items.length === 0)) {
      if (repeated.min_items !== undefined && items.length < Number(repeated.min_items)) {
        this.here('repeated.min_items', `must have at least ${String(repeated.min_items)} items (got ${items.length})`);
      }
      if (repeated.max_items !== undefined && items.length > Number(repeated.max_items)) {
        this.here('repeated.max_items', `must have at most ${String(repeated.max_items)} items (got ${items.length})`);
      }
      if (repeated.unique === true && new Set(items.map(uniqueKey)).size !== items.length) {
        this.here('repeated.unique', 'items must be unique');
      }
    }
    const itemRules = sub(repeated, 'items');
    for (let i = 0; i < items.length; i++) {
      this.segments.push(i);
      this.value(field, itemRules, items[i]);
      this.segments.pop();
    }
  }

  private map(field: protobuf.MapField, rules: Rules | undefined, entries: Fields): void {
    const map = sub(rules, 'map');
    const keys = Object.keys(entries);
    if (map && !(map.ignore_empty === true && keys.length === 0)) {
      if (map.min_pairs !== undefined && keys.length < Number(map.min_pairs)) {
        this.here('map.min_pairs', `must have at least ${String(map.min_pairs)} entries (got ${keys.length})`);
      }
      if (map.max_pairs !== undefined && keys.length > Number(map.max_pairs)) {
        this.here('map.max_pairs', `must have at most ${String(map.max_pairs)} entries (got ${keys.length})`);
      }
    }
    const keyRules = sub(map, 'keys');
    const valueRules = sub(map, 'values');
    for (const key of keys) {
      this.segments.push(`[${JSON.stringify(key)}]`);
      if (keyRules) this.scalar(field.keyType, keyRules, mapKey(field.keyType, key));
      if (map?.no_sparse === true && entries[key] == null) this.here('map.no_sparse', 'map values must not be unset');
      this.value(field, valueRules, entries[key]);
      this.segments.pop();
    }
  }

  /** One value of a field (the field itself, one repeated item, or one map value). */
  private value(field: protobuf.FieldBase, rules: Rules | undefined, value: unknown): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) this.submessage(resolved, rules, isRecord(value) ? value : undefined);
    else if (resolved instanceof protobuf.Enum) {
      const enumRules = sub(rules, 'enum');
      if (enumRules) this.failures(checkEnum(enumRules, Number(value ?? 0), resolved));
    } else if (rules) this.scalar(field.type, rules, value);
  }

  private scalar(kind: string, rules: Rules, value: unknown): void {
    const kindRules = sub(rules, kind);
    if (!kindRules) return;
    if (kind === 'string') this.failures(checkString(kindRules, typeof value === 'string' ? value : ''));
    else if (kind === 'bool') this.failures(checkBool(kindRules, value === true));
    else if (kind === 'bytes') this.failures(checkBytes(kindRules, value instanceof Uint8Array ? value : new Uint8Array()));
    else if (NUMBER_KINDS.has(kind)) this.failures(checkNumber(kind, kindRules, value ?? 0));
  }

  private submessage(type: protobuf.Type, rules: Rules | undefined, value: Fields | undefined): void {
    if (value === undefined) {
      for (const kind of ['message', 'duration', 'timestamp', 'any']) {
        if (sub(rules, kind)?.required === true) {
          this.here(`${kind}.required`, 'is required');
          return;
        }
      }
      return;
    }
    if (sub(rules, 'message')?.skip === true) return;
    const name = planOf(type).name;
    if (WRAPPERS.has(name)) {
      if (rules) this.scalar(type.fields.value.type, rules, value.value);
    } else if (name === 'google.protobuf.Duration') {
      this.failures(checkDuration(sub(rules, 'duration'), value));
    } else if (name === 'google.protobuf.Timestamp') {
      const timestampRules = sub(rules, 'timestamp');
      if (timestampRules) this.failures(checkTimestamp(timestampRules, value));
    } else if (name === 'google.protobuf.Any') {
      this.any(sub(rules, 'any'), value);
    } else {
      this.message(type, value);
    }
  }

  private any(rules: Rules | undefined, value: Fields): void {
    const typeUrl = typeof value.type_url === 'string' ? value.type_url : '';
    const allowed = list(rules?.in).map(String);
    if (allowed.length > 0 && !allowed.includes(typeUrl)) {
      this.here('any.in', `type ${typeUrl || '(none)'} must be one of ${allowed.join(', ')}`);
    }
    if (list(rules?.not_in).map(String).includes(typeUrl)) this.here('any.not_in', `type ${typeUrl} is not allowed here`);
    const type = typeForUrl(typeUrl);
    if (!type) {
      const why = typeUrl ? `unknown type ${typeUrl}: Envoy rejects a type it does not know` : 'type_url is empty';
      this.here('any.type_url', why);
      return;
    }
    let inner: Fields;
    try {
      inner = decode(type, value.value instanceof Uint8Array ? value.value : new Uint8Array());
    } catch (err) {
      this.here('any.decode', `value does not decode as ${typeUrl}: ${(err as Error).message}`);
      return;
    }
    this.message(type, inner);
  }
}

/**
 * Decodes bytes; a message missing a proto2 `required` field is still returned (protobufjs throws
 * with the decoded message attached), so the walk reports the field like any other violation.
 */
function decode(type: protobuf.Type, bytes: Uint8Array): Fields {
  try {
    return type.decode(bytes) as unknown as Fields;
  } catch (err) {
    if (err instanceof protobuf.util.ProtocolError && err.instance) return err.instance as unknown as Fields;
    throw err;
  }
}

/** The input as a protobufjs message of `type`, or undefined (with a violation) when it is not one. */
function toMessage(type: protobuf.Type, input: object | Uint8Array, walk: Walk): Fields | undefined {
  const name = planOf(type).name;
  try {
    if (input instanceof Uint8Array) return decode(type, input);
    if (input instanceof protobuf.Message) {
      return input.$type === type ? (input as unknown as Fields) : decode(type, input.$type.encode(input).finish());
    }
    checkShape(type, input as Rules, '', (path, rule, message) => walk.report(path, rule, message));
    return type.fromObject(input) as unknown as Fields;
  } catch (err) {
    walk.report('', 'decode', `not a valid ${name}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Every PGV rule (and Envoy ingestion check) the message breaks; empty when Envoy would accept it.
 * `type` is a full proto name such as `envoy.config.listener.v3.Listener` (an unknown name throws)
 * or a protobufjs Type, which may come from another Root (Anys inside are still decoded with Envoy's).
 */
export function validateMessage(type: string | protobuf.Type, message: object | Uint8Array): Violation[] {
  const messageType = typeof type === 'string' ? lookupType(type) : type;
  const walk = new Walk();
  const decoded = toMessage(messageType, message, walk);
  try {
    if (decoded) walk.message(messageType, decoded);
  } catch (err) {
    // A fault of the checker must not pass the resource, nor take down the caller.
    walk.report('', 'validator.error', `the checker failed: ${(err as Error).stack ?? String(err)}`);
  }
  return walk.violations;
}
