// A small DER (ASN.1 Distinguished Encoding Rules) encoder and reader: just what X.509
// certificates, PKCS#10 requests and their extensions need. Node's crypto makes keys, signs and
// parses certificates, but has no way to build one; this module supplies the bytes to sign.

/** Universal tags used here. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: tag, definite length, content. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(Tag.sequence, Buffer.concat(items));
}

export function set(...items: Uint8Array[]): Buffer {
  return tlv(Tag.set, Buffer.concat(items));
}

/** A context-specific tag: [n] EXPLICIT (constructed) or IMPLICIT primitive. */
export function contextTag(n: number, content: Uint8Array, constructed: boolean): Buffer {
  return tlv(0x80 | (constructed ? 0x20 : 0) | n, content);
}

export function boolean(value: boolean): Buffer {
  return tlv(Tag.boolean, Buffer.from([value ? 0xff : 0x00]));
}

/** An INTEGER from unsigned big-endian magnitude bytes (a leading zero is added when the top bit is set). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = Buffer.from(magnitude.subarray(start));
  const content = bytes.length === 0 ? Buffer.from([0]) : (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return tlv(Tag.integer, content);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a small non-negative integer: ${value}`);
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return unsignedInteger(Uint8Array.from(bytes));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new Error(`bad OID ${dotted}`);
    return Number(a);
  });
  if (arcs.length < 2) throw new Error(`bad OID ${dotted}`);
  const bytes: number[] = [];
  const push = (arc: number) => {
    const chunk = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    bytes.push(...chunk);
  };
  push((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(Tag.oid, Buffer.from(bytes));
}

export function octetString(content: Uint8Array): Buffer {
  return tlv(Tag.octetString, content);
}

/** A BIT STRING with no unused bits. */
export function bitString(content: Uint8Array): Buffer {
  return tlv(Tag.bitString, Buffer.concat([Buffer.from([0]), content]));
}

/**
 * A named-bit BIT STRING (KeyUsage): bit 0 is the most significant bit of the first byte; DER
 * drops trailing zero bits and says how many bits of the last byte are unused.
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return tlv(Tag.bitString, Buffer.from([0]));
  const top = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] = (bytes[Math.floor(bit / 8)] as number) | (0x80 >> bit % 8);
  const unused = 7 - (top % 8);
  return tlv(Tag.bitString, Buffer.concat([Buffer.from([unused]), bytes]));
}

export function utf8String(text: string): Buffer {
  return tlv(Tag.utf8String, Buffer.from(text, 'utf8'));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Zulu. */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest = `${pad(date.getUTCMonth() + 1, 2)}${pad(date.getUTCDate(), 2)}${pad(date.getUTCHours(), 2)}${pad(date.getUTCMinutes(), 2)}${pad(date.getUTCSeconds(), 2)}Z`;
  if (year >= 1950 && year < 2050) return tlv(Tag.utcTime, Buffer.from(`${pad(year % 100, 2)}${rest}`, 'ascii'));
  return tlv(Tag.generalizedTime, Buffer.from(`${pad(year, 4)}${rest}`, 'ascii'));
}

// ---- reading ----

/** One decoded element: its tag, its content, and the whole encoding (header included). */
export interface Element {
  tag: number;
  content: Buffer;
  raw: Buffer;
}

/** Reads the element at `offset`; throws on truncated or indefinite-length input. */
export function readElement(data: Buffer, offset = 0): Element {
  if (offset + 2 > data.length) throw new Error('DER: truncated header');
  const tag = data[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: multi-byte tags are not supported');
  let length = data[offset + 1] as number;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER: unsupported length form');
    if (offset + 2 + count > data.length) throw new Error('DER: truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (data[offset + 2 + i] as number);
    header += count;
  }
  const end = offset + header + length;
  if (end > data.length) throw new Error('DER: truncated content');
  return { tag, content: data.subarray(offset + header, end), raw: data.subarray(offset, end) };
}

/** The elements inside a constructed element's content. */
export function children(content: Buffer): Element[] {
  const out: Element[] = [];
  for (let offset = 0; offset < content.length; ) {
    const element = readElement(content, offset);
    out.push(element);
    offset += element.raw.length;
  }
  return out;
}

/** The dotted form of an OID element's content. */
export function readOid(content: Buffer): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  const top = first < 80 ? Math.floor(first / 40) : 2;
  return [top, first - top * 40, ...arcs].join('.');
}
