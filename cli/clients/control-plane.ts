// Client of the control plane's admin HTTP API (default 127.0.0.1:15014): /debug/syncz (every xDS
// client's per-type sync state), /debug/config_dump?proxy=ID (Envoy ConfigDump JSON) and
// /debug/accesslog (the L7 request lines; ?follow=1 streams them).
import type { ClientView, TypeStateView } from '../../xds/index.js';
import type { AccessLogEntry } from '../../xds/accesslog/index.js';
import { followNdjson, getJson, type NdjsonStream } from './http.js';

export const DEFAULT_CONTROL_PLANE_ADMIN = '127.0.0.1:15014';

/**
 * One type's sync state. `current` (what the control plane would send now) and `ackedResources`
 * (what the client last ACKed) are optional here: a control plane of an earlier build omits them.
 */
export interface TypeStateDetail extends Omit<TypeStateView, 'current' | 'ackedResources'> {
  current?: TypeStateView['current'];
  ackedResources?: TypeStateView['ackedResources'];
}

export interface SyncClient extends Omit<ClientView, 'types'> {
  types: TypeStateDetail[];
}

export interface Syncz {
  clients: SyncClient[];
  /** The control plane's identity and build (served once the admin exposes them). */
  controlPlane?: { id?: string; version?: string; snapshotVersion?: string };
}

export interface ConfigDump {
  configs: Record<string, unknown>[];
}

export class ControlPlaneClient {
  constructor(readonly address: string = DEFAULT_CONTROL_PLANE_ADMIN) {}

  syncz(proxy?: string): Promise<Syncz> {
    return getJson<Syncz>(this.address, proxy ? `/debug/syncz?proxy=${encodeURIComponent(proxy)}` : '/debug/syncz');
  }

  configDump(proxy: string): Promise<ConfigDump> {
    return getJson<ConfigDump>(this.address, `/debug/config_dump?proxy=${encodeURIComponent(proxy)}`);
  }

  /** The L7 request lines node proxies and waypoints sent over gRPC ALS (/debug/accesslog), oldest first. */
  async accessLog(): Promise<AccessLogEntry[]> {
    return (await getJson<{ entries: AccessLogEntry[] }>(this.address, '/debug/accesslog')).entries;
  }

  /** Streams the access log: the kept lines, then each new one, until stop() or the server ends it. */
  followAccessLog(onEntry: (entry: AccessLogEntry) => void): Promise<NdjsonStream> {
    return followNdjson<AccessLogEntry>(this.address, '/debug/accesslog?follow=1', onEntry);
  }
}

type Json = Record<string, unknown>;
const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const field = (v: unknown, key: string): unknown => (v !== null && typeof v === 'object' ? (v as Json)[key] : undefined);

/** Per ConfigDump section: its type URL, and each entry's name and version. */
const SECTIONS: Record<string, { typeUrl: string; entries: string; name: (e: Json) => unknown; version: (e: Json) => unknown }> = {
  ClustersConfigDump: { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', entries: 'dynamic_active_clusters', name: (e) => field(e.cluster, 'name'), version: (e) => e.version_info },
  EndpointsConfigDump: {
    typeUrl: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
    entries: 'dynamic_endpoint_configs',
    name: (e) => field(e.endpoint_config, 'cluster_name'),
    version: (e) => e.version_info,
  },
  ListenersConfigDump: { typeUrl: 'type.googleapis.com/envoy.config.listener.v3.Listener', entries: 'dynamic_listeners', name: (e) => e.name, version: (e) => field(e.active_state, 'version_info') },
  RoutesConfigDump: { typeUrl: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', entries: 'dynamic_route_configs', name: (e) => field(e.route_config, 'name'), version: (e) => e.version_info },
  SecretsConfigDump: { typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', entries: 'dynamic_active_secrets', name: (e) => e.name, version: (e) => e.version_info },
};

/** From a ConfigDump: per type URL, the resources the client was sent (name → version). */
export function sentVersions(dump: ConfigDump): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const section of dump.configs) {
    const kind = SECTIONS[String(section['@type']).split('.').pop() ?? ''];
    const typeUrl = kind?.typeUrl ?? String(section.type_url);
    const entries = list(section[kind?.entries ?? 'resources']);
    const versions: Record<string, string> = {};
    for (const e of entries) versions[String(kind ? kind.name(e) : e.name)] = String(kind ? kind.version(e) : e.version_info);
    out.set(typeUrl, versions);
  }
  return out;
}
