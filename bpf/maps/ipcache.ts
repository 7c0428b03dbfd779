// skf_ipcache (LPM trie): IP prefix -> numeric identity. Key struct skf_ipcache_key (24 bytes:
// prefixlen, family + 3 pad, address); the trie's prefix also covers the family word, so
// prefixlen = 32 + the address prefix length. Value struct skf_ipcache_value (8 bytes).
// Addresses that match no prefix have identity WORLD.
import { familyOf } from './addr.js';
import { AF_INET } from './constants.js';
import { Struct } from './struct.js';

export const MAP_NAME = 'skf_ipcache';
export const DEFAULT_MAX_ENTRIES = 262144;

export interface IpcacheKey {
  /** An address or a CIDR ('10.0.0.5', '10.0.0.0/16', 'fd00::/64'). */
  cidr: string;
}

export interface IpcacheValue {
  identity: number;
  flags: number;
}

export const KEY = new Struct<{ prefixlen: number; family?: number; addr: string }>('skf_ipcache_key', 24, [
  { name: 'prefixlen', kind: 'u32', offset: 0 },
  { name: 'family', kind: 'family', offset: 4 },
  { name: 'addr', kind: 'addr', offset: 8 },
]);

export const VALUE = new Struct<IpcacheValue>('skf_ipcache_value', 8, [
  { name: 'identity', kind: 'u32', offset: 0 },
  { name: 'flags', kind: 'u32', offset: 4 },
]);

export function encodeKey(k: IpcacheKey): Buffer {
  const [addr, bits] = k.cidr.split('/');
  const max = familyOf(addr) === AF_INET ? 32 : 128;
  const len = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(len) || len < 0 || len > max) throw new Error(`bad prefix length in '${k.cidr}'`);
  return KEY.encode({ prefixlen: 32 + len, addr });
}

export function decodeKey(buf: Buffer): IpcacheKey {
  const k = KEY.decode(buf);
  return { cidr: `${k.addr}/${k.prefixlen - 32}` };
}

export const encodeValue = (v: IpcacheValue): Buffer => VALUE.encode(v);
export const decodeValue = (buf: Buffer): IpcacheValue => VALUE.decode(buf);
