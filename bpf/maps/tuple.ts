// struct skf_tuple (40 bytes): a flow's addresses, ports (network order), protocol and family as
// on the wire, plus the conntrack scope when it is a conntrack key.
import { Struct } from './struct.js';

export interface Tuple {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  proto: number;
  /** Decoded only (derived from the addresses when encoding). */
  family?: number;
  /** CtScope when used as a conntrack key; 0 elsewhere. */
  scope?: number;
}

/** A tuple as read back from the kernel: family and scope are always there. */
export type DecodedTuple = Tuple & { family: number; scope: number };

export const TUPLE = new Struct<Tuple>('skf_tuple', 40, [
  { name: 'saddr', kind: 'addr', offset: 0 },
  { name: 'daddr', kind: 'addr', offset: 16 },
  { name: 'sport', kind: 'be16', offset: 32 },
  { name: 'dport', kind: 'be16', offset: 34 },
  { name: 'proto', kind: 'u8', offset: 36 },
  { name: 'family', kind: 'family', offset: 37 },
  { name: 'scope', kind: 'u8', offset: 38 },
]);

/** The tuple of the other direction of the flow. */
export function reverseTuple(t: Tuple, scope = t.scope): Tuple {
  return { saddr: t.daddr, daddr: t.saddr, sport: t.dport, dport: t.sport, proto: t.proto, scope };
}
