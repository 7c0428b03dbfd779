// ClusterLoadAssignments: the endpoints of one Service port, grouped by locality (zone), with
// health from the EndpointSlice conditions (ready → HEALTHY, serving but terminating → DRAINING,
// otherwise UNHEALTHY), and locality weights as gRPC clients need them.
import type protobuf from 'protobufjs';
import type { EndpointView, ServicePortView, ServiceView } from '../../config/snapshot/types.js';
import { lookupType } from '../validate/index.js';
import { clusterName } from './names.js';
import type { Json } from './types.js';

function healthOf(e: EndpointView): string {
  if (e.ready) return 'HEALTHY';
  if (e.serving && e.terminating) return 'DRAINING';
  return 'UNHEALTHY';
}

/** An LbEndpoint without health (a new object each call: the health is added to it): how a client reaches one endpoint. */
export type EndpointShape = (e: EndpointView) => Json;

/** The endpoints of a port by zone ('' for none), in the order the zones first appear. */
function byZone<T>(port: ServicePortView, make: (e: EndpointView) => T): Map<string, T[]> {
  const zones = new Map<string, T[]>();
  for (const e of port.endpoints) {
    const zone = e.zone ?? '';
    let list = zones.get(zone);
    if (!list) zones.set(zone, (list = []));
    list.push(make(e));
  }
  return zones;
}

/** The load assignment of the EDS cluster of one Service port, its endpoints shaped by `shape`. */
export function loadAssignment(service: ServiceView, port: ServicePortView, shape: EndpointShape): Json {
  const zones = byZone(port, (e) => {
    const lbEndpoint = shape(e);
    lbEndpoint.health_status = healthOf(e);
    return lbEndpoint;
  });
  // gRPC clients ignore a locality without a weight; weighting by endpoint count keeps the
  // per-endpoint share even across zones (Envoy uses it only with locality-weighted LB).
  const endpoints = [...zones].map(([zone, lbEndpoints]) => ({
    locality: zone ? { zone } : {},
    lb_endpoints: lbEndpoints,
    load_balancing_weight: { value: lbEndpoints.length },
  }));
  return { cluster_name: clusterName(service.fqdn, port.port), endpoints };
}

type Ctor = new () => Json;

/** The message constructors and health values of a ClusterLoadAssignment, looked up once. */
interface Endpoints {
  assignment: Ctor;
  locality: Ctor;
  localityEndpoints: Ctor;
  lbEndpoint: Ctor;
  endpoint: Ctor;
  address: Ctor;
  socketAddress: Ctor;
  weight: Ctor;
  health: Record<string, number>;
}

let endpointTypes: Endpoints | undefined;

function ctor(name: string): Ctor {
  return lookupType(name).setup().ctor as unknown as Ctor;
}

function typesOf(): Endpoints {
  if (endpointTypes) return endpointTypes;
  const lbEndpoint = lookupType('envoy.config.endpoint.v3.LbEndpoint');
  endpointTypes = {
    assignment: ctor('envoy.config.endpoint.v3.ClusterLoadAssignment'),
    locality: ctor('envoy.config.core.v3.Locality'),
    localityEndpoints: ctor('envoy.config.endpoint.v3.LocalityLbEndpoints'),
    lbEndpoint: ctor('envoy.config.endpoint.v3.LbEndpoint'),
    endpoint: ctor('envoy.config.endpoint.v3.Endpoint'),
    address: ctor('envoy.config.core.v3.Address'),
    socketAddress: ctor('envoy.config.core.v3.SocketAddress'),
    weight: ctor('google.protobuf.UInt32Value'),
    health: (lbEndpoint.fields.health_status?.resolvedType as protobuf.Enum).values,
  };
  return endpointTypes;
}

/**
 * The load assignment of a Service port whose clients reach each endpoint straight at its address
 * and port (what `loadAssignment` makes of such endpoints), built as the protobufjs messages it
 * converts to: the 100,000s of endpoints of a mesh skip the plain objects and their conversion.
 */
export function directLoadAssignment(service: ServiceView, port: ServicePortView): Json {
  const t = typesOf();
  const zones = byZone(port, (e) => {
    const socketAddress = new t.socketAddress();
    socketAddress.address = e.address;
    socketAddress.port_value = e.port >>> 0;
    const address = new t.address();
    address.socket_address = socketAddress;
    const endpoint = new t.endpoint();
    endpoint.address = address;
    const lbEndpoint = new t.lbEndpoint();
    lbEndpoint.endpoint = endpoint;
    lbEndpoint.health_status = t.health[healthOf(e)];
    return lbEndpoint;
  });
  const assignment = new t.assignment();
  assignment.cluster_name = clusterName(service.fqdn, port.port);
  const endpoints: Json[] = [];
  for (const [zone, lbEndpoints] of zones) {
    const locality = new t.locality();
    if (zone) locality.zone = zone;
    const weight = new t.weight();
    weight.value = lbEndpoints.length;
    const entry = new t.localityEndpoints();
    entry.locality = locality;
    entry.lb_endpoints = lbEndpoints;
    entry.load_balancing_weight = weight;
    endpoints.push(entry);
  }
  assignment.endpoints = endpoints;
  return assignment;
}
