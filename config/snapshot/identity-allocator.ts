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

export class IdentityAllocator {
  private readonly ids = new Map<string, number>();
  private readonly keysById = new Map<number, string>();
  private readonly labels = new Map<string, Labels>();
  private readonly refs = new Map<string, number>();
  /** Slots where some key was turned away because another held it. */
  private contended = new Set<number>();
  private readonly pendingAdd = new Set<string>();
  private readonly pendingRemove = new Set<string>();

  idOf(key: string): number | undefined {
    return this.ids.get(key);
  }

  keyOf(id: number): string | undefined {
    return this.keysById.get(id);
  }

  labelsOf(key: string): Labels | undefined {
    return this.labels.get(key);
  }

  acquire(key: string, labels: Labels): void {
    const count = this.refs.get(key) ?? 0;
    this.refs.set(key, count + 1);
    if (count > 0) return;
    this.labels.set(key, labels);
    if (!this.pendingRemove.delete(key)) this.pendingAdd.add(key);
  }

  release(key: string): void {
    const count = this.refs.get(key) ?? 0;
    if (count > 1) {
      this.refs.set(key, count - 1);
      return;
    }
    this.refs.delete(key);
    if (!this.pendingAdd.delete(key)) this.pendingRemove.add(key);
  }

  /** Allocates ids for the label sets acquired and frees those released since the last commit. */
  commit(): IdentityChanges {
    // The first allocation is a full one (the same as trying each id in sorted order).
    if (this.ids.size === 0) {
      const removing = [...this.pendingRemove];
      this.pendingAdd.clear();
      this.pendingRemove.clear();
      return this.reallocate(removing);
    }
    const adding = [...this.pendingAdd].sort();
    const removing = [...this.pendingRemove];
    this.pendingAdd.clear();
    this.pendingRemove.clear();
    if (this.needsReallocation(adding, removing)) return this.reallocate(removing);
    const removed: number[] = [];
    for (const key of removing) {
      const id = this.ids.get(key) as number;
      this.ids.delete(key);
      this.keysById.delete(id);
      this.labels.delete(key);
      removed.push(id);
    }
    const added: number[] = [];
    for (const key of adding) {
      const slot = identitySlot(key, 0);
      this.ids.set(key, slot);
      this.keysById.set(slot, key);
      added.push(slot);
    }
    return { added, removed, remapped: false };
  }

  /** True when freeing or taking these slots touches a collision. */
  private needsReallocation(adding: string[], removing: string[]): boolean {
    const freed = new Set<number>();
    for (const key of removing) {
      const id = this.ids.get(key) as number;
      if (this.contended.has(id)) return true;
      freed.add(id);
    }
    const taken = new Set<number>();
    for (const key of adding) {
      const slot = identitySlot(key, 0);
      if (taken.has(slot) || (this.keysById.has(slot) && !freed.has(slot))) return true;
      taken.add(slot);
    }
    return false;
  }

  private reallocate(removing: string[]): IdentityChanges {
    const before = new Map(this.keysById);
    for (const key of removing) this.labels.delete(key);
    this.ids.clear();
    this.keysById.clear();
    this.contended = new Set();
    for (const key of [...this.refs.keys()].sort()) {
      let probe = 0;
      let slot = identitySlot(key, probe);
      while (this.keysById.has(slot)) {
        this.contended.add(slot);
        slot = identitySlot(key, ++probe);
      }
      this.ids.set(key, slot);
      this.keysById.set(slot, key);
    }
    const added: number[] = [];
    const removed: number[] = [];
    let remapped = false;
    for (const [id, key] of before) {
      if (this.keysById.get(id) === key) continue;
      removed.push(id);
      if (this.ids.has(key)) remapped = true;
    }
    for (const [id, key] of this.keysById) if (before.get(id) !== key) added.push(id);
    return { added, removed, remapped };
  }
}
