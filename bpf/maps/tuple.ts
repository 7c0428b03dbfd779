// struct skf_tuple (40 bytes): a flow's addresses, ports, protocol and family as on the wire, plus
// the conntrack scope when it is a conntrack key. Ports are network order in the struct.
import { ADDR_SIZE, familyOf, readAddr, writeAddr } from './addr.js';

export const TUPLE_SIZE = 40;

export interface Tuple {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  proto: number;
  /** CtScope when used as a conntrack key; 0 elsewhere. */
  scope?: number;
}

export function writeTuple(buf: Buffer, offset: number, t: Tuple): void {
  const family = familyOf(t.saddr);
  if (familyOf(t.daddr) !== family) throw new Error(`tuple mixes families: ${t.saddr} -> ${t.daddr}`);
  writeAddr(buf, offset, t.saddr);
  writeAddr(buf, offset + ADDR_SIZE, t.daddr);
  buf.writeUInt16BE(t.sport, offset + 32);
  buf.writeUInt16BE(t.dport, offset + 34);
  buf.writeUInt8(t.proto, offset + 36);
  buf.writeUInt8(family, offset + 37);
  buf.writeUInt8(t.scope ?? 0, offset + 38);
  buf.writeUInt8(0, offset + 39);
}

export function readTuple(buf: Buffer, offset: number): Tuple & { family: number; scope: number } {
  const family = buf.readUInt8(offset + 37);
  return {
    saddr: readAddr(buf, offset, family),
    daddr: readAddr(buf, offset + ADDR_SIZE, family),
    sport: buf.readUInt16BE(offset + 32),
    dport: buf.readUInt16BE(offset + 34),
    proto: buf.readUInt8(offset + 36),
    family,
    scope: buf.readUInt8(offset + 38),
  };
}

/** The tuple of the other direction of the flow. */
export function reverseTuple(t: Tuple, scope = t.scope): Tuple {
  return { saddr: t.daddr, daddr: t.saddr, sport: t.dport, dport: t.sport, proto: t.proto, scope };
}
