// Keeps the kernel maps equal to the desired state by writing only the difference. On start it
// reads every map back (so an agent restart re-adopts what is there and writes nothing when it is
// already right); afterwards it trusts its own record of what it wrote and looks only at the keys
// the desired state marks dirty. Writes are batched per map, in an order that never opens a hole:
// upserts ipcache → backends → slots → policy → services → endpoints → config (a service's slots
// and backends exist before its count covers them; policy entries exist before an endpoint's flags
// enforce them), removals in the reverse order.
import type { BpfMap } from '../bpf/libbpf.js';
import { keyBytes, keyOf, MAP_KINDS, type DesiredContent, type MapContent, type MapKind } from './desired-state.js';

export interface ReconcileResult {
  /** Entries created or changed. */
  writes: number;
  deletes: number;
  durationMs: number;
  perMap: Partial<Record<MapKind, { writes: number; deletes: number }>>;
}

/** Reads a whole map into a MapContent. */
export function readMap(map: BpfMap): MapContent {
  const content: MapContent = new Map();
  for (const [k, v] of map.entries()) content.set(keyOf(k), v);
  return content;
}

export class Reconciler {
  readonly #maps: Record<MapKind, BpfMap>;
  /** What the kernel holds, as read on start and written since. */
  readonly actual: Record<MapKind, MapContent>;

  constructor(maps: Record<MapKind, BpfMap>) {
    this.#maps = maps;
    this.actual = Object.fromEntries(MAP_KINDS.map((k) => [k, readMap(maps[k])])) as Record<MapKind, MapContent>;
  }

  /**
   * Writes the difference between desired and actual. `dirty` limits the comparison to those keys
   * per map; without it every key of both sides is compared (the first reconcile after start).
   */
  apply(desired: Record<MapKind, DesiredContent>, dirty?: Record<MapKind, Set<string>>): ReconcileResult {
    const started = performance.now();
    const result: ReconcileResult = { writes: 0, deletes: 0, durationMs: 0, perMap: {} };
    const removals = new Map<MapKind, string[]>();
    for (const kind of MAP_KINDS) {
      const want = desired[kind];
      const have = this.actual[kind];
      const upKeys: Buffer[] = [];
      const upValues: Buffer[] = [];
      const upNames: string[] = [];
      const gone: string[] = [];
      const compare = (key: string) => {
        const entry = want.get(key);
        const current = have.get(key);
        if (entry === undefined) {
          if (current !== undefined) gone.push(key);
        } else if (!current || !current.equals(entry.value)) {
          upKeys.push(entry.key);
          upValues.push(entry.value);
          upNames.push(key);
        }
      };
      if (dirty) {
        for (const key of dirty[kind]) compare(key);
      } else {
        for (const key of want.keys()) compare(key);
        for (const key of have.keys()) if (!want.has(key)) gone.push(key);
      }
      this.#maps[kind].batchUpdate(upKeys, upValues);
      upNames.forEach((key, i) => have.set(key, upValues[i] as Buffer));
      removals.set(kind, gone);
      result.writes += upKeys.length;
      if (upKeys.length || gone.length) result.perMap[kind] = { writes: upKeys.length, deletes: gone.length };
    }
    for (const kind of [...MAP_KINDS].reverse()) {
      const gone = removals.get(kind) ?? [];
      this.#maps[kind].batchDelete(gone.map(keyBytes));
      for (const key of gone) this.actual[kind].delete(key);
      result.deletes += gone.length;
    }
    result.durationMs = performance.now() - started;
    return result;
  }
}
