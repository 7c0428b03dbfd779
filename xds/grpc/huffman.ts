// The Huffman code of HPACK (RFC 7541 Appendix B) and the coder over it: strings in header blocks
// are byte strings (a JavaScript string whose every char code is one byte, latin1). The decoder is a
// 4-bit state machine built once at module load; a state is an inner node of the code tree.

/**
 * Code length in bits of each symbol 0..255 and of EOS (256), RFC 7541 Appendix B. The code is
 * canonical (codes counted up in order of length, then symbol), so the lengths determine the codes:
 * e.g. '0' = 00000 (5 bits), ' ' = 010100 (6 bits), EOS = thirty 1 bits.
 */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0x00
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 0x10
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 0x20 ' ' .. '/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 0x30 '0' .. '?'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 0x40 '@' .. 'O'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 0x50 'P' .. '_'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 0x60 '`' .. 'o'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 0x70 'p' .. 0x7f
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 0x80
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 0x90
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 0xa0
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 0xb0
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 0xc0
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 0xd0
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 0xe0
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 0xf0
  30, // EOS
];

const EOS = 256;
const MAX_CODE_LENGTH = 30;

/** Each symbol's code (right-aligned in its length), counted up canonically from the lengths. */
export const HUFFMAN_CODES = new Uint32Array(EOS + 1);
/** Each symbol's code length in bits. */
export const HUFFMAN_LENGTHS = Uint8Array.from(CODE_LENGTHS);
{
  let code = 0;
  for (let length = 1; length <= MAX_CODE_LENGTH; length++) {
    for (let symbol = 0; symbol <= EOS; symbol++) {
      if (HUFFMAN_LENGTHS[symbol] !== length) continue;
      HUFFMAN_CODES[symbol] = code;
      code++;
    }
    code *= 2;
  }
}

// The decoder's state machine. The code tree is complete (every bit string reaches a symbol), with
// 257 leaves and so 256 inner nodes; inner node 0 is the root. TRANSITIONS[state * 16 + nibble] is
// the state after four more bits, with the symbol they completed (codes are at least 5 bits long,
// so at most one) or FAIL when they reached EOS, which a string must never contain.
const STATES = 256;
const EMIT = 1 << 16;
const FAIL = 1 << 17;
const TRANSITIONS = new Uint32Array(STATES * 16);
/** 1 where a string may end in this state: after whole symbols, or inside at most 7 one bits (EOS's prefix, the padding). */
const ACCEPTS = new Uint8Array(STATES);
{
  // children[node * 2 + bit]: an inner node (> 0) or a leaf, -(symbol + 1); 0 is "not yet made"
  const children = new Int16Array(STATES * 2);
  const depth = new Uint8Array(STATES);
  const allOnes = new Uint8Array(STATES);
  allOnes[0] = 1;
  let made = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    let node = 0;
    for (let bit = HUFFMAN_LENGTHS[symbol]! - 1; bit > 0; bit--) {
      const slot = node * 2 + ((HUFFMAN_CODES[symbol]! >>> bit) & 1);
      if (children[slot] === 0) {
        children[slot] = made;
        depth[made] = depth[node]! + 1;
        allOnes[made] = allOnes[node]! & ((HUFFMAN_CODES[symbol]! >>> bit) & 1);
        made++;
      }
      node = children[slot]!;
    }
    children[node * 2 + (HUFFMAN_CODES[symbol]! & 1)] = -(symbol + 1);
  }
  for (let state = 0; state < STATES; state++) {
    ACCEPTS[state] = allOnes[state]! && depth[state]! <= 7 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let result = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const next = children[node * 2 + ((nibble >>> bit) & 1)]!;
        if (next > 0) {
          node = next;
          continue;
        }
        const symbol = -next - 1;
        if (symbol === EOS) result |= FAIL;
        else result |= EMIT | (symbol << 8);
        node = 0;
      }
      TRANSITIONS[state * 16 + nibble] = result | node;
    }
  }
}

let scratch = Buffer.allocUnsafe(256);

/**
 * Decodes the Huffman-coded bytes `source[start..end)` to a byte string, or returns undefined when
 * they are not a valid coding: EOS inside, padding longer than 7 bits or not all ones.
 */
export function huffmanDecode(source: Uint8Array, start: number, end: number): string | undefined {
  // every symbol takes at least 5 bits
  const most = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafe(most);
  let length = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = source[i]!;
    for (let shift = 4; shift >= 0; shift -= 4) {
      const t = TRANSITIONS[state * 16 + ((byte >>> shift) & 15)]!;
      if (t & FAIL) return undefined;
      if (t & EMIT) scratch[length++] = (t >>> 8) & 0xff;
      state = t & 0xff;
    }
  }
  if (!ACCEPTS[state]) return undefined;
  return scratch.toString('latin1', 0, length);
}

/** The length in bytes of `text`'s Huffman coding. */
export function huffmanLength(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += HUFFMAN_LENGTHS[byteAt(text, i)]!;
  return Math.ceil(bits / 8);
}

/** Writes `text`'s Huffman coding at `target[offset]`, padded with one bits; returns the offset after it. */
export function huffmanEncode(text: string, target: Uint8Array, offset: number): number {
  // pending holds `bits` (< 8) bits not yet written; plus one code (<= 30 bits) stays below 2^53
  let pending = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = byteAt(text, i);
    const length = HUFFMAN_LENGTHS[symbol]!;
    pending = pending * 2 ** length + HUFFMAN_CODES[symbol]!;
    bits += length;
    while (bits >= 8) {
      bits -= 8;
      const unit = 2 ** bits;
      target[offset++] = Math.floor(pending / unit);
      pending %= unit;
    }
  }
  if (bits > 0) target[offset++] = (pending << (8 - bits)) | (0xff >>> bits);
  return offset;
}

/** The byte at `text[i]`; header strings are byte strings, so a char above 0xff is the caller's error. */
export function byteAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code > 0xff) throw new RangeError(`header text has a character outside latin1 (U+${code.toString(16)}) at ${i}: ${JSON.stringify(text)}`);
  return code;
}
