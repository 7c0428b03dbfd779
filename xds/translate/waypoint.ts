// Waypoints (role `waypoint`, a Gateway of class `skiff-waypoint`), in the Istio ambient shape:
// an HBONE listener on the HBONE port terminates HTTP/2 CONNECT (mutual TLS when the mesh
// encrypts with HBONE) and hands each tunnel, by its `:authority` (VIP:port), to an internal
// listener of that destination running the same routes and RBAC as the node proxy; upstream, the
// service clusters reach their endpoints through the internal listener `connect_originate`, which
// opens an HBONE tunnel to the endpoint's HBONE port.
import type { MeshSnapshot, ServicePortView, ServiceView } from '../../config/snapshot/types.js';
import { MARKED_UPSTREAM, serviceCluster, servicePorts } from './clusters.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, SECRET_TYPE } from './constants.js';
import type { Built } from './encode.js';
import { loadAssignment, type EndpointShape } from './endpoints.js';
import { ROUTER_FILTER, hcmFilter, httpConnectionManager, tcpProxyFilter } from './listeners.js';
import { changedKeys } from './diff.js';
import { Family, type Memo } from './memo.js';
import { clusterName, hostPortName } from './names.js';
import { serviceRbacFilters, type IdentityAddresses } from './rbac.js';
import { downstreamMtls, upstreamMtls } from './secrets.js';
import type { ClientClass, Json, TranslateIssue } from './types.js';
import { clientClassKey } from './types.js';
import type { ClassResources } from './translator.js';

export const HBONE_LISTENER = 'hbone';
export const CONNECT_ORIGINATE = 'connect_originate';
const ORIGINAL_DST_METADATA = 'envoy.filters.listener.original_dst';

type Finish = (typeUrl: string, name: string, message: Json, origin: string, refs: readonly string[], issues: readonly TranslateIssue[]) => Built;

export interface WaypointInputs {
  snapshot: MeshSnapshot;
  /** The node proxy's route configurations (the waypoint serves the same routes). */
  routes: ReadonlyMap<string, Built>;
  secrets: ReadonlyMap<string, Built>;
  addresses: IdentityAddresses;
}

function innerName(service: ServiceView, port: ServicePortView): string {
  return `inner|${hostPortName(service.fqdn, port.port)}`;
}

function struct(fields: Record<string, string>): Json {
  return { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])) };
}

/** An endpoint reached through `connect_originate`, which tunnels to its HBONE port. */
function tunnelledEndpoint(hbonePort: number): EndpointShape {
  return (e) => ({
    endpoint: { address: { envoy_internal_address: { server_listener_name: CONNECT_ORIGINATE, endpoint_id: `${e.address}:${e.port}` } } },
    metadata: {
      filter_metadata: {
        tunnel: struct({ destination: `${e.address}:${e.port}` }),
        [ORIGINAL_DST_METADATA]: struct({ local: `${e.address}:${hbonePort}` }),
      },
    },
  });
}

const INTERNAL_UPSTREAM: Json = {
  name: 'envoy.transport_sockets.internal_upstream',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
    passthrough_metadata: [
      { kind: { host: {} }, name: 'tunnel' },
      { kind: { host: {} }, name: ORIGINAL_DST_METADATA },
    ],
    transport_socket: {
      name: 'envoy.transport_sockets.raw_buffer',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' },
    },
  },
};

function staticInternalCluster(name: string, listener: string): Json {
  return {
    name,
    type: 'STATIC',
    connect_timeout: { seconds: 5, nanos: 0 },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: listener } } } }] }],
    },
  };
}

function originalDstFilter(): Json {
  return {
    name: 'envoy.filters.listener.original_dst',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
  };
}

export class WaypointTranslator {
  private readonly clusters = new Family(CLUSTER_TYPE);
  private readonly endpoints = new Family(ENDPOINT_TYPE);
  private readonly perWaypoint = new Map<string, { listeners: Family; clusters: Family }>();

  constructor(
    private readonly memo: Memo<Built>,
    private readonly finish: Finish,
  ) {}

  /** The waypoints in use: Gateways of class skiff-waypoint that some Service uses, by `namespace/name`. */
  private keys = new Set<string>();

  /** Whether there are waypoints to translate (or to remove); recomputed when the services changed. */
  active(snapshot: MeshSnapshot, previous: MeshSnapshot | undefined): boolean {
    // Only the Services that changed are looked at again: scanning every Service on each endpoint
    // change took most of an incremental translation.
    const changed = previous ? changedKeys(previous.services, snapshot.services) : [...snapshot.services.keys()];
    if (!previous) this.gatewayOf.clear();
    for (const key of changed) {
      const waypoint = snapshot.services.get(key)?.waypoint;
      if (waypoint?.found) this.gatewayOf.set(key, waypoint.gateway);
      else this.gatewayOf.delete(key);
    }
    if (changed.length > 0) this.keys = new Set(this.gatewayOf.values());
    return this.keys.size > 0 || this.perWaypoint.size > 0;
  }

  /** Service key → the waypoint Gateway serving it, for the Services that have one. */
  private readonly gatewayOf = new Map<string, string>();

  translate(inputs: WaypointInputs): ClassResources[] {
    const { snapshot } = inputs;
    for (const key of this.perWaypoint.keys()) if (!this.keys.has(key)) this.perWaypoint.delete(key);
    if (this.keys.size === 0) return [];
    this.translateTunnelledServices(snapshot);
    const out: ClassResources[] = [];
    for (const key of this.keys) out.push(this.translateWaypoint(key, inputs));
    return out;
  }

  /** Every Service port's cluster and endpoints as a waypoint reaches them: through HBONE tunnels. */
  private translateTunnelledServices(snapshot: MeshSnapshot): void {
    this.clusters.begin();
    this.endpoints.begin();
    const hbonePort = snapshot.meshConfig.hbonePort;
    for (const [service, port] of servicePorts(snapshot)) {
      const name = clusterName(service.fqdn, port.port);
      const origin = `Service/${service.key}`;
      this.clusters.put(this.memo.get(`wc|${service.key}|${port.port}`, [service.fqdn, port.port, port.isHttp2], () => {
        const cluster = { ...serviceCluster(service, port, 'plain'), transport_socket: INTERNAL_UPSTREAM };
        return this.finish(CLUSTER_TYPE, name, cluster, origin, [name], []);
      }));
      this.endpoints.put(this.memo.get(`we|${service.key}|${port.port}`, [port, service.fqdn, hbonePort], () =>
        this.finish(ENDPOINT_TYPE, name, loadAssignment(service, port, tunnelledEndpoint(hbonePort)), origin, [], []),
      ));
    }
    this.clusters.end();
    this.endpoints.end();
  }

  private translateWaypoint(key: string, inputs: WaypointInputs): ClassResources {
    const { snapshot } = inputs;
    const [namespace, name] = key.split('/') as [string, string];
    let state = this.perWaypoint.get(key);
    if (!state) this.perWaypoint.set(key, (state = { listeners: new Family(LISTENER_TYPE), clusters: new Family(CLUSTER_TYPE) }));
    state.listeners.begin();
    state.clusters.begin();
    const origin = `Gateway/${key}`;
    const { trustDomain, encryption, hbonePort } = snapshot.meshConfig;
    const virtualHosts: Json[] = [];
    for (const service of snapshot.services.values()) {
      if (service.waypoint?.gateway !== key || !service.waypoint.found) continue;
      for (const port of service.ports) {
        const routeName = hostPortName(service.fqdn, port.port);
        if (port.protocol !== 'TCP' || !inputs.routes.has(routeName)) continue;
        const inner = innerName(service, port);
        const policies = service.workloads.map((w) => snapshot.workloadPolicies.get(w));
        state.listeners.put(this.memo.get(`wl|${key}|${inner}`, [service, port, snapshot.identities, snapshot.workloads, ...policies], () => {
          const issues: TranslateIssue[] = [];
          const filters = serviceRbacFilters(service, port, policies, inputs.addresses, (x) => issues.push(x));
          const listener = { name: inner, internal_listener: {}, filter_chains: [{ filters: [hcmFilter(httpConnectionManager(inner, routeName, filters))] }] };
          return this.finish(LISTENER_TYPE, inner, listener, `Service/${service.key}`, [routeName], issues);
        }));
        state.clusters.put(this.memo.get(`wi|${inner}`, [], () => this.finish(CLUSTER_TYPE, inner, staticInternalCluster(inner, inner), origin, [], [])));
        virtualHosts.push({
          name: inner,
          domains: service.vips.map((vip) => `${vip.includes(':') ? `[${vip}]` : vip}:${port.port}`),
          routes: [{ match: { connect_matcher: {} }, route: { cluster: inner, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }],
        });
      }
    }
    const vhKey = JSON.stringify(virtualHosts);
    state.listeners.put(this.memo.get(`wh|${key}`, [vhKey, hbonePort, encryption, trustDomain], () => {
      const hcm = httpConnectionManager(HBONE_LISTENER, '', [], {
        codec_type: 'HTTP2',
        http2_protocol_options: { allow_connect: true },
        upgrade_configs: [{ upgrade_type: 'CONNECT' }],
      });
      delete hcm.rds;
      hcm.route_config = { name: HBONE_LISTENER, virtual_hosts: virtualHosts };
      hcm.http_filters = [ROUTER_FILTER];
      const chain: Json = { filters: [hcmFilter(hcm)] };
      if (encryption === 'hbone') chain.transport_socket = downstreamMtls(trustDomain);
      const listener = { name: HBONE_LISTENER, address: { socket_address: { address: '0.0.0.0', port_value: hbonePort } }, filter_chains: [chain] };
      return this.finish(LISTENER_TYPE, HBONE_LISTENER, listener, origin, [], []);
    }));
    state.listeners.put(this.memo.get('w|connect_originate_listener', [], () => {
      const listener = {
        name: CONNECT_ORIGINATE,
        internal_listener: {},
        listener_filters: [originalDstFilter()],
        filter_chains: [{ filters: [tcpProxyFilter(CONNECT_ORIGINATE, CONNECT_ORIGINATE, { tunneling_config: { hostname: '%DYNAMIC_METADATA(tunnel:destination)%' } })] }],
      };
      return this.finish(LISTENER_TYPE, CONNECT_ORIGINATE, listener, origin, [], []);
    }));
    state.clusters.put(this.memo.get(`w|connect_originate_cluster|${encryption}`, [trustDomain], () => {
      const cluster: Json = {
        name: CONNECT_ORIGINATE,
        type: 'ORIGINAL_DST',
        lb_policy: 'CLUSTER_PROVIDED',
        connect_timeout: { seconds: 5, nanos: 0 },
        upstream_bind_config: MARKED_UPSTREAM,
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
      };
      if (encryption === 'hbone') cluster.transport_socket = upstreamMtls(trustDomain);
      return this.finish(CLUSTER_TYPE, CONNECT_ORIGINATE, cluster, origin, [], []);
    }));
    state.listeners.end();
    state.clusters.end();
    const clusters = new Map([...this.clusters.map, ...state.clusters.map]);
    const client: ClientClass = { role: 'waypoint', namespace, name };
    return {
      key: clientClassKey(client),
      client,
      resources: new Map<string, ReadonlyMap<string, Built>>([
        [CLUSTER_TYPE, clusters],
        [ENDPOINT_TYPE, this.endpoints.map],
        [LISTENER_TYPE, state.listeners.map],
        [ROUTE_TYPE, inputs.routes],
        [SECRET_TYPE, inputs.secrets],
      ]),
    };
  }

  issues(): TranslateIssue[] {
    const all = [this.clusters, this.endpoints, ...[...this.perWaypoint.values()].flatMap((s) => [s.listeners, s.clusters])];
    return all.flatMap((f) => f.issues());
  }
}

