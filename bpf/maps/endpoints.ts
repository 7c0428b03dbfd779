// skf_endpoints (hash): local pod IP -> endpoint. Key struct skf_ep_key (20 bytes: address,
// family, 3 pad); value struct skf_ep_value (16 bytes). from_pod finds the source pod (identity,
// egress policy) and the fast-path target (ifindex of the destination pod's host-side veth, in the
// node's network namespace); to_pod finds the destination pod (ingress policy).
import { Struct } from './struct.js';

export const MAP_NAME = 'skf_endpoints';
export const DEFAULT_MAX_ENTRIES = 65536;

export interface EndpointValue {
  /** Nonzero, unique on the node: the policy map's endpoint id. */
  endpointId: number;
  identity: number;
  /** Host-side veth of the pod (node netns); 0 = never redirect to it (the stack routes). */
  ifindex: number;
  /** EndpointFlags. */
  flags: number;
}

export const KEY = new Struct<{ addr: string; family?: number }>('skf_ep_key', 20, [
  { name: 'addr', kind: 'addr', offset: 0 },
  { name: 'family', kind: 'family', offset: 16 },
]);

export const VALUE = new Struct<EndpointValue>('skf_ep_value', 16, [
  { name: 'endpointId', kind: 'u32', offset: 0 },
  { name: 'identity', kind: 'u32', offset: 4 },
  { name: 'ifindex', kind: 'u32', offset: 8 },
  { name: 'flags', kind: 'u32', offset: 12 },
]);

/** The key: the pod's IP. */
export const encodeKey = (ip: string): Buffer => KEY.encode({ addr: ip });
export const decodeKey = (buf: Buffer): string => KEY.decode(buf).addr;
export const encodeValue = (v: EndpointValue): Buffer => VALUE.encode(v);
export const decodeValue = (buf: Buffer): EndpointValue => VALUE.decode(buf);
