// ClusterLoadAssignments: the endpoints of one Service port, grouped by locality (zone), with
// health from the EndpointSlice conditions (ready → HEALTHY, serving but terminating → DRAINING,
// otherwise UNHEALTHY), and locality weights as gRPC clients need them.
import type { EndpointView, ServicePortView, ServiceView } from '../../config/snapshot/types.js';
import { clusterName } from './names.js';
import type { Json } from './types.js';

function healthOf(e: EndpointView): string {
  if (e.ready) return 'HEALTHY';
  if (e.serving && e.terminating) return 'DRAINING';
  return 'UNHEALTHY';
}

/** An LbEndpoint without health (a new object each call: the health is added to it): how a client reaches one endpoint. */
export type EndpointShape = (e: EndpointView) => Json;

/** Straight to the endpoint's address and port. */
export const directEndpoint: EndpointShape = (e) => ({
  endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
});

/** The load assignment of the EDS cluster of one Service port. */
export function loadAssignment(service: ServiceView, port: ServicePortView, shape: EndpointShape = directEndpoint): Json {
  const byZone = new Map<string, Json[]>();
  for (const e of port.endpoints) {
    const zone = e.zone ?? '';
    let list = byZone.get(zone);
    if (!list) byZone.set(zone, (list = []));
    const lbEndpoint = shape(e);
    lbEndpoint.health_status = healthOf(e);
    list.push(lbEndpoint);
  }
  // gRPC clients ignore a locality without a weight; weighting by endpoint count keeps the
  // per-endpoint share even across zones (Envoy uses it only with locality-weighted LB).
  const endpoints = [...byZone].map(([zone, lbEndpoints]) => ({
    locality: zone ? { zone } : {},
    lb_endpoints: lbEndpoints,
    load_balancing_weight: { value: lbEndpoints.length },
  }));
  return { cluster_name: clusterName(service.fqdn, port.port), endpoints };
}
