// Byte-exact C struct layouts, declared once per struct as a field table (name, kind, offset),
// with the encoder and decoder derived from it. The table is also what
// test/bpf/datapath-layout.test.ts compares with the BTF of datapath.bpf.o (struct size, each
// member's offset), so a change on one side that the other misses fails a test.
//
// Kinds: u8/u16/u32/u64 are host (little-endian) integers; be16 is a port in network order; addr
// is union skf_addr (16 bytes, IPv4 in the first 4); addr4 a bare IPv4 __be32; family the address
// family byte (derived from the struct's addr field when encoding); a nested Struct embeds it.
import { ADDR_SIZE, familyOf, readAddr, writeAddr } from './addr.js';
import { AF_INET } from './constants.js';

type Scalar = 'u8' | 'u16' | 'u32' | 'u64' | 'be16' | 'addr' | 'addr4' | 'family';

/** What a field needs of a nested struct (any Struct<T> fits). */
interface Nested {
  readonly cName: string;
  write(buf: Buffer, offset: number, value: never): void;
  read(buf: Buffer, offset: number, family?: number): unknown;
}

export interface FieldSpec<Name extends string = string> {
  name: Name;
  kind: Scalar | Nested;
  offset: number;
}

/** snake_case C member name of a camelCase field (revNatId -> rev_nat_id). */
export function cMemberName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export class Struct<T extends object> {
  readonly cName: string;
  readonly size: number;
  readonly fields: readonly FieldSpec<Extract<keyof T, string>>[];

  constructor(cName: string, size: number, fields: FieldSpec<Extract<keyof T, string>>[]) {
    this.cName = cName;
    this.size = size;
    this.fields = fields;
  }

  /** The family of the struct's address, from its first addr field (AF_INET without one). */
  #familyOf(value: T): number {
    const field = this.fields.find((f) => f.kind === 'addr');
    const addr = field && (value[field.name] as string | undefined);
    return addr ? familyOf(addr) : AF_INET;
  }

  write(buf: Buffer, offset: number, value: T): void {
    for (const f of this.fields) {
      const at = offset + f.offset;
      const v = value[f.name] as unknown;
      if (typeof f.kind !== 'string') {
        f.kind.write(buf, at, v as never);
        continue;
      }
      switch (f.kind) {
        case 'u8':
          buf.writeUInt8((v as number | undefined) ?? 0, at);
          break;
        case 'u16':
          buf.writeUInt16LE((v as number | undefined) ?? 0, at);
          break;
        case 'u32':
          buf.writeUInt32LE((v as number | undefined) ?? 0, at);
          break;
        case 'u64':
          buf.writeBigUInt64LE((v as bigint | undefined) ?? 0n, at);
          break;
        case 'be16':
          buf.writeUInt16BE((v as number | undefined) ?? 0, at);
          break;
        case 'family':
          buf.writeUInt8(this.#familyOf(value), at);
          break;
        case 'addr':
          if (v) writeAddr(buf, at, v as string);
          break;
        case 'addr4': {
          if (!v) break;
          const scratch = Buffer.alloc(ADDR_SIZE);
          writeAddr(scratch, 0, v as string);
          scratch.copy(buf, at, 0, 4);
          break;
        }
      }
    }
  }

  /** Reads the struct at offset; family tells how to read addr fields of a struct that has no
   * family field of its own (conntrack values take the key's). */
  read(buf: Buffer, offset = 0, family?: number): T {
    const familyField = this.fields.find((f) => f.kind === 'family');
    const fam = familyField ? buf.readUInt8(offset + familyField.offset) : (family ?? AF_INET);
    const out: Record<string, unknown> = {};
    for (const f of this.fields) {
      const at = offset + f.offset;
      if (typeof f.kind !== 'string') {
        out[f.name] = f.kind.read(buf, at, family);
        continue;
      }
      switch (f.kind) {
        case 'u8':
        case 'family':
          out[f.name] = buf.readUInt8(at);
          break;
        case 'u16':
          out[f.name] = buf.readUInt16LE(at);
          break;
        case 'u32':
          out[f.name] = buf.readUInt32LE(at);
          break;
        case 'u64':
          out[f.name] = buf.readBigUInt64LE(at);
          break;
        case 'be16':
          out[f.name] = buf.readUInt16BE(at);
          break;
        case 'addr':
          out[f.name] = readAddr(buf, at, fam);
          break;
        case 'addr4':
          out[f.name] = readAddr(buf, at, AF_INET);
          break;
      }
    }
    return out as T;
  }

  encode(value: T): Buffer {
    const buf = Buffer.alloc(this.size);
    this.write(buf, 0, value);
    return buf;
  }

  decode(buf: Buffer, family?: number): T {
    if (buf.length < this.size) throw new Error(`${this.cName}: ${buf.length} bytes, expected ${this.size}`);
    return this.read(buf, 0, family);
  }
}

/** A bare u32 key or value. */
export const u32 = {
  size: 4,
  encode(value: number): Buffer {
    const buf = Buffer.alloc(4);
    buf.writeUInt32LE(value, 0);
    return buf;
  },
  decode(buf: Buffer): number {
    return buf.readUInt32LE(0);
  },
};
