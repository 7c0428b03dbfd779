// HPACK header compression (RFC 7541) for skiff's HTTP/2 server: a decoder per connection whose
// dynamic table is a ring of name/value strings with a running size (the static table is shared by
// all), and a stateless encoder that never adds to the peer's table, so we keep no encoder state.
// Names and values are byte strings (latin1: one char per byte), so sizes are string lengths.
import { byteAt, huffmanDecode, huffmanEncode, huffmanLength } from './huffman.js';

/** A header block that cannot be decoded: the connection must end with COMPRESSION_ERROR (RFC 7540 4.3). */
export class HpackError extends Error {}

/** RFC 7541 Appendix A: entries 1..61. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** `name\0value` -> static index, and name -> its first static index (for the encoder). */
const STATIC_FIELD = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  STATIC_FIELD.set(`${name}\0${value}`, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/** RFC 7541 4.1: an entry's size is its name and value lengths plus 32. */
const ENTRY_OVERHEAD = 32;
/** Integers above this (e.g. a string length or index) cannot be meant and are refused. */
const MAX_INTEGER = 0x7fffffff;
const DEFAULT_TABLE_SIZE = 4096;
const DEFAULT_MAX_HEADER_LIST_SIZE = 65536;

/** Reads one header block front to back. */
class BlockReader {
  pos = 0;
  private readonly bytes: Buffer;

  constructor(block: Uint8Array) {
    this.bytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  peek(): number {
    return this.bytes[this.pos]!;
  }

  /** RFC 7541 5.1: an integer in the low `prefixBits` of the current byte, then continuation bytes. */
  integer(prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = this.bytes[this.pos++]! & max;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      if (this.done) throw new HpackError('header block ends inside an integer');
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER || shift > 28) throw new HpackError('integer in header block overflows');
      if ((byte & 0x80) === 0) return value;
    }
  }

  /** RFC 7541 5.2: a string literal, Huffman-coded when the first bit is set. */
  string(): string {
    if (this.done) throw new HpackError('header block ends before a string');
    const huffman = (this.peek() & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > this.bytes.length) throw new HpackError(`string of ${length} bytes runs past the header block's end`);
    this.pos = end;
    if (!huffman) return this.bytes.toString('latin1', start, end);
    const text = huffmanDecode(this.bytes, start, end);
    if (text === undefined) throw new HpackError('invalid Huffman coding (EOS inside, or padding longer than 7 bits or not all ones)');
    return text;
  }
}

export class HpackDecoder {
  /** Dynamic table: name, value pairs in a ring, newest at `head`; capacity ring.length / 2. */
  private ring: string[] = [];
  private head = 0;
  private count = 0;
  /** Sum of the entries' sizes. */
  private size = 0;
  /** The table's maximum size as the peer's encoder last set it (starts at the SETTINGS value). */
  private tableSize: number;
  /** The SETTINGS_HEADER_TABLE_SIZE in force: no size update may exceed it. */
  private limit: number;
  /** When >= 0, the next block must start with a size update <= this (our SETTINGS shrank the table). */
  private shrinkTo = -1;

  /** `maxTableSize`: the SETTINGS_HEADER_TABLE_SIZE in force (4096 until our SETTINGS are acknowledged); `maxHeaderListSize`: bytes (name+value+32 per field, RFC 7540 6.5.2) beyond which decode throws HpackError. */
  constructor(
    maxTableSize = DEFAULT_TABLE_SIZE,
    private readonly maxHeaderListSize = DEFAULT_MAX_HEADER_LIST_SIZE,
  ) {
    this.tableSize = maxTableSize;
    this.limit = maxTableSize;
  }

  /** Our new SETTINGS_HEADER_TABLE_SIZE was acknowledged by the peer: its encoder must signal a size update <= size at the start of its next block (RFC 7541 4.2); entries beyond it are evicted now. */
  setMaxTableSize(size: number): void {
    this.limit = size;
    if (size >= this.tableSize) return;
    this.shrinkTo = this.shrinkTo < 0 ? size : Math.min(this.shrinkTo, size);
    // The peer's next block must shrink the table to `size` or less before it may refer to any
    // entry, so what does not fit can go now: an Envoy keeps its one ADS stream open for hours
    // and sends no further block that would evict them.
    this.tableSize = size;
    this.evict();
    if (this.count === 0) {
      this.ring = [];
      this.head = 0;
    }
  }

  /** The dynamic table's current size in bytes (RFC 7541 4.1). */
  get dynamicTableSize(): number {
    return this.size;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION fragments joined). Returns name/value pairs in order, names as sent (HTTP/2 requires lower case; the caller checks). Throws HpackError on any malformed input. */
  decode(block: Uint8Array): Array<[string, string]> {
    const reader = new BlockReader(block);
    const fields: Array<[string, string]> = [];
    let listSize = 0;
    if (this.shrinkTo >= 0 && (reader.done || (reader.peek() & 0xe0) !== 0x20)) {
      throw new HpackError(`header block does not start with the table size update (<= ${this.shrinkTo}) our SETTINGS require`);
    }
    while (!reader.done) {
      const first = reader.peek();
      if ((first & 0xe0) === 0x20) {
        if (fields.length > 0) throw new HpackError('dynamic table size update after a header field');
        this.resize(reader.integer(5));
        continue;
      }
      let field: [string, string];
      if (first & 0x80) {
        // 6.1 indexed field
        field = this.entry(reader.integer(7));
      } else {
        // 6.2 literal: with incremental indexing (01), without indexing (0000) or never indexed (0001)
        const indexing = (first & 0x40) !== 0;
        const nameIndex = reader.integer(indexing ? 6 : 4);
        const name = nameIndex === 0 ? reader.string() : this.entry(nameIndex)[0];
        field = [name, reader.string()];
        if (indexing) this.insert(name, field[1]);
      }
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > this.maxHeaderListSize) throw new HpackError(`header list larger than ${this.maxHeaderListSize} bytes`);
      fields.push(field);
    }
    return fields;
  }

  /** A dynamic table size update (RFC 7541 6.3). */
  private resize(size: number): void {
    if (size > this.limit) throw new HpackError(`dynamic table size update to ${size} exceeds our SETTINGS_HEADER_TABLE_SIZE ${this.limit}`);
    if (this.shrinkTo >= 0) {
      if (size > this.shrinkTo) throw new HpackError(`dynamic table size update to ${size}, but our SETTINGS require <= ${this.shrinkTo}`);
      this.shrinkTo = -1;
    }
    this.tableSize = size;
    this.evict();
  }

  /** The field at `index` (1-based: static entries, then dynamic ones newest first). */
  private entry(index: number): [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) {
      const [name, value] = STATIC_TABLE[index - 1]!;
      return [name, value];
    }
    const age = index - STATIC_TABLE.length - 1;
    if (index === 0 || age >= this.count) throw new HpackError(`header field index ${index} is not in the table`);
    const slot = ((this.head + age) % (this.ring.length / 2)) * 2;
    return [this.ring[slot]!, this.ring[slot + 1]!];
  }

  /** RFC 7541 4.4: adds the newest entry, evicting the oldest until the table fits (an entry larger than the table empties it). */
  private insert(name: string, value: string): void {
    let capacity = this.ring.length / 2;
    if (this.count === capacity) {
      const grown: string[] = new Array<string>(Math.max(8, capacity * 2) * 2);
      for (let age = 0; age < this.count; age++) {
        const slot = ((this.head + age) % capacity) * 2;
        grown[age * 2] = this.ring[slot]!;
        grown[age * 2 + 1] = this.ring[slot + 1]!;
      }
      this.ring = grown;
      this.head = 0;
      capacity = grown.length / 2;
    }
    this.head = (this.head + capacity - 1) % capacity;
    this.ring[this.head * 2] = name;
    this.ring[this.head * 2 + 1] = value;
    this.count++;
    this.size += name.length + value.length + ENTRY_OVERHEAD;
    this.evict();
  }

  private evict(): void {
    const capacity = this.ring.length / 2;
    while (this.size > this.tableSize && this.count > 0) {
      const slot = ((this.head + this.count - 1) % capacity) * 2;
      this.size -= this.ring[slot]!.length + this.ring[slot + 1]!.length + ENTRY_OVERHEAD;
      this.ring[slot] = '';
      this.ring[slot + 1] = '';
      this.count--;
    }
  }
}

/** The size of an integer with a `prefixBits` prefix (RFC 7541 5.1). */
function integerSize(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  let size = 1;
  if (value < max) return size;
  for (let rest = value - max; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
  return size + 1;
}

/** Writes an integer with a `prefixBits` prefix under the pattern bits `flags`; returns the offset after it. */
function writeInteger(target: Buffer, offset: number, value: number, prefixBits: number, flags: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    target[offset++] = flags | value;
    return offset;
  }
  target[offset++] = flags | max;
  let rest = value - max;
  while (rest >= 0x80) {
    target[offset++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  target[offset++] = rest;
  return offset;
}

/** A string literal's size: Huffman-coded when that is shorter. */
function stringSize(text: string): number {
  const length = Math.min(huffmanLength(text), text.length);
  return integerSize(length, 7) + length;
}

/** Writes a string literal as stringSize counted it; returns the offset after it. */
function writeString(target: Buffer, offset: number, text: string): number {
  const huffman = huffmanLength(text);
  if (huffman < text.length) return huffmanEncode(text, target, writeInteger(target, offset, huffman, 7, 0x80));
  offset = writeInteger(target, offset, text.length, 7, 0);
  for (let i = 0; i < text.length; i++) target[offset++] = byteAt(text, i);
  return offset;
}

/** Encodes a header block statelessly (the peer's decoder table is never used, so we keep no encoder state): a static-table indexed field when name and value both match, else a literal without indexing with a static name index when one matches, else a literal with a literal name; strings Huffman-coded when shorter. Names and values are byte strings: a char above 0xff throws RangeError. */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  let size = 0;
  for (const [name, value] of headers) {
    const field = STATIC_FIELD.get(`${name}\0${value}`);
    if (field !== undefined) {
      size += integerSize(field, 7);
      continue;
    }
    const nameIndex = STATIC_NAME.get(name);
    size += nameIndex === undefined ? 1 + stringSize(name) : integerSize(nameIndex, 4);
    size += stringSize(value);
  }
  const block = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [name, value] of headers) {
    const field = STATIC_FIELD.get(`${name}\0${value}`);
    if (field !== undefined) {
      offset = writeInteger(block, offset, field, 7, 0x80);
      continue;
    }
    const nameIndex = STATIC_NAME.get(name);
    offset = writeInteger(block, offset, nameIndex ?? 0, 4, 0);
    if (nameIndex === undefined) offset = writeString(block, offset, name);
    offset = writeString(block, offset, value);
  }
  return block;
}
