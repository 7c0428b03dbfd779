// skf_services (hash): (VIP, port, proto) -> service. Key struct skf_svc_key (20 bytes: address,
// port in network order, proto, family); value struct skf_svc_value (8 bytes). The service's
// backends are slots 0..count-1 of skf_lb_slots under its revNatId (see lb-slots.ts).
import { Struct } from './struct.js';

export const MAP_NAME = 'skf_services';
export const DEFAULT_MAX_ENTRIES = 65536;

export interface ServiceKey {
  /** The service address (ClusterIP, VIP). */
  addr: string;
  port: number;
  proto: number;
}

export interface ServiceValue {
  /** Service id: the key of its slots and the conntrack rev-NAT id (nonzero, unique per service). */
  revNatId: number;
  /** Number of slots (0: connections are dropped with NO_BACKEND). */
  count: number;
  /** ServiceFlags. */
  flags: number;
}

export const KEY = new Struct<ServiceKey & { family?: number }>('skf_svc_key', 20, [
  { name: 'addr', kind: 'addr', offset: 0 },
  { name: 'port', kind: 'be16', offset: 16 },
  { name: 'proto', kind: 'u8', offset: 18 },
  { name: 'family', kind: 'family', offset: 19 },
]);

export const VALUE = new Struct<ServiceValue>('skf_svc_value', 8, [
  { name: 'revNatId', kind: 'u32', offset: 0 },
  { name: 'count', kind: 'u16', offset: 4 },
  { name: 'flags', kind: 'u16', offset: 6 },
]);

export const encodeKey = (k: ServiceKey): Buffer => KEY.encode(k);
export const decodeKey = (buf: Buffer): ServiceKey => KEY.decode(buf);
export const encodeValue = (v: ServiceValue): Buffer => VALUE.encode(v);
export const decodeValue = (buf: Buffer): ServiceValue => VALUE.decode(buf);
