// Checks a plain object against a message type before protobufjs's `fromObject` turns it into a
// message, because `fromObject` silently drops what it does not know: misspelt or camelCase field
// names, enum names that do not exist, Any values whose `@type` is not a loaded type, and
// google.protobuf.Struct written as bare JSON. Envoy would reject each of these.
import protobuf from 'protobufjs';
import { typeForUrl } from './proto-root.js';
import { isRecord, planOf, type Rules } from './rules.js';

export type Report = (path: string, rule: string, message: string) => void;

export function joinPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function unknownFieldHint(type: protobuf.Type, key: string): string {
  if (type.fullName === '.google.protobuf.Struct') return ' (a Struct in object form is {fields: {name: {stringValue: …}}})';
  // Envoy's protos load with their snake_case names; protobufjs's bundled google.protobuf types
  // (Value: stringValue, numberValue, …) are camelCase.
  const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const camel = key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  const known = [snake, camel].find((name) => name !== key && type.fields[name]);
  return known ? ` (did you mean ${known}?)` : '';
}

function checkElement(field: protobuf.Field, value: unknown, path: string, report: Report): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type && isRecord(value) && !(value instanceof protobuf.Message)) {
    checkShape(resolved, value, path, report);
  } else if (resolved instanceof protobuf.Enum && typeof value === 'string' && !(value in resolved.values)) {
    report(path, 'enum.name', `${JSON.stringify(value)} is not a value of ${resolved.fullName.slice(1)}`);
  }
}

/** Reports every key of `object` that `type.fromObject` would drop, at any depth. */
export function checkShape(type: protobuf.Type, object: Rules, path: string, report: Report): void {
  const typeUrl = object['@type'];
  if (typeof typeUrl === 'string' && planOf(type).name === 'google.protobuf.Any') {
    const inner = typeForUrl(typeUrl);
    if (!inner) {
      report(path, 'any.type_url', `unknown type ${typeUrl}: Envoy rejects a type it does not know`);
      return;
    }
    const rest = { ...object };
    delete rest['@type'];
    checkShape(inner, rest, path, report);
    return;
  }
  for (const [key, value] of Object.entries(object)) {
    const field = type.fields[key];
    const fieldPath = joinPath(path, key);
    // `toObject(…, { oneofs: true })` adds each set oneof's name, naming its member; fromObject ignores it.
    if (!field && typeof value === 'string' && type.oneofs?.[key]?.oneof.includes(value)) continue;
    if (!field) {
      report(fieldPath, 'unknown_field', `${type.fullName.slice(1)} has no field ${key}${unknownFieldHint(type, key)}`);
      continue;
    }
    if (field.map && isRecord(value)) {
      for (const [entryKey, entry] of Object.entries(value)) checkElement(field, entry, `${fieldPath}[${JSON.stringify(entryKey)}]`, report);
    } else if (field.repeated && Array.isArray(value)) {
      value.forEach((item, i) => checkElement(field, item, `${fieldPath}[${i}]`, report));
    } else {
      checkElement(field, value, fieldPath, report);
    }
  }
}
