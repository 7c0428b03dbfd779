// skf_ipcache (LPM trie): IP prefix -> numeric identity. Key struct skf_ipcache_key (24 bytes:
// prefixlen u32, family u8 + 3 pad, address); the trie's prefix length also covers the family
// word, so prefixlen = 32 + the address prefix length. Value struct skf_ipcache_value (8 bytes).
// Addresses that match no prefix have identity WORLD.
import { familyOf, readAddr, writeAddr } from './addr.js';
import { AF_INET } from './constants.js';

export const MAP_NAME = 'skf_ipcache';
export const KEY_SIZE = 24;
export const VALUE_SIZE = 8;
export const DEFAULT_MAX_ENTRIES = 262144;

export interface IpcacheKey {
  /** An address or a CIDR ('10.0.0.5', '10.0.0.0/16', 'fd00::/64'). */
  cidr: string;
}

export interface IpcacheValue {
  identity: number;
  flags: number;
}

function splitCidr(cidr: string): { addr: string; bits: number } {
  const [addr, bits] = cidr.split('/');
  const max = familyOf(addr) === AF_INET ? 32 : 128;
  const len = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(len) || len < 0 || len > max) throw new Error(`bad prefix length in '${cidr}'`);
  return { addr, bits: len };
}

export function encodeKey(k: IpcacheKey): Buffer {
  const { addr, bits } = splitCidr(k.cidr);
  const buf = Buffer.alloc(KEY_SIZE);
  const family = writeAddr(buf, 8, addr);
  buf.writeUInt32LE(32 + bits, 0);
  buf.writeUInt8(family, 4);
  return buf;
}

export function decodeKey(buf: Buffer): IpcacheKey {
  const family = buf.readUInt8(4);
  return { cidr: `${readAddr(buf, 8, family)}/${buf.readUInt32LE(0) - 32}` };
}

export function encodeValue(v: IpcacheValue): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  buf.writeUInt32LE(v.identity, 0);
  buf.writeUInt32LE(v.flags, 4);
  return buf;
}

export function decodeValue(buf: Buffer): IpcacheValue {
  return { identity: buf.readUInt32LE(0), flags: buf.readUInt32LE(4) };
}
