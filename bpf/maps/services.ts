// skf_services (hash): (VIP, port, proto) -> service. Key struct skf_svc_key (20 bytes: address,
// port in network order, proto, family); value struct skf_svc_value (8 bytes). The service's
// backends are slots 0..count-1 of skf_lb_slots under its revNatId (see lb-slots.ts).
import { readAddrPortProto, writeAddrPortProto, type AddrPortProto } from './addr.js';

export const MAP_NAME = 'skf_services';
export const KEY_SIZE = 20;
export const VALUE_SIZE = 8;
export const DEFAULT_MAX_ENTRIES = 65536;

/** addr is the service address (the ClusterIP, the VIP). */
export type ServiceKey = AddrPortProto;

export interface ServiceValue {
  /** Service id: the key of its slots and the conntrack rev-NAT id (nonzero, unique per service). */
  revNatId: number;
  /** Number of slots (0: connections are dropped with NO_BACKEND). */
  count: number;
  /** ServiceFlags. */
  flags: number;
}

export function encodeKey(k: ServiceKey): Buffer {
  const buf = Buffer.alloc(KEY_SIZE);
  writeAddrPortProto(buf, 0, k);
  return buf;
}

export function decodeKey(buf: Buffer): ServiceKey {
  return readAddrPortProto(buf, 0);
}

export function encodeValue(v: ServiceValue): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  buf.writeUInt32LE(v.revNatId, 0);
  buf.writeUInt16LE(v.count, 4);
  buf.writeUInt16LE(v.flags, 6);
  return buf;
}

export function decodeValue(buf: Buffer): ServiceValue {
  return { revNatId: buf.readUInt32LE(0), count: buf.readUInt16LE(4), flags: buf.readUInt16LE(6) };
}
