// Plain scalars the fast YAML path has read before, found again by their characters: asked for the
// value of text[from, to), the cache hands back what the same characters gave last time (the same
// string, number, boolean or null) without slicing the text or running the core schema's tests
// again. Equal keys and values then share one string, and a key is one the engine has already made
// a property name (a fresh copy would be looked up in its string table at every use). The cache is
// direct-mapped: a slot holds the last scalar whose characters hash to it, so its size is fixed.
// A cache of values keeps only short scalars: the engine makes a longer piece of a string as a view
// into the whole (here, a file's text), and a slot holding one would keep an old file's text alive.
// Keys of any length are kept: a key becomes a property name as soon as its map is made, which
// turns it into a copy of its own (only a parse that gives up midway can leave a view behind, in
// one slot, until another key takes that slot).

const SLOTS = 4096;
const SLOT_MASK = SLOTS - 1;
/** Pieces of a string up to this long are copies in V8 (shorter than SlicedString::kMinLength), not views into it. */
export const MAX_COPIED_LENGTH = 12;

export class ScalarCache {
  /** @param maxLength longer scalars are made anew each time, not kept */
  constructor(private readonly maxLength: number) {}

  private readonly texts: string[] = new Array<string>(SLOTS).fill('');
  private readonly values: unknown[] = new Array<unknown>(SLOTS).fill(null);

  /** The value of the plain scalar text[from, to) (not empty), as `resolve` gives it for that text. */
  value(text: string, from: number, to: number, resolve: (plain: string) => unknown): unknown {
    const length = to - from;
    if (length > this.maxLength) return resolve(text.slice(from, to));
    // A few characters stand for all of them: a slot shared by different scalars costs a miss, never a wrong value.
    let hash = Math.imul(length ^ text.charCodeAt(from), 0x01000193);
    hash = Math.imul(hash ^ text.charCodeAt(to - 1), 0x01000193);
    hash = Math.imul(hash ^ text.charCodeAt(from + (length >> 1)), 0x01000193);
    hash = Math.imul(hash ^ text.charCodeAt(from + (length >> 2)), 0x01000193);
    const slot = (hash ^ (hash >>> 15)) & SLOT_MASK;
    const known = this.texts[slot] as string;
    if (known.length === length && sameCharacters(known, text, from)) return this.values[slot];
    const plain = text.slice(from, to);
    const value = resolve(plain);
    this.texts[slot] = plain;
    this.values[slot] = value;
    return value;
  }
}

/** Whether `text` holds the characters of `known` from `from` on. */
function sameCharacters(known: string, text: string, from: number): boolean {
  for (let i = 0; i < known.length; i++) {
    if (known.charCodeAt(i) !== text.charCodeAt(from + i)) return false;
  }
  return true;
}
