// Numeric identities for label sets, deterministic for the same input whatever its order and
// across restarts: a label set's identity is a hash of its canonical form in
// [MIN_CLUSTER_IDENTITY, MAX_CLUSTER_IDENTITY_EXCLUSIVE). Collisions are resolved by allocating in
// the sorted order of the canonical forms, each taking the first free slot of its probe sequence.
// Incremental changes that do not touch a collision keep every other id as it is; the rare ones
// that do reallocate all ids the same way a fresh allocation would.
import { MAX_CLUSTER_IDENTITY_EXCLUSIVE, MIN_CLUSTER_IDENTITY } from './types.js';
import type { Labels } from './labels.js';

const RANGE = MAX_CLUSTER_IDENTITY_EXCLUSIVE - MIN_CLUSTER_IDENTITY;

/** FNV-1a (32-bit) of the key and the probe number, mapped into the cluster identity range. */
export function identitySlot(key: string, probe: number): number {
  let hash = 0x811c9dc5;
  const text = probe === 0 ? key : `${key}#${probe}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // `| 0`: an int32 (a small integer to V8), not the double the unsigned hash arithmetic gives;
  // a double would be a heap object of its own in every view, list and map key holding the id.
  return (MIN_CLUSTER_IDENTITY + (hash % RANGE)) | 0;
}

export interface IdentityChanges {
  /** Ids that exist now and did not before (or now carry another label set). */
  readonly added: number[];
  /** Ids that existed before and do not now (or now carry another label set). */
  readonly removed: number[];
  /** True when existing label sets changed id (a collision was resolved anew). */
  readonly remapped: boolean;
}

/** One label set: its labels, how many workloads hold it, and its id once allocated. */
interface Entry {
  readonly key: string;
  labels: Labels;
  refs: number;
  id: number | undefined;
}

function byKey(a: Entry, b: Entry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * One entry per label set, found by its canonical key (a long string: one hash lookup per
 * acquire, rather than one in each of four maps), and by its id.
 */
export class IdentityAllocator {
  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<number, Entry>();
  /** Slots where some key was turned away because another held it. */
  private contended = new Set<number>();
  private readonly pendingAdd = new Set<Entry>();
  private readonly pendingRemove = new Set<Entry>();

  idOf(key: string): number | undefined {
    return this.entries.get(key)?.id;
  }

  /** The labels of an allocated id. */
  labelsOfId(id: number): Labels | undefined {
    return this.byId.get(id)?.labels;
  }

  acquire(key: string, labels: Labels): void {
    const entry = this.entries.get(key);
    if (!entry) {
      const created: Entry = { key, labels, refs: 1, id: undefined };
      this.entries.set(key, created);
      this.pendingAdd.add(created);
      return;
    }
    if (entry.refs++ > 0) return;
    // Released since the last commit and held again: it keeps its id.
    entry.labels = labels;
    this.pendingRemove.delete(entry);
  }

  release(key: string): void {
    const entry = this.entries.get(key);
    if (!entry || --entry.refs > 0) return;
    if (this.pendingAdd.delete(entry)) this.entries.delete(key);
    else this.pendingRemove.add(entry);
  }

  /** Allocates ids for the label sets acquired and frees those released since the last commit. */
  commit(): IdentityChanges {
    const adding = [...this.pendingAdd];
    const removing = [...this.pendingRemove];
    this.pendingAdd.clear();
    this.pendingRemove.clear();
    // The first allocation is a full one (the same as trying each id in sorted order).
    if (this.byId.size === 0) return this.reallocate(removing);
    adding.sort(byKey);
    if (this.needsReallocation(adding, removing)) return this.reallocate(removing);
    const removed: number[] = [];
    for (const entry of removing) {
      const id = entry.id as number;
      this.entries.delete(entry.key);
      this.byId.delete(id);
      removed.push(id);
    }
    const added: number[] = [];
    for (const entry of adding) {
      const slot = identitySlot(entry.key, 0);
      entry.id = slot;
      this.byId.set(slot, entry);
      added.push(slot);
    }
    return { added, removed, remapped: false };
  }

  /** True when freeing or taking these slots touches a collision. */
  private needsReallocation(adding: Entry[], removing: Entry[]): boolean {
    const freed = new Set<number>();
    for (const entry of removing) {
      const id = entry.id as number;
      if (this.contended.has(id)) return true;
      freed.add(id);
    }
    const taken = new Set<number>();
    for (const entry of adding) {
      const slot = identitySlot(entry.key, 0);
      if (taken.has(slot) || (this.byId.has(slot) && !freed.has(slot))) return true;
      taken.add(slot);
    }
    return false;
  }

  private reallocate(removing: Entry[]): IdentityChanges {
    const before = this.byId.size > 0 ? new Map(this.byId) : undefined;
    for (const entry of removing) this.entries.delete(entry.key);
    this.byId.clear();
    this.contended = new Set();
    // Keys sorted by the built-in string order: no comparator called back 100,000s of times.
    for (const key of [...this.entries.keys()].sort()) {
      const entry = this.entries.get(key) as Entry;
      let probe = 0;
      let slot = identitySlot(entry.key, probe);
      while (this.byId.has(slot)) {
        this.contended.add(slot);
        slot = identitySlot(entry.key, ++probe);
      }
      entry.id = slot;
      this.byId.set(slot, entry);
    }
    // A first allocation adds every id, in the order allocated.
    if (!before) return { added: [...this.byId.keys()], removed: [], remapped: false };
    const added: number[] = [];
    const removed: number[] = [];
    let remapped = false;
    for (const [id, entry] of before) {
      if (this.byId.get(id) === entry) continue;
      removed.push(id);
      if (entry.refs > 0) remapped = true;
    }
    for (const [id, entry] of this.byId) if (before.get(id) !== entry) added.push(id);
    return { added, removed, remapped };
  }
}
