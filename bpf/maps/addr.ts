// IP addresses as the datapath stores them: 16 bytes in network order, IPv4 in the first 4 bytes
// (the rest zero), with the family (AF_INET/AF_INET6) kept beside it.
import { isIPv4, isIPv6 } from 'node:net';
import { AF_INET, AF_INET6 } from './constants.js';

export const ADDR_SIZE = 16;

export function familyOf(ip: string): number {
  if (isIPv4(ip)) return AF_INET;
  if (isIPv6(ip)) return AF_INET6;
  throw new Error(`not an IP address: '${ip}'`);
}

/** The canonical (RFC 5952) text of an IPv6 address, by the WHATWG URL parser. */
function canonicalIPv6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** Writes ip into buf at offset as 16 bytes; returns its family. */
export function writeAddr(buf: Buffer, offset: number, ip: string): number {
  buf.fill(0, offset, offset + ADDR_SIZE);
  const family = familyOf(ip);
  if (family === AF_INET) {
    ip.split('.').forEach((octet, i) => buf.writeUInt8(Number(octet), offset + i));
    return family;
  }
  const [head, tail] = canonicalIPv6(ip).split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((group, i) => buf.writeUInt16BE(parseInt(group, 16), offset + 2 * i));
  return family;
}

/** Reads the address of family at offset (dotted quad, or canonical IPv6 text). */
export function readAddr(buf: Buffer, offset: number, family: number): string {
  if (family === AF_INET) return [0, 1, 2, 3].map((i) => buf[offset + i]).join('.');
  if (family !== AF_INET6) return '';
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + 2 * i).toString(16));
  return canonicalIPv6(groups.join(':'));
}
