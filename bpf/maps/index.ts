// The datapath object and its maps in one place: where bpf/build/datapath.bpf.o is, every pinned
// map with its default size, and loadDatapath(), which opens the object with a pin root (reusing
// pinned maps, so state survives an agent restart; pinned maps of an earlier layout are migrated,
// see migrate.ts), applies map sizes and loads it.
import { fileURLToPath } from 'node:url';
import { BpfObject } from '../libbpf.js';
import * as backends from './backends.js';
import * as conntrack from './conntrack.js';
import * as endpoints from './endpoints.js';
import * as events from './events.js';
import * as ipcache from './ipcache.js';
import * as lbSlots from './lb-slots.js';
import { copyLegacyEntries, restoreLegacyPins, unpinLegacyMaps } from './migrate.js';
import * as policy from './policy.js';
import * as services from './services.js';
import * as sockRnat from './sock-rnat.js';

export * as backends from './backends.js';
export * as config from './config.js';
export * as conntrack from './conntrack.js';
export * as endpoints from './endpoints.js';
export * as events from './events.js';
export * as ipcache from './ipcache.js';
export * as lbSlots from './lb-slots.js';
export * as policy from './policy.js';
export * as services from './services.js';
export * as sockRnat from './sock-rnat.js';
export * from './constants.js';
export { reverseTuple, type DecodedTuple, type Tuple } from './tuple.js';

/** bpf/build/datapath.bpf.o, built by scripts/build-native.sh. */
export const datapathObjectPath = fileURLToPath(new URL('../../../bpf/build/datapath.bpf.o', import.meta.url));

/** Maps whose size the loader may choose, with their defaults (the C declarations' max_entries). */
export const resizableMaps = {
  [services.MAP_NAME]: services.DEFAULT_MAX_ENTRIES,
  [lbSlots.MAP_NAME]: lbSlots.DEFAULT_MAX_ENTRIES,
  [backends.MAP_NAME]: backends.DEFAULT_MAX_ENTRIES,
  [ipcache.MAP_NAME]: ipcache.DEFAULT_MAX_ENTRIES,
  [endpoints.MAP_NAME]: endpoints.DEFAULT_MAX_ENTRIES,
  [policy.MAP_NAME]: policy.DEFAULT_MAX_ENTRIES,
  [conntrack.MAP_NAME]: conntrack.DEFAULT_MAX_ENTRIES,
  [events.MAP_NAME]: events.DEFAULT_MAX_ENTRIES,
  [sockRnat.MAP_NAME]: sockRnat.DEFAULT_MAX_ENTRIES,
} as const;

export type MapName = keyof typeof resizableMaps;

export interface LoadDatapathOptions {
  /** bpffs directory of the node's pins (e.g. /sys/fs/bpf/skiff); pinned maps there are reused. */
  pinRoot: string;
  /** Sizes other than the defaults. A pinned map of another size makes load() fail (EINVAL):
   * keep sizes stable for a node, or remove the pins first. */
  maxEntries?: Partial<Record<MapName, number>>;
  objectPath?: string;
  /** Called when pinned maps of an earlier layout were migrated: entries copied per map name. */
  onMigrated?: (copied: Record<string, number>) => void;
}

/** Opens and loads datapath.bpf.o: programs from_pod, to_pod and the sock_* cgroup programs. A
 * pinned map of an earlier layout (skf_ct of 64-byte values) is replaced by a new one holding
 * the same entries, upgraded; if loading fails, the old pin is put back. */
export function loadDatapath(options: LoadDatapathOptions): BpfObject {
  const legacy = unpinLegacyMaps(options.pinRoot);
  const object = BpfObject.open(options.objectPath ?? datapathObjectPath, { pinRoot: options.pinRoot });
  try {
    for (const [name, size] of Object.entries(options.maxEntries ?? {})) {
      if (size !== undefined) object.setMaxEntries(name, size);
    }
    object.load();
  } catch (err) {
    object.close();
    restoreLegacyPins(legacy);
    throw err;
  }
  if (legacy.length === 0) return object;
  try {
    options.onMigrated?.(copyLegacyEntries(object, legacy));
  } catch (err) {
    object.close();
    throw err;
  }
  return object;
}
