// Renders what one client was sent as Envoy's admin ConfigDump JSON (envoy.admin.v3.ConfigDump):
// clusters, endpoints, listeners, routes and secrets in their *ConfigDump shapes; other type URLs
// (skiff's own) as { '@type': 'type.googleapis.com/skiff.admin.ResourcesDump', type_url, ... }.
// Private keys are redacted, as in Envoy's own config dump.
import { redactResource } from './ca/describe.js';
import type { SentResources } from './connection.js';
import { TypeUrl } from './protos.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

function section(sent: SentResources): Record<string, unknown> {
  const version_info = sent.version;
  const last_updated = new Date(sent.sentAt).toISOString();
  const resources = sent.entries.map((e) => ({ name: e.name, version: e.version, json: redactResource(e.typeUrl, e.toJson()) }));
  switch (sent.typeUrl) {
    case TypeUrl.cluster:
      return { '@type': `${ADMIN}ClustersConfigDump`, version_info, dynamic_active_clusters: resources.map((r) => ({ version_info: r.version, cluster: r.json, last_updated })) };
    case TypeUrl.endpoint:
      return { '@type': `${ADMIN}EndpointsConfigDump`, dynamic_endpoint_configs: resources.map((r) => ({ version_info: r.version, endpoint_config: r.json, last_updated })) };
    case TypeUrl.listener:
      return {
        '@type': `${ADMIN}ListenersConfigDump`,
        version_info,
        dynamic_listeners: resources.map((r) => ({ name: r.name, active_state: { version_info: r.version, listener: r.json, last_updated } })),
      };
    case TypeUrl.route:
      return { '@type': `${ADMIN}RoutesConfigDump`, dynamic_route_configs: resources.map((r) => ({ version_info: r.version, route_config: r.json, last_updated })) };
    case TypeUrl.secret:
      return { '@type': `${ADMIN}SecretsConfigDump`, dynamic_active_secrets: resources.map((r) => ({ name: r.name, version_info: r.version, last_updated, secret: r.json })) };
    default:
      return {
        '@type': 'type.googleapis.com/skiff.admin.ResourcesDump',
        type_url: sent.typeUrl,
        version_info,
        resources: resources.map((r) => ({ name: r.name, version_info: r.version, last_updated, resource: r.json })),
      };
  }
}

/** Envoy's ConfigDump order: clusters, endpoints, listeners, routes, secrets; then other types. */
const DUMP_ORDER = [TypeUrl.cluster, TypeUrl.endpoint, TypeUrl.listener, TypeUrl.route, TypeUrl.secret] as string[];

export function configDump(sent: readonly SentResources[]): { configs: Record<string, unknown>[] } {
  const rank = (t: string) => (DUMP_ORDER.includes(t) ? DUMP_ORDER.indexOf(t) : DUMP_ORDER.length);
  const ordered = [...sent].sort((a, b) => rank(a.typeUrl) - rank(b.typeUrl));
  return { configs: ordered.map(section) };
}
