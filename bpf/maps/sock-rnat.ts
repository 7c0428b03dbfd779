// skf_sock_rnat (LRU hash): (socket cookie, backend IPv4, port) -> the VIP and port the socket
// asked for, written by the cgroup connect4/sendmsg4 hooks and read by getpeername4/recvmsg4.
// Key struct skf_sock_rnat_key (16 bytes), value struct skf_sock_rnat_value (12 bytes); the
// datapath owns it, agents only read it (e.g. to show socket-balanced connections).
import { Struct } from './struct.js';

export const MAP_NAME = 'skf_sock_rnat';
export const DEFAULT_MAX_ENTRIES = 65536;

export interface SockRnatKey {
  cookie: bigint;
  addr: string;
  port: number;
}

export interface SockRnatValue {
  addr: string;
  port: number;
  revNatId: number;
}

export const KEY = new Struct<SockRnatKey>('skf_sock_rnat_key', 16, [
  { name: 'cookie', kind: 'u64', offset: 0 },
  { name: 'addr', kind: 'addr4', offset: 8 },
  { name: 'port', kind: 'be16', offset: 12 },
]);

export const VALUE = new Struct<SockRnatValue>('skf_sock_rnat_value', 12, [
  { name: 'addr', kind: 'addr4', offset: 0 },
  { name: 'port', kind: 'be16', offset: 4 },
  { name: 'revNatId', kind: 'u32', offset: 8 },
]);

export const encodeKey = (k: SockRnatKey): Buffer => KEY.encode(k);
export const decodeKey = (buf: Buffer): SockRnatKey => KEY.decode(buf);
export const encodeValue = (v: SockRnatValue): Buffer => VALUE.encode(v);
export const decodeValue = (buf: Buffer): SockRnatValue => VALUE.decode(buf);
