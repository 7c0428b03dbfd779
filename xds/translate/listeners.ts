// Listeners: the node proxy's one transparent listener (original_dst, a filter chain per
// destination that needs L7: HTTP connection manager → RBAC → router, and a TCP passthrough
// default chain), and the proxyless clients' `host:port` API listeners.
import { ADS_SOURCE } from './clusters.js';
import { constantMessage } from './constant.js';
import { PASSTHROUGH_CLUSTER } from './constants.js';
import { frozen, type Json } from './types.js';
import { XDS_CLUSTER } from '../../envoy/bootstrap.js';

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

export const ROUTER_FILTER: Json = frozen({
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
});

export const TRANSPARENT_LISTENER = 'skiff-transparent';

/**
 * Every request's access log entry to the control plane over gRPC ALS (its AccessLogService on the
 * xDS port, reached through the bootstrap's xDS cluster), for `skiff observe`'s L7 lines.
 */
export const GRPC_ACCESS_LOG: Json = frozen({
  name: 'envoy.access_loggers.http_grpc',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
    common_config: { log_name: 'skiff', transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: XDS_CLUSTER } } },
  },
});

// The router filter and the access log of every HTTP connection manager, converted and encoded once (constant.ts).
const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';
const ROUTER = constantMessage(HTTP_FILTER, ROUTER_FILTER);
const ACCESS_LOG = constantMessage('envoy.config.accesslog.v3.AccessLog', GRPC_ACCESS_LOG);

/**
 * An HTTP connection manager (HTTP/1.1 and HTTP/2 by codec sniffing) routing by RDS `routeName`,
 * logging every request to the control plane (GRPC_ACCESS_LOG).
 */
export function httpConnectionManager(statPrefix: string, routeName: string, httpFilters: readonly Json[], extra: Json = {}): Json {
  const hcm = routedConnectionManager(statPrefix, routeName, httpFilters);
  hcm.access_log = [ACCESS_LOG()];
  return Object.assign(hcm, extra);
}

/** An HTTP connection manager routing by RDS `routeName` through `httpFilters` and the router, logging nothing. */
function routedConnectionManager(statPrefix: string, routeName: string, httpFilters: readonly Json[]): Json {
  return {
    '@type': HCM_TYPE,
    stat_prefix: statPrefix,
    codec_type: 'AUTO',
    rds: { config_source: ADS_SOURCE(), route_config_name: routeName },
    http_filters: [...httpFilters, ROUTER()],
  };
}

export function hcmFilter(hcm: Json): Json {
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: hcm };
}

/** A TCP proxy to `cluster`. */
export function tcpProxyFilter(statPrefix: string, cluster: string, extra: Json = {}): Json {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: statPrefix, cluster, ...extra } };
}

function hostPrefix(ip: string): Json {
  return { address_prefix: ip, prefix_len: { value: ip.includes(':') ? 128 : 32 } };
}

/** One destination of the transparent listener: its addresses, port (0 = any) and L7 handling. */
export interface DestinationChain {
  /** Unique name, e.g. `vip|10.96.0.20:8080` or `pod|10.244.1.20:8080`. */
  name: string;
  addresses: readonly string[];
  port: number;
  routeName: string;
  httpFilters: readonly Json[];
}

/** The filter chain of one L7 destination. */
export function destinationFilterChain(d: DestinationChain): Json {
  const match: Json = { prefix_ranges: d.addresses.map(hostPrefix) };
  if (d.port !== 0) match.destination_port = { value: d.port };
  return {
    name: d.name,
    filter_chain_match: match,
    filters: [hcmFilter(httpConnectionManager(d.name, d.routeName, d.httpFilters))],
  };
}

/**
 * The node proxy's transparent listener. Flows arrive by sk_assign/TPROXY with their original
 * destination as the local address (original_dst restores it when they arrive redirected by
 * iptables instead); a filter chain matches each destination that needs L7. The default chain
 * passes a flow through unchanged: the redirector steers only L7 flows here, so it serves only
 * flows whose L7 needs vanished between two snapshots.
 */
export function transparentListener(port: number, chains: readonly Json[]): Json {
  return {
    name: TRANSPARENT_LISTENER,
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    transparent: { value: true },
    listener_filters: [
      {
        name: 'envoy.filters.listener.original_dst',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
      },
    ],
    filter_chains: chains,
    default_filter_chain: { name: 'passthrough', filters: [tcpProxyFilter('passthrough', PASSTHROUGH_CLUSTER)] },
  };
}

/** A proxyless gRPC client's listener: named by the target `host:port`, HCM as an API listener. */
export function apiListener(name: string): Json {
  // a proxyless client has no Envoy to send access logs (never added rather than deleted after:
  // an object a key was deleted from is slower for fromObject to read, 10k times)
  return { name, api_listener: { api_listener: routedConnectionManager(name, name, []) } };
}
