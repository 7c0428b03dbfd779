// A snapshot as plain, deterministic data (maps as objects with sorted keys): what `skiff mesh -o
// json|yaml` and `/debug/mesh` print, and what tests compare.
import type { MeshSnapshot } from './types.js';

function sortedEntries<K extends string | number, V>(map: ReadonlyMap<K, V>): Record<string, V> {
  const keys = [...map.keys()].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
  const out: Record<string, V> = {};
  for (const key of keys) out[String(key)] = map.get(key) as V;
  return out;
}

export interface SnapshotData {
  version: string;
  generation: number;
  builtAt: string;
  meshConfig: MeshSnapshot['meshConfig'];
  namespaces: Record<string, unknown>;
  nodes: Record<string, unknown>;
  services: Record<string, unknown>;
  servicesByVip: Record<string, string>;
  workloads: Record<string, unknown>;
  workloadsByIp: Record<string, string>;
  identities: Record<string, unknown>;
  routes: Record<string, unknown>;
  attachments: Record<string, unknown>;
  policies: Record<string, unknown>;
  workloadPolicies: Record<string, unknown>;
  l7: Record<string, unknown>;
  serviceL7: Record<string, unknown>;
  issues: MeshSnapshot['issues'];
}

/** Everything derived in the snapshot (not the input objects), with stable key order. */
export function snapshotToData(snapshot: MeshSnapshot): SnapshotData {
  return {
    version: snapshot.version,
    generation: snapshot.generation,
    builtAt: snapshot.builtAt,
    meshConfig: snapshot.meshConfig,
    namespaces: sortedEntries(snapshot.namespaces),
    nodes: sortedEntries(snapshot.nodes),
    services: sortedEntries(snapshot.services),
    servicesByVip: sortedEntries(snapshot.servicesByVip),
    workloads: sortedEntries(snapshot.workloads),
    workloadsByIp: sortedEntries(snapshot.workloadsByIp),
    identities: sortedEntries(snapshot.identities),
    routes: sortedEntries(snapshot.routes),
    attachments: sortedEntries(snapshot.attachments),
    policies: sortedEntries(snapshot.policies),
    workloadPolicies: sortedEntries(snapshot.workloadPolicies),
    l7: sortedEntries(snapshot.l7),
    serviceL7: sortedEntries(snapshot.serviceL7),
    issues: snapshot.issues,
  };
}
