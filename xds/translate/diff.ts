// Which keys of a snapshot view changed between two snapshot versions. The snapshot's views are
// LayeredMaps: a shared base plus a small overlay of changes; two versions over the same base
// differ only in their overlays, so the difference costs O(changes). Otherwise (a fold, or plain
// maps) every key is compared.

interface Layered<K, V> {
  base: ReadonlyMap<K, V>;
  top: ReadonlyMap<K, unknown>;
}

function layers<K, V>(map: ReadonlyMap<K, V>): Layered<K, V> | undefined {
  const m = map as unknown as Partial<Layered<K, V>>;
  return m.base instanceof Map && m.top instanceof Map ? (m as Layered<K, V>) : undefined;
}

/** The keys added, removed, or whose value is a different object, from `prev` to `next`. */
export function changedKeys<K, V>(prev: ReadonlyMap<K, V>, next: ReadonlyMap<K, V>): K[] {
  if (prev === next) return [];
  const a = layers(prev);
  const b = layers(next);
  const changed: K[] = [];
  if (a && b && a.base === b.base) {
    for (const key of new Set([...a.top.keys(), ...b.top.keys()])) if (prev.get(key) !== next.get(key)) changed.push(key);
    return changed;
  }
  for (const [key, value] of next) if (prev.get(key) !== value) changed.push(key);
  for (const key of prev.keys()) if (!next.has(key)) changed.push(key);
  return changed;
}
