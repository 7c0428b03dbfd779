// One generated resource, encoded once with Envoy's protos and checked: a Built keeps the message,
// its bytes, the names it refers to, and the problems that keep it from being served.
import type protobuf from 'protobufjs';
import { typeForUrl, type Violation } from '../validate/index.js';
import type { Json, TranslateIssue } from './types.js';

/** Checks one resource (plain object or bytes) against its type's shape and every protoc-gen-validate rule. */
export type ResourceChecker = (typeUrl: string, resource: object | Uint8Array) => Violation[];

export interface Built {
  typeUrl: string;
  name: string;
  /**
   * The message as the builder made it: a plain object, whose parts may be protobufjs messages
   * (constants of constant.ts, a load assignment's endpoints), or a protobufjs message throughout.
   * Read fields of those parts as own properties only (a message's prototype answers unset ones
   * with defaults); the served bytes are `value`.
   */
  message: Json;
  /** The encoded message (empty when it could not be encoded). */
  value: Uint8Array;
  /** Names this resource needs served: clusters of a route configuration, route configurations of a listener. */
  refs: readonly string[];
  /** The mesh object the resource was made from (for issues). */
  origin: string;
  /** Problems found while building or checking; a Built with `invalid` set is never served. */
  issues: readonly TranslateIssue[];
  invalid: boolean;
}

const types = new Map<string, protobuf.Type>();

/** The message type of a type URL (looked up once). */
export function typeOf(typeUrl: string): protobuf.Type {
  let type = types.get(typeUrl);
  if (!type) {
    type = typeForUrl(typeUrl);
    if (!type) throw new Error(`no Envoy type for ${typeUrl}`);
    types.set(typeUrl, type);
  }
  return type;
}

/**
 * Encodes and checks a message; problems found while building it come in `issues`. The checker is
 * given the protobufjs message the bytes were encoded from (what is served, with no second
 * conversion); that `fromObject` dropped no misspelt key of a builder is checked by the tests,
 * which run every served resource's plain object through the checker's shape check.
 */
export function finish(
  typeUrl: string,
  name: string,
  message: Json,
  origin: string,
  refs: readonly string[],
  issues: readonly TranslateIssue[],
  checker: ResourceChecker | undefined,
): Built {
  const all = [...issues];
  let value: Uint8Array = new Uint8Array();
  let encoded: protobuf.Message | undefined;
  const type = typeOf(typeUrl);
  try {
    encoded = type.fromObject(message);
    value = type.encode(encoded).finish();
  } catch (err) {
    all.push({ object: origin, message: `cannot encode ${name}: ${(err as Error).message}`, resource: { typeUrl, name } });
  }
  if (checker && encoded && value.length > 0) {
    for (const v of checker(typeUrl, encoded)) {
      all.push({ object: origin, field: v.path, message: `${v.rule}: ${v.message}`, resource: { typeUrl, name } });
    }
  }
  const invalid = all.some((i) => i.resource !== undefined);
  return { typeUrl, name, message, value, refs, origin, issues: all, invalid };
}
