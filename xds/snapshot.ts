// The resources served to one client class: per type URL, name → encoded resource with a version.
// Each resource is encoded once; unchanged resources (same bytes) keep their version, their bytes
// and their TypeSnapshot across snapshots, so clients are pushed only what changed. A snapshot is
// checked for consistency (clusters' EDS names and listeners' RDS names exist) before it is served.
import { createHash } from 'node:crypto';
import { TypeUrl, decodeResource, encodeResource, resourceToJson } from './protos.js';
import { DeltaField, SotwField, bytesField, encodeAny, encodeDeltaResource } from './wire.js';
import type { Cluster__Output } from './generated/envoy/config/cluster/v3/Cluster.js';
import type { Listener__Output } from './generated/envoy/config/listener/v3/Listener.js';
import type { Any__Output } from './generated/google/protobuf/Any.js';
import type { HttpConnectionManager__Output } from './generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js';

/** One resource as a translator supplies it: a message of a loaded Envoy type, or already-encoded bytes (any type URL). */
export interface ResourceInput {
  /** Defaults to the message's `name` (or `cluster_name` for a ClusterLoadAssignment). */
  name?: string;
  /** Plain object with the .proto field names; nested Any as `{ '@type': url, ...fields }`. */
  message?: object;
  /** The encoded message, for types whose .proto is not loaded here (e.g. skiff's own). */
  value?: Uint8Array;
}

/** type URL → resources of that type. */
export type SnapshotInput = Record<string, readonly ResourceInput[]>;

function shortHash(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('base64url').slice(0, 12);
}

export class ResourceEntry {
  /** The bytes of one `resources` field of a DiscoveryResponse (an Any). */
  readonly sotwField: Uint8Array;
  private deltaBytes: Uint8Array | undefined;
  constructor(
    readonly typeUrl: string,
    readonly name: string,
    readonly version: string,
    readonly value: Uint8Array,
    /** Names this resource needs of the next type: a cluster's ClusterLoadAssignment, a listener's RouteConfigurations. */
    readonly refs: readonly string[],
  ) {
    this.sotwField = bytesField(SotwField.resources, encodeAny(typeUrl, value));
  }
  /** The bytes of one `resources` field of a DeltaDiscoveryResponse (a Resource), made on first use. */
  get deltaField(): Uint8Array {
    this.deltaBytes ??= bytesField(DeltaField.resources, encodeDeltaResource(this.name, this.version, encodeAny(this.typeUrl, this.value)));
    return this.deltaBytes;
  }
  /** The resource as JSON (`@type` first), or its bytes in base64 when its type is not loaded. */
  toJson(): Record<string, unknown> {
    const json = resourceToJson(this.typeUrl, this.value);
    if (json) return { '@type': this.typeUrl, ...json };
    return { '@type': this.typeUrl, name: this.name, value: Buffer.from(this.value).toString('base64') };
  }
}

/** What changed between two versions of one type: names added or updated, names removed. */
export interface TypeDiff {
  changed: readonly string[];
  removed: readonly string[];
}

const MAX_CACHED_BODIES = 512;

export class TypeSnapshot {
  private static nextId = 1;
  readonly id = TypeSnapshot.nextId++;
  private readonly diffs = new Map<number, TypeDiff>();
  private readonly memos = new Map<string, unknown>();
  constructor(
    readonly typeUrl: string,
    readonly version: string,
    readonly entries: ReadonlyMap<string, ResourceEntry>,
  ) {}

  /** The difference from an older TypeSnapshot (null: nothing sent yet), computed once and shared. */
  diffFrom(older: TypeSnapshot | null): TypeDiff {
    if (older === this) return { changed: [], removed: [] };
    const key = older?.id ?? 0;
    let diff = this.diffs.get(key);
    if (!diff) {
      const changed: string[] = [];
      const removed: string[] = [];
      for (const [name, entry] of this.entries) if (older?.entries.get(name)?.version !== entry.version) changed.push(name);
      if (older) for (const name of older.entries.keys()) if (!this.entries.has(name)) removed.push(name);
      diff = { changed, removed };
      if (this.diffs.size >= MAX_CACHED_BODIES) this.diffs.clear();
      this.diffs.set(key, diff);
    }
    return diff;
  }

  /** A response plan shared by every client whose state leads to the same key (computed once). */
  memo<T>(key: string, build: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const value = build();
    if (this.memos.size >= MAX_CACHED_BODIES) this.memos.clear();
    this.memos.set(key, value);
    return value;
  }
}

const empties = new Map<string, TypeSnapshot>();

/** The TypeSnapshot with no resources for a type URL (one shared instance per type). */
export function emptyTypeSnapshot(typeUrl: string): TypeSnapshot {
  let empty = empties.get(typeUrl);
  if (!empty) {
    empty = new TypeSnapshot(typeUrl, '', new Map());
    empties.set(typeUrl, empty);
  }
  return empty;
}

export class ResourceSnapshot {
  constructor(
    readonly version: string,
    readonly types: ReadonlyMap<string, TypeSnapshot>,
  ) {}
  /** The resources of one type (an empty TypeSnapshot when the snapshot has none). */
  get(typeUrl: string): TypeSnapshot {
    return this.types.get(typeUrl) ?? emptyTypeSnapshot(typeUrl);
  }
}

/** A snapshot that cannot be served: a resource that does not encode, or a dangling reference. */
export class SnapshotError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`inconsistent snapshot: ${problems.join('; ')}`);
  }
}

function clusterRefs(value: Uint8Array): string[] {
  const cluster = decodeResource<Cluster__Output>(TypeUrl.cluster, value);
  if (cluster.cluster_discovery_type !== 'type' || cluster.type !== 'EDS') return [];
  return [cluster.eds_cluster_config?.service_name || cluster.name];
}

function hcmRoutes(any: Any__Output | null | undefined, into: string[]): void {
  if (!any || any.type_url !== TypeUrl.httpConnectionManager) return;
  const hcm = decodeResource<HttpConnectionManager__Output>(TypeUrl.httpConnectionManager, any.value);
  if (hcm.route_specifier === 'rds' && hcm.rds) into.push(hcm.rds.route_config_name);
}

function listenerRefs(value: Uint8Array): string[] {
  const listener = decodeResource<Listener__Output>(TypeUrl.listener, value);
  const routes: string[] = [];
  hcmRoutes(listener.api_listener?.api_listener, routes);
  const chains = [...listener.filter_chains, ...(listener.default_filter_chain ? [listener.default_filter_chain] : [])];
  for (const chain of chains) for (const filter of chain.filters) hcmRoutes(filter.typed_config, routes);
  return [...new Set(routes)];
}

function refsOf(typeUrl: string, value: Uint8Array): string[] {
  if (typeUrl === TypeUrl.cluster) return clusterRefs(value);
  if (typeUrl === TypeUrl.listener) return listenerRefs(value);
  return [];
}

function inputName(input: ResourceInput): string | undefined {
  if (input.name) return input.name;
  const message = input.message as { name?: unknown; cluster_name?: unknown } | undefined;
  const name = message?.name ?? message?.cluster_name;
  return typeof name === 'string' && name ? name : undefined;
}

function buildType(typeUrl: string, inputs: readonly ResourceInput[], previous: TypeSnapshot | undefined, problems: string[]): TypeSnapshot {
  const entries = new Map<string, ResourceEntry>();
  for (const [index, input] of inputs.entries()) {
    const name = inputName(input);
    if (!name) {
      problems.push(`${typeUrl} resource #${index} has no name`);
      continue;
    }
    if (entries.has(name)) {
      problems.push(`${typeUrl} "${name}" appears twice`);
      continue;
    }
    const old = previous?.entries.get(name);
    if (old && input.value !== undefined && input.value === old.value) {
      // The very bytes served before (a translator's memoized encoding): nothing to encode or hash.
      entries.set(name, old);
      continue;
    }
    let value: Uint8Array;
    try {
      value = input.value ?? encodeResource(typeUrl, input.message ?? {});
    } catch (error) {
      problems.push(`${typeUrl} "${name}" does not encode: ${(error as Error).message}`);
      continue;
    }
    const version = shortHash(value);
    entries.set(name, old?.version === version ? old : new ResourceEntry(typeUrl, name, version, value, refsOf(typeUrl, value)));
  }
  const sorted = [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const version = shortHash(sorted.map((e) => `${e.name}\u0000${e.version}`).join('\u0001'));
  if (previous?.version === version) return previous;
  return new TypeSnapshot(typeUrl, version, entries);
}

function checkReferences(types: ReadonlyMap<string, TypeSnapshot>, fromType: string, toType: string, problems: string[]): void {
  const targets = types.get(toType)?.entries;
  for (const entry of types.get(fromType)?.entries.values() ?? []) {
    for (const ref of entry.refs) {
      if (!targets?.has(ref)) problems.push(`${fromType.slice(fromType.lastIndexOf('.') + 1)} "${entry.name}" refers to ${toType.slice(toType.lastIndexOf('.') + 1)} "${ref}", which the snapshot does not hold`);
    }
  }
}

/**
 * Encodes and checks a client class's resources. Resources whose bytes did not change since
 * `previous` keep their entry (version, encoded bytes). Throws SnapshotError when a resource does
 * not encode, a name repeats, or a cluster/listener refers to a missing EDS/RDS resource.
 */
export function buildSnapshot(input: SnapshotInput, previous?: ResourceSnapshot): ResourceSnapshot {
  const problems: string[] = [];
  const types = new Map<string, TypeSnapshot>();
  for (const typeUrl of Object.keys(input).sort()) {
    types.set(typeUrl, buildType(typeUrl, input[typeUrl] ?? [], previous?.types.get(typeUrl), problems));
  }
  checkReferences(types, TypeUrl.cluster, TypeUrl.endpoint, problems);
  checkReferences(types, TypeUrl.listener, TypeUrl.route, problems);
  if (problems.length > 0) throw new SnapshotError(problems);
  const version = shortHash([...types.values()].map((t) => `${t.typeUrl}\u0000${t.version}`).join('\u0001'));
  return new ResourceSnapshot(version, types);
}
