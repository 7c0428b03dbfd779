// Interned lists of resource names: thousands of clients subscribe to the same names, so each
// distinct list is held once and clients keep a reference to it (small per-client state).

export class NameSet {
  private static nextId = 1;
  readonly id = NameSet.nextId++;
  readonly set: ReadonlySet<string>;
  constructor(readonly list: readonly string[]) {
    this.set = new Set(list);
  }
  has(name: string): boolean {
    return this.set.has(name);
  }
  get size(): number {
    return this.list.length;
  }
  /** True when `names` is exactly this list, in this order (the cheap check for an unchanged request). */
  sameAs(names: readonly string[]): boolean {
    if (names.length !== this.list.length) return false;
    for (let i = 0; i < names.length; i++) if (names[i] !== this.list[i]) return false;
    return true;
  }
}

const pool = new Map<string, WeakRef<NameSet>>();
const registry = new FinalizationRegistry<string>((key) => {
  const ref = pool.get(key);
  if (ref && ref.deref() === undefined) pool.delete(key);
});

/** The shared NameSet for these names (duplicates dropped, order kept). */
export function internNames(names: Iterable<string>): NameSet {
  const list = [...new Set(names)];
  const key = list.join('\n');
  const existing = pool.get(key)?.deref();
  if (existing) return existing;
  const created = new NameSet(list);
  pool.set(key, new WeakRef(created));
  registry.register(created, key);
  return created;
}

export const EMPTY_NAMES = internNames([]);
