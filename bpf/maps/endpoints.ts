// skf_endpoints (hash): local pod IP -> endpoint. Key struct skf_ep_key (20 bytes: address,
// family, 3 pad); value struct skf_ep_value (16 bytes). from_pod finds the source pod (identity,
// egress policy) and the fast-path target (ifindex of the destination pod's host-side veth, in the
// node's network namespace); to_pod finds the destination pod (ingress policy).
import { readAddr, writeAddr } from './addr.js';

export const MAP_NAME = 'skf_endpoints';
export const KEY_SIZE = 20;
export const VALUE_SIZE = 16;
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

export function encodeKey(ip: string): Buffer {
  const buf = Buffer.alloc(KEY_SIZE);
  buf.writeUInt8(writeAddr(buf, 0, ip), 16);
  return buf;
}

export function decodeKey(buf: Buffer): string {
  return readAddr(buf, 0, buf.readUInt8(16));
}

export function encodeValue(v: EndpointValue): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  buf.writeUInt32LE(v.endpointId, 0);
  buf.writeUInt32LE(v.identity, 4);
  buf.writeUInt32LE(v.ifindex, 8);
  buf.writeUInt32LE(v.flags, 12);
  return buf;
}

export function decodeValue(buf: Buffer): EndpointValue {
  return {
    endpointId: buf.readUInt32LE(0),
    identity: buf.readUInt32LE(4),
    ifindex: buf.readUInt32LE(8),
    flags: buf.readUInt32LE(12),
  };
}
