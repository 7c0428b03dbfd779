// skf_backends (hash): backend id (u32, nonzero) -> address, port (network order), proto, family
// (struct skf_backend, 24 bytes). Established connections keep their backend id in conntrack, so
// do not reuse an id for another address while connections to it may live.
import { Struct, u32 } from './struct.js';

export const MAP_NAME = 'skf_backends';
export const DEFAULT_MAX_ENTRIES = 262144;

export interface BackendValue {
  addr: string;
  port: number;
  proto: number;
  flags: number;
}

export const VALUE = new Struct<BackendValue & { family?: number }>('skf_backend', 24, [
  { name: 'addr', kind: 'addr', offset: 0 },
  { name: 'port', kind: 'be16', offset: 16 },
  { name: 'proto', kind: 'u8', offset: 18 },
  { name: 'family', kind: 'family', offset: 19 },
  { name: 'flags', kind: 'u32', offset: 20 },
]);

export const encodeKey = (backendId: number): Buffer => u32.encode(backendId);
export const decodeKey = (buf: Buffer): number => u32.decode(buf);
export const encodeValue = (v: BackendValue): Buffer => VALUE.encode(v);
export const decodeValue = (buf: Buffer): BackendValue => VALUE.decode(buf);
