// skf_ct (LRU hash): struct skf_tuple with its scope (40 bytes, see tuple.ts) -> struct
// skf_ct_value (72 bytes). Scopes: EGRESS entries are opened by from_pod for flows a pod starts
// (keyed by the tuple after DNAT, or the original tuple when steered to the proxy), INGRESS by
// to_pod for flows entering a pod, SERVICE by from_pod for client->VIP tuples (they remember the
// backend, id and address, so established connections keep it when the service's backends change
// and their packets need neither the service nor the backend map). Values of the earlier 64-byte
// layout (no backendChecked) are upgraded by upgradeLegacyValue when a pinned map is migrated.
import { Struct } from './struct.js';
import { TUPLE, type DecodedTuple, type Tuple } from './tuple.js';

export const MAP_NAME = 'skf_ct';
export const DEFAULT_MAX_ENTRIES = 524288;

export interface CtValue {
  /** CLOCK_MONOTONIC deadline, nanoseconds. */
  expires: bigint;
  packets: bigint;
  bytes: bigint;
  /** EGRESS scope with CtFlags.DNAT: the original destination (VIP) replies are rewritten from.
   * SERVICE scope: the backend (backendId's address) the flow is translated to. '' when unset. */
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
  /** SERVICE scope: when backendId was last found in skf_backends at natAddr:natPort
   * (CLOCK_MONOTONIC ns; 0 or absent: not yet, natAddr is filled at the next packet). */
  backendChecked?: bigint;
}

export const KEY = TUPLE;

export const VALUE = new Struct<CtValue>('skf_ct_value', 72, [
  { name: 'expires', kind: 'u64', offset: 0 },
  { name: 'packets', kind: 'u64', offset: 8 },
  { name: 'bytes', kind: 'u64', offset: 16 },
  { name: 'natAddr', kind: 'addr', offset: 24 },
  { name: 'natPort', kind: 'be16', offset: 40 },
  { name: 'proxyPort', kind: 'u16', offset: 42 },
  { name: 'revNatId', kind: 'u32', offset: 44 },
  { name: 'backendId', kind: 'u32', offset: 48 },
  { name: 'srcIdentity', kind: 'u32', offset: 52 },
  { name: 'dstIdentity', kind: 'u32', offset: 56 },
  { name: 'flags', kind: 'u16', offset: 60 },
  { name: 'tcpFlagsOrig', kind: 'u8', offset: 62 },
  { name: 'tcpFlagsReply', kind: 'u8', offset: 63 },
  { name: 'backendChecked', kind: 'u64', offset: 64 },
]);

/** The value size of skf_ct before backendChecked was added (pinned maps of that layout are
 * migrated by loadDatapath). */
export const LEGACY_VALUE_SIZE = 64;

/** A value of the 64-byte layout as a current one: the same fields, backendChecked 0 (a SERVICE
 * entry then fills its backend address from skf_backends at its next packet). */
export function upgradeLegacyValue(legacy: Buffer): Buffer {
  if (legacy.length !== LEGACY_VALUE_SIZE) throw new Error(`skf_ct legacy value: ${legacy.length} bytes, expected ${LEGACY_VALUE_SIZE}`);
  const value = Buffer.alloc(VALUE.size);
  legacy.copy(value);
  return value;
}

export const encodeKey = (t: Tuple): Buffer => KEY.encode(t);
export const decodeKey = (buf: Buffer): DecodedTuple => KEY.decode(buf) as DecodedTuple;
export const encodeValue = (v: CtValue): Buffer => VALUE.encode(v);
/** The value; family (the key's) tells how to read natAddr. */
export const decodeValue = (buf: Buffer, family: number): CtValue => VALUE.decode(buf, family);

/** Nanoseconds on the datapath's clock (bpf_ktime_get_ns is CLOCK_MONOTONIC, as is hrtime). */
export function monotonicNowNs(): bigint {
  return process.hrtime.bigint();
}

/** True when the entry's deadline has passed: an agent may sweep it (the datapath ignores it). */
export function isExpired(value: CtValue, nowNs = monotonicNowNs()): boolean {
  return value.expires < nowNs;
}
