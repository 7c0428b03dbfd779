// Envoy bootstraps for the two proxy roles skiff serves: `node-proxy` (one per node, its
// transparent listener comes over LDS) and `waypoint` (HBONE, internal listeners). Both get their
// whole config over one ADS stream (Delta by default) from the control plane, an admin endpoint on
// loopback, and the node metadata the xDS server classifies clients by. Every bootstrap is checked
// against envoy.config.bootstrap.v3.Bootstrap before it is handed out.
import { TOKEN_HEADER } from '../proto/skiff/v1alpha1/identity-wire.js';
import { validateResource, type Violation } from '../xds/validate/index.js';
import { toProtoJson } from './proto-json.js';

export type ProxyRole = 'node-proxy' | 'waypoint';

export const BOOTSTRAP_TYPE = 'type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap';
export const XDS_CLUSTER = 'xds-grpc';
export const DEFAULT_ADMIN_PORT = 15000;

export interface BootstrapOptions {
  role: ProxyRole;
  nodeId: string;
  /** The control plane's xDS address. */
  xdsHost: string;
  xdsPort: number;
  /** node-proxy: the node it serves (metadata.node_name); defaults to nodeId. */
  nodeName?: string;
  /** waypoint: the Gateway it is (metadata.namespace, metadata.name). */
  namespace?: string;
  name?: string;
  /** Admin listener port on 127.0.0.1. Default 15000. */
  adminPort?: number;
  /** State-of-the-world ADS instead of Delta. */
  sotw?: boolean;
  /** The bootstrap token that attests the proxy (sent as call metadata x-skiff-token on the ADS
   * stream): without it the control plane serves no certificates. */
  token?: string;
}

type Obj = { [key: string]: unknown };

function struct(fields: Record<string, string>): Obj {
  return { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])) };
}

const ADS: Obj = { ads: {}, resource_api_version: 'V3' };

/** The node metadata the xDS server reads the client's role and identity from. */
function metadata(o: BootstrapOptions): Record<string, string> {
  if (o.role === 'node-proxy') return { role: o.role, node_name: o.nodeName ?? o.nodeId };
  if (!o.namespace || !o.name) throw new Error('a waypoint bootstrap needs the Gateway namespace and name');
  return { role: o.role, namespace: o.namespace, name: o.name };
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/** A complete Bootstrap in `fromObject` form (the form the rule checker takes). */
export function bootstrapMessage(o: BootstrapOptions): Obj {
  const xdsCluster: Obj = {
    name: XDS_CLUSTER,
    type: isIpAddress(o.xdsHost) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: { seconds: 5, nanos: 0 },
    load_assignment: {
      cluster_name: XDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: o.xdsHost, port_value: o.xdsPort } } } }] }],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
  const bootstrap: Obj = {
    node: { id: o.nodeId, cluster: `skiff-${o.role}`, metadata: struct(metadata(o)) },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.adminPort ?? DEFAULT_ADMIN_PORT } } },
    static_resources: { clusters: [xdsCluster] },
    dynamic_resources: {
      ads_config: {
        api_type: o.sotw ? 'GRPC' : 'DELTA_GRPC',
        transport_api_version: 'V3',
        grpc_services: [
          {
            envoy_grpc: { cluster_name: XDS_CLUSTER },
            ...(o.token ? { initial_metadata: [{ key: TOKEN_HEADER, value: o.token }] } : {}),
          },
        ],
        set_node_on_first_message_only: true,
      },
      cds_config: ADS,
      lds_config: ADS,
    },
    stats_config: { use_all_default_tags: { value: true } },
  };
  if (o.role === 'waypoint') {
    bootstrap.bootstrap_extensions = [
      {
        name: 'envoy.bootstrap.internal_listener',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener' },
      },
    ];
  }
  return bootstrap;
}

export class BootstrapError extends Error {
  constructor(readonly violations: readonly Violation[]) {
    super(`generated bootstrap is invalid:\n${violations.map((v) => `${v.path}: ${v.message} [${v.rule}]`).join('\n')}`);
  }
}

/** A checked Bootstrap as the proto3 JSON Envoy reads (`--config-path`); throws BootstrapError if it breaks a rule. */
export function envoyBootstrap(o: BootstrapOptions): Obj {
  const message = bootstrapMessage(o);
  const violations = validateResource(BOOTSTRAP_TYPE, message);
  if (violations.length > 0) throw new BootstrapError(violations);
  return toProtoJson('envoy.config.bootstrap.v3.Bootstrap', message);
}
