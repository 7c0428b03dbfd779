// Pinned maps of an earlier layout, carried over when the datapath loads. libbpf reuses a pinned
// map only when its spec matches (type, key and value size, max_entries, flags); an agent
// restarted with a new datapath over a node whose skf_ct still has the old value layout would
// otherwise fail to load. Instead, the old map is unpinned (kept open), load() creates the new
// one at the pin, and every entry is copied over, upgraded, so established connections keep
// their conntrack state. The old programs, attached until the caller swaps its links, keep the
// old map alive meanwhile; flows they open after the copy are re-judged as new by the new ones.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, type BpfObject } from '../libbpf.js';
import * as conntrack from './conntrack.js';

interface Upgrade {
  map: string;
  keySize: number;
  /** The value size of the old layout. */
  valueSize: number;
  upgrade(value: Buffer): Buffer;
}

const upgrades: Upgrade[] = [
  { map: conntrack.MAP_NAME, keySize: conntrack.KEY.size, valueSize: conntrack.LEGACY_VALUE_SIZE, upgrade: conntrack.upgradeLegacyValue },
];

/** Entries written per bpf_map_update_batch call while copying. */
const BATCH = 4096;

/** A pinned map of an old layout, unpinned and held open until its entries are copied. */
export interface LegacyPin {
  path: string;
  map: BpfMap;
  upgrade: Upgrade;
}

function openPin(path: string): BpfMap | undefined {
  try {
    return BpfMap.fromPin(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Unpins (keeping them open) the maps under pinRoot whose layout is an old one we can upgrade. */
export function unpinLegacyMaps(pinRoot: string): LegacyPin[] {
  const found: LegacyPin[] = [];
  for (const upgrade of upgrades) {
    const path = join(pinRoot, upgrade.map);
    const map = openPin(path);
    if (!map) continue;
    if (map.keySize !== upgrade.keySize || map.valueSize !== upgrade.valueSize) {
      map.close();
      continue;
    }
    rmSync(path);
    found.push({ path, map, upgrade });
  }
  return found;
}

/** Pins the old maps back where they were (the new object did not load). */
export function restoreLegacyPins(legacy: LegacyPin[]): void {
  for (const { path, map } of legacy) {
    rmSync(path, { force: true });
    map.pin(path);
    map.close();
  }
}

/** Copies every entry of the old maps into the loaded object's new ones, upgraded, and closes the
 * old maps. Returns how many entries were copied per map. */
export function copyLegacyEntries(object: BpfObject, legacy: LegacyPin[]): Record<string, number> {
  const copied: Record<string, number> = {};
  for (const { map, upgrade } of legacy) {
    const target = object.map(upgrade.map);
    let keys: Buffer[] = [];
    let values: Buffer[] = [];
    let count = 0;
    const flush = () => {
      target.batchUpdate(keys, values);
      count += keys.length;
      keys = [];
      values = [];
    };
    try {
      for (const [key, value] of map.entries()) {
        keys.push(key);
        values.push(upgrade.upgrade(value));
        if (keys.length === BATCH) flush();
      }
      flush();
    } finally {
      map.close();
    }
    copied[upgrade.map] = count;
  }
  return copied;
}
