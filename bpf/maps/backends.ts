// skf_backends (hash): backend id (u32, nonzero) -> address, port (network order), proto, family
// (struct skf_backend, 24 bytes). Established connections keep their backend id in conntrack, so
// a backend must not be reused for another address while connections to it may live.
import { readAddrPortProto, writeAddrPortProto, type AddrPortProto } from './addr.js';

export const MAP_NAME = 'skf_backends';
export const KEY_SIZE = 4;
export const VALUE_SIZE = 24;
export const DEFAULT_MAX_ENTRIES = 262144;

export interface BackendValue extends AddrPortProto {
  flags: number;
}

export function encodeKey(backendId: number): Buffer {
  const buf = Buffer.alloc(KEY_SIZE);
  buf.writeUInt32LE(backendId, 0);
  return buf;
}

export function decodeKey(buf: Buffer): number {
  return buf.readUInt32LE(0);
}

export function encodeValue(v: BackendValue): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  writeAddrPortProto(buf, 0, v);
  buf.writeUInt32LE(v.flags, 20);
  return buf;
}

export function decodeValue(buf: Buffer): BackendValue {
  return { ...readAddrPortProto(buf, 0), flags: buf.readUInt32LE(20) };
}
