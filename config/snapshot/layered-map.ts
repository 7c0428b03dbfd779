// A read-only map that shares structure with the version it was derived from, so a snapshot that
// changes a few entries of a 100,000-entry view costs O(changes), not a copy of the view; an entry
// recomputed equal to the one in place keeps the old object. Each
// version is a frozen base map plus a small overlay of changes; the overlay is folded into a new
// base once it grows past a fraction of the base (amortized O(1) per change).

import { deepEqual } from './equal.js';

const DELETED: unique symbol = Symbol('deleted');
type Slot<V> = V | typeof DELETED;

export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly size: number;

  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly top: ReadonlyMap<K, Slot<V>>,
    size: number,
  ) {
    this.size = size;
  }

  static empty<K, V>(): LayeredMap<K, V> {
    return new LayeredMap<K, V>(new Map(), new Map(), 0);
  }

  /** A first version holding the entries of `entries` whose value is not undefined (one copy). */
  static of<K, V>(entries: ReadonlyMap<K, V | undefined>): LayeredMap<K, V> {
    const base = new Map<K, V>();
    for (const [key, value] of entries) if (value !== undefined) base.set(key, value);
    return new LayeredMap<K, V>(base, new Map(), base.size);
  }

  /**
   * A first version made of `entries` itself, without a copy: the caller hands the map over and
   * never changes it again. Entries whose value is undefined are removed from it.
   */
  private static adopt<K, V>(entries: Map<K, V | undefined>): LayeredMap<K, V> {
    entries.forEach((value, key) => {
      if (value === undefined) entries.delete(key);
    });
    return new LayeredMap<K, V>(entries as Map<K, V>, new Map(), entries.size);
  }

  /**
   * A new version with `changes` applied: a value sets the key, undefined deletes it. A value
   * structurally equal to the one in place keeps the one in place (and its identity).
   */
  update(changes: ReadonlyMap<K, V | undefined>): LayeredMap<K, V> {
    if (changes.size === 0) return this;
    return this.size === 0 ? LayeredMap.of(changes) : this.overlay(changes);
  }

  /**
   * `update` for a caller that hands `changes` over (it never changes the map again): a first
   * version is that map itself rather than a copy of it.
   */
  updateWith(changes: Map<K, V | undefined>): LayeredMap<K, V> {
    if (changes.size === 0) return this;
    return this.size === 0 ? LayeredMap.adopt(changes) : this.overlay(changes);
  }

  private overlay(changes: ReadonlyMap<K, V | undefined>): LayeredMap<K, V> {
    let top: Map<K, Slot<V>> | undefined;
    let size = this.size;
    for (const [key, value] of changes) {
      const before = this.get(key);
      const had = before !== undefined || this.has(key);
      if (value === undefined) {
        if (!had) continue;
        top ??= new Map(this.top);
        top.set(key, DELETED);
        size--;
      } else {
        if (had && deepEqual(before, value)) continue;
        top ??= new Map(this.top);
        top.set(key, value);
        if (!had) size++;
      }
    }
    if (!top) return this;
    if (top.size > 256 && top.size * 8 > this.base.size) return new LayeredMap(fold(this.base, top), new Map(), size);
    return new LayeredMap(this.base, top, size);
  }

  get(key: K): V | undefined {
    // A first version or a freshly folded one has no overlay: one lookup, not two.
    if (this.top.size === 0) return this.base.get(key);
    const slot = this.top.get(key);
    if (slot !== undefined) return slot === DELETED ? undefined : slot;
    return this.base.get(key);
  }

  has(key: K): boolean {
    if (this.top.size === 0) return this.base.has(key);
    const slot = this.top.get(key);
    if (slot !== undefined) return slot !== DELETED;
    return this.base.has(key);
  }

  entries(): MapIterator<[K, V]> {
    if (this.top.size === 0) return this.base.entries();
    return this.layeredEntries();
  }

  keys(): MapIterator<K> {
    if (this.top.size === 0) return this.base.keys();
    return this.layeredKeys();
  }

  values(): MapIterator<V> {
    if (this.top.size === 0) return this.base.values();
    return this.layeredValues();
  }

  private *layeredEntries(): MapIterator<[K, V]> {
    for (const entry of this.base) if (!this.top.has(entry[0])) yield entry;
    for (const [key, slot] of this.top) if (slot !== DELETED) yield [key, slot];
  }

  private *layeredKeys(): MapIterator<K> {
    for (const [key] of this.layeredEntries()) yield key;
  }

  private *layeredValues(): MapIterator<V> {
    for (const [, value] of this.layeredEntries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    if (this.top.size === 0) {
      // No overlay: the base's own forEach, without an entry array per entry.
      this.base.forEach((value, key) => callback.call(thisArg, value, key, this));
      return;
    }
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}

function fold<K, V>(base: ReadonlyMap<K, V>, top: ReadonlyMap<K, Slot<V>>): Map<K, V> {
  const merged = new Map(base);
  for (const [key, slot] of top) {
    if (slot === DELETED) merged.delete(key);
    else merged.set(key, slot);
  }
  return merged;
}
