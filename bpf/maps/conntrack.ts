// skf_ct (LRU hash): struct skf_tuple with its scope (40 bytes, see tuple.ts) -> struct
// skf_ct_value (64 bytes). Scopes: EGRESS entries are opened by from_pod for flows a pod starts
// (keyed by the tuple after DNAT, or the original tuple when steered to the proxy), INGRESS by
// to_pod for flows entering a pod, SERVICE by from_pod for client->VIP tuples (they remember the
// backend, so established connections keep it when the service's backends change).
import { readAddr, writeAddr } from './addr.js';
import { readTuple, TUPLE_SIZE, writeTuple, type Tuple } from './tuple.js';

export const MAP_NAME = 'skf_ct';
export const KEY_SIZE = TUPLE_SIZE;
export const VALUE_SIZE = 64;
export const DEFAULT_MAX_ENTRIES = 524288;

export interface CtValue {
  /** CLOCK_MONOTONIC deadline, nanoseconds. */
  expires: bigint;
  packets: bigint;
  bytes: bigint;
  /** CtFlags.DNAT: the original destination (VIP) replies are rewritten from. */
  natAddr: string;
  natPort: number;
  proxyPort: number;
  revNatId: number;
  backendId: number;
  srcIdentity: number;
  dstIdentity: number;
  /** CtFlags. */
  flags: number;
  tcpFlagsOrig: number;
  tcpFlagsReply: number;
}

export function encodeKey(t: Tuple): Buffer {
  const buf = Buffer.alloc(KEY_SIZE);
  writeTuple(buf, 0, t);
  return buf;
}

export function decodeKey(buf: Buffer): ReturnType<typeof readTuple> {
  return readTuple(buf, 0);
}

/** The value; natAddr is written when set (its family must be the key's). */
export function encodeValue(v: CtValue): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  buf.writeBigUInt64LE(v.expires, 0);
  buf.writeBigUInt64LE(v.packets, 8);
  buf.writeBigUInt64LE(v.bytes, 16);
  if (v.natAddr) writeAddr(buf, 24, v.natAddr);
  buf.writeUInt16BE(v.natPort, 40);
  buf.writeUInt16LE(v.proxyPort, 42);
  buf.writeUInt32LE(v.revNatId, 44);
  buf.writeUInt32LE(v.backendId, 48);
  buf.writeUInt32LE(v.srcIdentity, 52);
  buf.writeUInt32LE(v.dstIdentity, 56);
  buf.writeUInt16LE(v.flags, 60);
  buf.writeUInt8(v.tcpFlagsOrig, 62);
  buf.writeUInt8(v.tcpFlagsReply, 63);
  return buf;
}

/** The value; family (of the key) tells how to read natAddr. */
export function decodeValue(buf: Buffer, family: number): CtValue {
  return {
    expires: buf.readBigUInt64LE(0),
    packets: buf.readBigUInt64LE(8),
    bytes: buf.readBigUInt64LE(16),
    natAddr: readAddr(buf, 24, family),
    natPort: buf.readUInt16BE(40),
    proxyPort: buf.readUInt16LE(42),
    revNatId: buf.readUInt32LE(44),
    backendId: buf.readUInt32LE(48),
    srcIdentity: buf.readUInt32LE(52),
    dstIdentity: buf.readUInt32LE(56),
    flags: buf.readUInt16LE(60),
    tcpFlagsOrig: buf.readUInt8(62),
    tcpFlagsReply: buf.readUInt8(63),
  };
}
