// What the translator produces and reports: Envoy resources as protobufjs-ready objects (proto
// field names, `@type` on Any), grouped per client class by type URL and name, and the problems
// found on the way, each naming the mesh object that caused it.

/** An Envoy message as a plain object: proto field names, enums by name, Any as `{ '@type', ... }`. */
export type Json = { [field: string]: unknown };

/**
 * A constant part of Envoy messages, frozen all the way down: shared by every message that uses
 * it, it cannot be changed through one of them (and its typed config is converted only once).
 */
export function frozen<T extends object>(value: T): T {
  // bytes (an Any's value in a converted message) cannot be frozen; nothing writes to them
  if (ArrayBuffer.isView(value)) return value;
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) frozen(inner);
  return Object.freeze(value);
}

export interface TranslateIssue {
  /** Object key of the mesh object at fault (`HTTPRoute/shop/orders-canary`), or the resource name. */
  object: string;
  /** The field of that object, when known. */
  field?: string;
  message: string;
  /** The Envoy resource that was withheld because of this issue, when one was. */
  resource?: { typeUrl: string; name: string };
}

/** The client classes of the xDS server that receive Envoy resources. */
export type ClientClass =
  | { role: 'node-proxy'; node: string }
  | { role: 'waypoint'; namespace: string; name: string }
  | { role: 'proxyless' };

/** A stable string for a client class: `node-proxy/NODE`, `waypoint/NS/NAME`, `proxyless`. */
export function clientClassKey(c: ClientClass): string {
  if (c.role === 'node-proxy') return `node-proxy/${c.node}`;
  if (c.role === 'waypoint') return `waypoint/${c.namespace}/${c.name}`;
  return 'proxyless';
}
