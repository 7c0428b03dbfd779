// Checks a message against every protoc-gen-validate rule in Envoy's protos, as Envoy does when it
// ingests config: field rules, required oneofs, submessages, repeated items, map keys and values,
// wrapper types, and google.protobuf.Any (decoded by its type URL and checked in turn). Checks
// Envoy makes beyond PGV are included too: Duration range (`duration.valid`), and those in
// envoy-checks.ts (rule names `envoy.*` and `re2.compile`). The walk follows each type's check
// plan (plan.ts, compiled once per type): it visits only what can break a rule.
//
// Input: the encoded bytes, a protobufjs message, or a plain object in `Type.fromObject` form (field
// names as in the .proto, Any as `{ '@type': url, ...fields }` or `{ type_url, value }`, enums as
// names or numbers, 64-bit integers as numbers or strings, Duration as `{ seconds, nanos }`).
// Presence follows proto3: an absent message is null (only `required` rules apply to it); an absent
// scalar has its default value and its rules still apply (unless `ignore_empty`); a oneof member,
// including a proto3 `optional` field, is checked only when set.
import protobuf from 'protobufjs';
import { checkPlanOf, type AnyRules, type CheckPlan, type FieldPlan, type ValueCheck } from './plan.js';
import { anyContentsOf, lookupType, typeForUrl } from './proto-root.js';
import { planOf, type Rules } from './rules.js';
import type { Failure } from './scalars.js';
import { checkShape, joinPath } from './shape.js';

/** One broken rule: where (`virtual_hosts[1].domains`), which (`repeated.min_items`), and why. */
export interface Violation {
  path: string;
  rule: string;
  message: string;
}

type Fields = { [name: string]: unknown };

function isSet(message: Fields, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, name) && message[name] != null;
}

/**
 * One walk over a message, led by each type's check plan (plan.ts): only set fields with a check
 * are visited, absent fields only where absence breaks a rule. The path to the value being checked
 * is kept as a stack of segments (a field name, a repeated index, a map key already in brackets)
 * and joined only when a rule breaks: most values break none.
 */
export class Walk {
  readonly violations: Violation[] = [];
  private readonly segments: (string | number)[] = [];
  /** Reports a violation at a path relative to the current one (Envoy's checks report so). */
  private readonly relative = (at: string, rule: string, message: string) => this.report(joinPath(this.path(), at), rule, message);

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

  enter(segment: string | number): void {
    this.segments.push(segment);
  }

  leave(): void {
    this.segments.pop();
  }

  /** Reports each failure at the current path. */
  failures(failures: readonly Failure[]): void {
    if (failures.length === 0) return;
    const path = this.path();
    for (const failure of failures) this.report(path, failure.rule, failure.message);
  }

  /** Walks a message (top-level, a submessage, or an Any's contents) at the current path. */
  message(type: protobuf.Type, message: Fields): void {
    this.planned(checkPlanOf(type), message);
  }

  /** Walks a message by its type's plan. */
  planned(plan: CheckPlan, message: Fields): void {
    if (plan.disabled) return;
    for (const oneof of plan.requiredOneofs) this.requiredOneof(oneof, message);
    if (plan.byName) this.byKeys(plan.byName, plan.absent, message);
    else for (const field of plan.fields) this.field(field, message);
    plan.envoy?.(message, this.relative);
  }

  private requiredOneof(oneof: CheckPlan['requiredOneofs'][number], message: Fields): void {
    for (const name of oneof.members) if (isSet(message, name)) return;
    this.enter(oneof.name);
    this.failures([{ rule: 'oneof.required', message: oneof.message }]);
    this.leave();
  }

  /** One field: its value's check when set, what its absence breaks when not. */
  private field(field: FieldPlan, message: Fields): void {
    const value = message[field.name];
    const set = value != null && (field.nullWhenUnset || Object.prototype.hasOwnProperty.call(message, field.name));
    if (set ? field.present === undefined : field.absent.length === 0) return;
    this.enter(field.name);
    if (set) (field.present as ValueCheck)(this, value);
    else this.failures(field.absent);
    this.leave();
  }

  /** A message with many checked fields: the ones it has, by its own keys, then the absent ones. */
  private byKeys(byName: ReadonlyMap<string, FieldPlan>, absent: readonly FieldPlan[], message: Fields): void {
    for (const name of Object.keys(message)) {
      const field = byName.get(name);
      if (field && message[name] != null) this.field(field, message);
    }
    for (const field of absent) if (!isSet(message, field.name)) this.field(field, message);
  }

  /**
   * An Any: its type must be known (and allowed here); its contents are walked: the message its
   * bytes were encoded from when proto-root converted it, else the bytes decoded.
   */
  any(rules: AnyRules, value: Fields): void {
    const typeUrl = typeof value.type_url === 'string' ? value.type_url : '';
    if (rules.allowed.length > 0 && !rules.allowed.includes(typeUrl)) {
      this.failures([{ rule: 'any.in', message: `type ${typeUrl || '(none)'} must be one of ${rules.allowed.join(', ')}` }]);
    }
    if (rules.denied.includes(typeUrl)) this.failures([{ rule: 'any.not_in', message: `type ${typeUrl} is not allowed here` }]);
    const type = typeForUrl(typeUrl);
    if (!type) {
      const why = typeUrl ? `unknown type ${typeUrl}: Envoy rejects a type it does not know` : 'type_url is empty';
      this.failures([{ rule: 'any.type_url', message: why }]);
      return;
    }
    const converted = anyContentsOf(value);
    if (converted?.$type === type) {
      this.message(type, converted as unknown as Fields);
      return;
    }
    let inner: Fields;
    try {
      inner = decode(type, value.value instanceof Uint8Array ? value.value : new Uint8Array());
    } catch (err) {
      this.failures([{ rule: 'any.decode', message: `value does not decode as ${typeUrl}: ${(err as Error).message}` }]);
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
