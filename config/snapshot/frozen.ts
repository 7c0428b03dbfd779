// Frozen lists as the snapshot keeps them. A list grown by push keeps room for about 16 more
// items (some 130 bytes beyond its own), and a snapshot of a large mesh holds 100,000s of small
// lists, all of which the garbage collector copies while the snapshot is built: a kept list is an
// exact-size copy, and every empty one is the same frozen list.

/** The one frozen empty list. */
export const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** A frozen exact-size copy of `items` (EMPTY_LIST when it is empty). */
export function frozenList<T>(items: readonly T[]): readonly T[] {
  return items.length === 0 ? EMPTY_LIST : Object.freeze(items.slice());
}
