// The HBONE tunnel's view of the mesh (HboneDirectory) built from the redirector's xDS resources:
// Workloads (by IP, with their node's InternalIP from NodeConfig), EndpointPolicies (the
// authorization layer, by numeric identity) and the WorkloadCertificates this node was issued.
// Waypoints are given separately (which workloads use which waypoint's HBONE address): the
// redirector's resources do not carry that yet.
import type { EndpointPolicy__Output, NodeConfig__Output, Workload__Output } from '../../proto/skiff/v1alpha1/wire.js';
import { authorizeIdentities } from './hbone-authz.js';
import type { HboneDirectory, MeshWorkload, TunnelCertificate, Verdict, WaypointTarget } from './hbone.js';

export interface DirectoryResources {
  nodeConfig: NodeConfig__Output;
  workloads: Workload__Output[];
  policies: EndpointPolicy__Output[];
  certificates: TunnelCertificate[];
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
