// Hands a translation to the xDS snapshot cache: per client class, the already-encoded resources;
// a class whose resource maps are the same objects as last time is not touched, and a class that
// disappeared from the mesh is removed.
import type { SnapshotCache, SnapshotInput } from '../index.js';
import type { ClassResources, Translation } from './translator.js';

/** The cache input of one client class: every served resource, as name and encoded bytes. */
export function toSnapshotInput(c: ClassResources): SnapshotInput {
  const input: SnapshotInput = {};
  for (const [typeUrl, resources] of c.resources) {
    input[typeUrl] = [...resources.values()].map((b) => ({ name: b.name, value: b.value }));
  }
  return input;
}

export class Publisher {
  private readonly published = new Map<string, readonly unknown[]>();

  constructor(private readonly cache: SnapshotCache) {}

  /** Updates the classes whose resources changed; returns their keys. */
  publish(t: Translation): string[] {
    const updated: string[] = [];
    for (const [key, c] of t.classes) {
      const maps = [...c.resources.values()];
      const before = this.published.get(key);
      if (before && before.length === maps.length && before.every((m, i) => m === maps[i])) continue;
      if (this.cache.update(key, toSnapshotInput(c))) {
        this.published.set(key, maps);
        updated.push(key);
      }
    }
    for (const key of this.published.keys()) {
      if (t.classes.has(key)) continue;
      this.cache.delete(key);
      this.published.delete(key);
    }
    return updated;
  }
}
