// Clusters: one EDS cluster per Service port (`outbound|PORT||HOST`), HTTP/2 upstream for gRPC and
// h2c ports, circuit breakers and outlier detection with sane defaults, and — for proxies — the
// SO_MARK on upstream sockets that keeps the redirector from steering proxy traffic back.
import type { MeshSnapshot, ServicePortView, ServiceView } from '../../config/snapshot/types.js';
import { PASSTHROUGH_CLUSTER, PROXY_UPSTREAM_MARK, SOL_SOCKET, SO_MARK } from './constants.js';
import { clusterName } from './names.js';
import { constantMessage } from './constant.js';
import { frozen, type Json } from './types.js';

const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Upstream HTTP/2 (gRPC and h2c ports), the same for every cluster that needs it. */
const HTTP2_UPSTREAM: Json = frozen({
  [HTTP_OPTIONS_KEY]: {
    '@type': `type.googleapis.com/${HTTP_OPTIONS_KEY}`,
    explicit_http_config: { http2_protocol_options: {} },
  },
});

/** The upstream socket of every proxy cluster: bound anywhere, marked PROXY_UPSTREAM_MARK. */
export const MARKED_UPSTREAM: Json = {
  source_address: { address: '0.0.0.0', port_value: 0 },
  socket_options: [
    { description: 'skiff proxy upstream mark', level: SOL_SOCKET, name: SO_MARK, int_value: PROXY_UPSTREAM_MARK, state: 'STATE_PREBIND' },
  ],
};

export const ADS_CONFIG_SOURCE: Json = { ads: {}, resource_api_version: 'V3' };

// What every service cluster shares, converted and encoded once (constant.ts).
/** ADS_CONFIG_SOURCE as a constant message. */
export const ADS_SOURCE = constantMessage('envoy.config.core.v3.ConfigSource', ADS_CONFIG_SOURCE);
const MARKED_BIND = constantMessage('envoy.config.core.v3.BindConfig', MARKED_UPSTREAM);
const FIVE_SECONDS = constantMessage('google.protobuf.Duration', { seconds: 5, nanos: 0 });
const CIRCUIT_BREAKERS = constantMessage('envoy.config.cluster.v3.CircuitBreakers', {
  thresholds: [
    {
      priority: 'DEFAULT',
      max_connections: { value: 4096 },
      max_pending_requests: { value: 4096 },
      max_requests: { value: 4096 },
      max_retries: { value: 64 },
    },
  ],
});
const OUTLIER_DETECTION = constantMessage('envoy.config.cluster.v3.OutlierDetection', {
  consecutive_5xx: { value: 5 },
  interval: { seconds: 10, nanos: 0 },
  base_ejection_time: { seconds: 30, nanos: 0 },
  max_ejection_percent: { value: 50 },
});

/** Which upstream socket a cluster gets: marked (proxies) or plain (proxyless clients). */
export type UpstreamFlavor = 'marked' | 'plain';

/** The EDS cluster of one Service port. */
export function serviceCluster(service: ServiceView, port: ServicePortView, flavor: UpstreamFlavor): Json {
  const name = clusterName(service.fqdn, port.port);
  const cluster: Json = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE(), service_name: name },
    connect_timeout: FIVE_SECONDS(),
    lb_policy: 'ROUND_ROBIN',
    circuit_breakers: CIRCUIT_BREAKERS(),
    outlier_detection: OUTLIER_DETECTION(),
  };
  if (port.isHttp2) cluster.typed_extension_protocol_options = HTTP2_UPSTREAM;
  if (flavor === 'marked') cluster.upstream_bind_config = MARKED_BIND();
  return cluster;
}

/** The node proxy's cluster for flows it forwards unchanged to where they were going. */
export function passthroughCluster(): Json {
  return {
    name: PASSTHROUGH_CLUSTER,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: { seconds: 5, nanos: 0 },
    upstream_bind_config: MARKED_UPSTREAM,
  };
}

/** Every Service port that gets a cluster: TCP ports of Services other than ExternalName. */
export function* servicePorts(snapshot: MeshSnapshot): Generator<[ServiceView, ServicePortView]> {
  for (const service of snapshot.services.values()) {
    if (service.type === 'ExternalName') continue;
    for (const port of service.ports) if (port.protocol === 'TCP') yield [service, port];
  }
}
