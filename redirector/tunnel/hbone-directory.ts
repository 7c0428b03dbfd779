// The HBONE tunnel's view of the mesh (HboneDirectory) built from the redirector's xDS resources:
// Workloads (by IP, with their node's InternalIP from NodeConfig), EndpointPolicies (the
// authorization layer, by numeric identity) and the WorkloadCertificates this node was issued.
// Waypoints: a Service's VIPs whose Service uses a waypoint (Service.waypoint with an address) are
// destinations too, sent to the waypoint's HBONE listener (the CONNECT authority stays VIP:port, which
// the waypoint dispatches on); a VIP of a service whose waypoint has no address is no destination, so
// its flows are refused (fail closed). `waypoints` can still send a workload's own address to one.
import type { EndpointPolicy__Output, NodeConfig__Output, Service__Output, Workload__Output } from '../../proto/skiff/v1alpha1/wire.js';
import { authorizeIdentities } from './hbone-authz.js';
import type { HboneDirectory, MeshWorkload, TunnelCertificate, Verdict, WaypointTarget } from './hbone.js';

export interface DirectoryResources {
  nodeConfig: NodeConfig__Output;
  workloads: Workload__Output[];
  policies: EndpointPolicy__Output[];
  certificates: TunnelCertificate[];
  /** The mesh's Services: the VIPs of those that use a waypoint become destinations (to it). */
  services?: Iterable<Service__Output>;
  /** `namespace/name` of a workload → the waypoint its inbound traffic goes through. */
  waypoints?: Map<string, WaypointTarget>;
}

export class ResourceDirectory implements HboneDirectory {
  #byIp = new Map<string, MeshWorkload & { key: string }>();
  #identitiesBySpiffe = new Map<string, Set<number>>();
  #policies = new Map<string, EndpointPolicy__Output>();
  #certificates = new Map<string, TunnelCertificate>();

  update(resources: DirectoryResources): void {
    const nodeAddress = new Map(resources.nodeConfig.nodes.map((n) => [n.name, n.internal_ip]));
    this.#byIp = new Map();
    this.#identitiesBySpiffe = new Map();
    for (const w of resources.workloads) {
      const key = `${w.namespace}/${w.name}`;
      const entry = { key, namespace: w.namespace, name: w.name, spiffeId: w.spiffe_id, nodeAddress: nodeAddress.get(w.node_name) ?? '', waypoint: resources.waypoints?.get(key) };
      for (const ip of w.ips) this.#byIp.set(ip, entry);
      if (w.spiffe_id) {
        const ids = this.#identitiesBySpiffe.get(w.spiffe_id) ?? new Set<number>();
        ids.add(w.identity);
        this.#identitiesBySpiffe.set(w.spiffe_id, ids);
      }
    }
    for (const s of resources.services ?? []) {
      const wp = s.waypoint;
      if (!wp?.address || !wp.spiffe_id) continue;
      // no identity of its own (the HBONE inbound never takes a VIP as a local destination)
      const entry = { key: `${s.namespace}/${s.name}`, namespace: s.namespace, name: s.name, spiffeId: '', nodeAddress: '', waypoint: { address: wp.address, port: wp.port, spiffeId: wp.spiffe_id } };
      for (const vip of s.vips) this.#byIp.set(vip, entry);
    }
    this.#policies = new Map(resources.policies.map((p) => [p.workload, p]));
    this.#certificates = new Map(resources.certificates.map((c) => [c.spiffeId, c]));
  }

  workloadByIp(ip: string): MeshWorkload | undefined {
    return this.#byIp.get(ip);
  }

  certificate(spiffeId: string): TunnelCertificate | undefined {
    return this.#certificates.get(spiffeId);
  }

  /** The SPIFFE IDs this node holds certificates for. */
  identities(): string[] {
    return [...this.#certificates.keys()];
  }

  certificates(): TunnelCertificate[] {
    return [...this.#certificates.values()];
  }

  authorize(clientSpiffeId: string, destination: MeshWorkload, port: number): Verdict {
    const key = `${destination.namespace}/${destination.name}`;
    return authorizeIdentities(this.#policies.get(key)?.authorization ?? undefined, this.#identitiesBySpiffe.get(clientSpiffeId) ?? new Set(), port);
  }
}
