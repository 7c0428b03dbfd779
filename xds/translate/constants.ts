// The constants the translated Envoy config shares with other parts of skiff: type URLs, the
// well-known ports, and the mark on upstream connections of the node proxy (the redirector must
// never steer a connection carrying it back into the proxy).

export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/**
 * SO_MARK set on every upstream connection the node proxy or a waypoint opens. The redirector's
 * datapath treats packets with (mark & PROXY_UPSTREAM_MARK_MASK) === PROXY_UPSTREAM_MARK as
 * proxy-originated and never steers them to the proxy again.
 */
export const PROXY_UPSTREAM_MARK = 0xb00;
export const PROXY_UPSTREAM_MARK_MASK = 0xf00;

/** Linux socket option numbers used in socket_options (SOL_SOCKET/SO_MARK, SOL_IP/IP_TRANSPARENT). */
export const SOL_SOCKET = 1;
export const SO_MARK = 36;
export const SOL_IP = 0;
export const IP_TRANSPARENT = 19;

export const DEFAULT_PROXY_PORT = 15001;
export const DEFAULT_HBONE_PORT = 15008;
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The cluster every node proxy has for flows with no L7 needs: forward to the original destination. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/**
 * The cluster name routes use for the share of traffic that a Gateway API backendRef which cannot
 * be resolved would have received. It is never defined on purpose: the route's
 * cluster_not_found_response_code turns it into the 500 that Gateway API requires.
 */
export const INVALID_BACKEND_CLUSTER = 'skiff|invalid-backend';

/** SDS secret names: the workload certificate of a proxy, and the mesh trust bundle. */
export const SECRET_DEFAULT_CERT = 'default';
export const SECRET_ROOT_CA = 'ROOTCA';
