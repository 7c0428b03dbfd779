// An index from a key to a set of values (pods by label, routes by service, workloads by
// identity…). Most keys hold one value, and a mesh has 100,000s of keys: a Set (or even an array)
// per key costs much memory and garbage collection, so a key's one value is kept as it is, its
// first few values in an array (in the order added, as a Set keeps them), and a Set only when
// there are many. Values are strings or numbers, so one value is told from a list by its type.

const ARRAY_LIMIT = 8;

export class SetIndex<K, V extends string | number> {
  private readonly map = new Map<K, V | V[] | Set<V>>();

  /** The values under `key`, in the order they were added; undefined when none. */
  get(key: K): Iterable<V> | undefined {
    const values = this.map.get(key);
    if (values === undefined || typeof values === 'object') return values;
    return [values];
  }

  /** The value under `key` when it holds exactly one, else undefined. */
  only(key: K): V | undefined {
    const values = this.map.get(key);
    return typeof values === 'object' ? undefined : values;
  }

  add(key: K, value: V): void {
    const values = this.map.get(key);
    if (values === undefined) {
      this.map.set(key, value);
    } else if (typeof values !== 'object') {
      if (values !== value) this.map.set(key, [values, value]);
    } else if (values instanceof Set) {
      values.add(value);
    } else if (!values.includes(value)) {
      if (values.length < ARRAY_LIMIT) values.push(value);
      else this.map.set(key, new Set(values).add(value));
    }
  }

  /** Removes every value under `key`. */
  clear(key: K): void {
    this.map.delete(key);
  }

  delete(key: K, value: V): void {
    const values = this.map.get(key);
    if (values === undefined) return;
    if (typeof values !== 'object') {
      if (values === value) this.map.delete(key);
      return;
    }
    if (values instanceof Set) {
      values.delete(value);
      if (values.size === 0) this.map.delete(key);
      return;
    }
    const at = values.indexOf(value);
    if (at < 0) return;
    if (values.length === 1) this.map.delete(key);
    else if (values.length === 2) this.map.set(key, values[1 - at] as V);
    else values.splice(at, 1);
  }
}

/**
 * A SetIndex keyed by a label pair within a scope (a namespace): (scope, key, value) → values.
 * Nested maps keyed by the strings as they are, rather than one `scope|key=value` string built
 * and hashed per lookup (10,000s of pods and identities, several labels each).
 */
export class LabelPairIndex<V extends string | number> {
  private readonly scopes = new Map<string, Map<string, SetIndex<string, V>>>();

  get(scope: string, key: string, value: string): Iterable<V> | undefined {
    return this.scopes.get(scope)?.get(key)?.get(value);
  }

  add(scope: string, key: string, value: string, item: V): void {
    let keys = this.scopes.get(scope);
    if (!keys) this.scopes.set(scope, (keys = new Map()));
    let values = keys.get(key);
    if (!values) keys.set(key, (values = new SetIndex()));
    values.add(value, item);
  }

  /** Removes an item (an empty key stays, as the label keys of a scope are few). */
  delete(scope: string, key: string, value: string, item: V): void {
    this.scopes.get(scope)?.get(key)?.delete(value, item);
  }
}

/** Calls `visit` with the scope, labels and item of every item a LazyLabelPairIndex covers. */
export type LabelledItems<V> = (visit: (scope: string, labels: Readonly<Record<string, string>>, item: V) => void) => void;

/**
 * A LabelPairIndex of only the label keys that are looked up. Most label keys are never asked
 * for (pod-template-hash on pods, the namespace's labels on identities), and indexing every pair
 * cost a full build 10,000s of index entries kept for nothing. A key is indexed from all items
 * (`items`) on its first lookup and kept up to date from then on; `add` and `delete` must be
 * called as the items `items` walks change.
 */
export class LazyLabelPairIndex<V extends string | number> {
  private readonly index = new LabelPairIndex<V>();
  private readonly indexed = new Set<string>();
  private readonly keys: string[] = [];

  constructor(private readonly items: LabelledItems<V>) {}

  get(scope: string, key: string, value: string): Iterable<V> | undefined {
    if (!this.indexed.has(key)) this.indexKey(key);
    return this.index.get(scope, key, value);
  }

  /** Indexes an item under its labels (the keys indexed so far). */
  add(scope: string, labels: Readonly<Record<string, string>>, item: V): void {
    for (const key of this.keys) if (Object.hasOwn(labels, key)) this.index.add(scope, key, labels[key] as string, item);
  }

  delete(scope: string, labels: Readonly<Record<string, string>>, item: V): void {
    for (const key of this.keys) if (Object.hasOwn(labels, key)) this.index.delete(scope, key, labels[key] as string, item);
  }

  private indexKey(key: string): void {
    this.indexed.add(key);
    this.keys.push(key);
    this.items((scope, labels, item) => {
      if (Object.hasOwn(labels, key)) this.index.add(scope, key, labels[key] as string, item);
    });
  }
}
