// Converts a message in protobufjs `fromObject` form (what skiff builds and checks: Duration as
// {seconds, nanos}, Struct as {fields} of {stringValue…} (protobufjs's bundled google types are
// camelCase), wrappers as {value}, Any as {'@type', ...}) to the proto3
// JSON that Envoy reads from a file (`"5s"`, plain objects, bare values).
import type protobuf from 'protobufjs';
import { lookupType, typeForUrl } from '../xds/validate/index.js';

type Obj = { [key: string]: unknown };

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));

function durationJson(value: Obj): string {
  const seconds = Number(value.seconds ?? 0);
  const nanos = Number(value.nanos ?? 0);
  return nanos === 0 ? `${seconds}s` : `${(seconds + nanos / 1e9).toFixed(9).replace(/0+$/, '')}s`;
}

function valueJson(value: Obj): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('numberValue' in value) return value.numberValue;
  if ('boolValue' in value) return value.boolValue;
  if ('structValue' in value) return structJson(value.structValue as Obj);
  if ('listValue' in value) return (((value.listValue as Obj).values as Obj[] | undefined) ?? []).map(valueJson);
  return null;
}

function structJson(value: Obj): Obj {
  return Object.fromEntries(Object.entries((value.fields as Obj | undefined) ?? {}).map(([k, v]) => [k, valueJson(v as Obj)]));
}

function messageJson(type: protobuf.Type, value: Obj): unknown {
  const name = type.fullName;
  if (name === '.google.protobuf.Duration') return durationJson(value);
  if (name === '.google.protobuf.Struct') return structJson(value);
  if (name === '.google.protobuf.Value') return valueJson(value);
  if (WRAPPERS.has(name)) return value.value;
  if (name === '.google.protobuf.Any') {
    const { '@type': url, ...fields } = value;
    const inner = typeof url === 'string' ? typeForUrl(url) : undefined;
    return inner ? { '@type': url, ...(messageJson(inner, fields) as Obj) } : value;
  }
  const out: Obj = {};
  for (const [key, field] of Object.entries(value)) {
    const f = type.fields[key];
    const resolved = f?.resolve().resolvedType;
    if (!f || !resolved || !('fields' in resolved)) {
      out[key] = field;
      continue;
    }
    const t = resolved as protobuf.Type;
    if (f.map) out[key] = Object.fromEntries(Object.entries(field as Obj).map(([k, v]) => [k, messageJson(t, v as Obj)]));
    else if (f.repeated) out[key] = (field as Obj[]).map((v) => messageJson(t, v));
    else out[key] = messageJson(t, field as Obj);
  }
  return out;
}

/** The proto3 JSON of a `fromObject`-form message of type `typeName` (e.g. `envoy.config.bootstrap.v3.Bootstrap`). */
export function toProtoJson(typeName: string, message: Obj): Obj {
  return messageJson(lookupType(typeName), message) as Obj;
}
