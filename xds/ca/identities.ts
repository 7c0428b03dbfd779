// Who may hold which identity. A caller proves it is node N (or waypoint W) with its bootstrap
// token; node N may then hold the SVIDs of the workloads whose Pod spec.nodeName is N in the
// current MeshSnapshot, and its own node certificate; waypoint W holds its own identity. Issuance
// for a key the caller keeps goes through a verified PKCS#10 request; SVIDs the control plane
// pushes (SDS, the redirector's WorkloadCertificate) come from the per-identity cache.
import type { MeshSnapshot } from '../../config/snapshot/types.js';
import { parseGatewayDuration } from '../translate/duration.js';
import { type CertificateAuthority, type IssuedCertificate, nodeSpiffeId, workloadSpiffeId } from './authority.js';
import { type BootstrapTokens, nodeSubject, waypointSubject } from './attest.js';
import { DEFAULT_TTL_MS, type SvidCache } from './svids.js';
import { verifyCsr } from './x509.js';

/** Why an issuance was refused, with the gRPC status it maps to. */
export class IssuanceError extends Error {
  constructor(
    readonly code: 'unauthenticated' | 'permission-denied' | 'not-found' | 'invalid-argument',
    message: string,
  ) {
    super(message);
  }
}

/** The identity of a node proxy's own `default` certificate: `spiffe://<td>/ns/skiff-system/sa/skiff-node-proxy-<node>`. */
export function nodeProxySpiffeId(trustDomain: string, node: string): string {
  return workloadSpiffeId(trustDomain, 'skiff-system', `skiff-node-proxy-${node}`);
}

/** A waypoint's identity: the service account named after it in its namespace (as Istio's waypoints). */
export function waypointSpiffeId(trustDomain: string, namespace: string, name: string): string {
  return workloadSpiffeId(trustDomain, namespace, name);
}

/** Lifetime of workload certificates from the MeshConfig (certificateTTL), default 24h. */
export function certificateTtlMs(mesh: MeshSnapshot): number {
  const ms = parseGatewayDuration(mesh.meshConfig.certificateTTL);
  return ms instanceof Error || ms <= 0 ? DEFAULT_TTL_MS : ms;
}

/** The SPIFFE IDs of the workloads on a node, each with the workload keys (`namespace/name`) holding it, sorted. */
export function nodeWorkloadIdentities(mesh: MeshSnapshot, node: string): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  for (const workload of mesh.workloads.values()) {
    if (workload.nodeName !== node) continue;
    const list = byId.get(workload.spiffeId);
    if (list) list.push(workload.key);
    else byId.set(workload.spiffeId, [workload.key]);
  }
  return new Map([...byId.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, keys]) => [id, keys.sort()]));
}

export class WorkloadIdentities {
  constructor(
    readonly ca: CertificateAuthority,
    readonly tokens: BootstrapTokens,
    readonly svids: SvidCache,
  ) {}

  /** Whether the token proves the caller is this node. */
  isNode(node: string, token: string | undefined): boolean {
    return node !== '' && this.tokens.verify(nodeSubject(node), token);
  }

  /** Whether the token proves the caller is this waypoint. */
  isWaypoint(namespace: string, name: string, token: string | undefined): boolean {
    return this.tokens.verify(waypointSubject(namespace, name), token);
  }

  /**
   * Issues a certificate for the key in `csrPem` to a caller claiming `node` with `token`: for the
   * workload `namespace/name` on that node, or (workload '') the node's own identity.
   */
  issueForNode(mesh: MeshSnapshot, node: string, token: string | undefined, workload: string, csrPem: string): IssuedCertificate {
    if (!this.isNode(node, token)) throw new IssuanceError('unauthenticated', `no valid bootstrap token for node '${node}'`);
    let spiffeId: string;
    if (workload === '') {
      spiffeId = nodeSpiffeId(mesh.meshConfig.trustDomain, node);
    } else {
      const view = mesh.workloads.get(workload);
      if (!view) throw new IssuanceError('not-found', `workload ${workload} is not in the mesh`);
      if (view.nodeName !== node) throw new IssuanceError('permission-denied', `workload ${workload} runs on node '${view.nodeName ?? ''}', not on '${node}'`);
      spiffeId = view.spiffeId;
    }
    let request;
    try {
      request = verifyCsr(csrPem);
    } catch (error) {
      throw new IssuanceError('invalid-argument', (error as Error).message);
    }
    const other = request.uris.find((uri) => uri !== spiffeId);
    if (other) throw new IssuanceError('invalid-argument', `the request asks for ${other}, but the identity is ${spiffeId}`);
    return this.ca.issue(spiffeId, request.publicKey, certificateTtlMs(mesh));
  }

  /** Keeps the cache's lifetime in step with the mesh's certificateTTL. */
  follow(mesh: MeshSnapshot): void {
    const ttl = certificateTtlMs(mesh);
    if (this.svids.ttlMs !== ttl) this.svids.ttlMs = ttl;
  }
}
