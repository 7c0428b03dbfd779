// The mesh of the HBONE tests: a CA with SPIFFE SVIDs, two nodes' redirector resources (NodeConfig,
// Workloads, EndpointPolicies) for pods on two simulated nodes, and certificates as the control
// plane would issue them to each node.
import { CertificateAuthority, workloadSpiffeId } from '../../xds/ca/index.js';
import type { EndpointPolicy__Output, NodeConfig__Output, PolicyEntry__Output, Workload__Output } from '../../proto/skiff/v1alpha1/wire.js';
import type { TunnelCertificate } from '../../redirector/tunnel/hbone.js';
import type { NodeResources } from './hbone-node.js';

export const TRUST_DOMAIN = 'cluster.local';

export function svid(ca: CertificateAuthority, spiffeId: string, ttlMs = 3600_000): TunnelCertificate {
  const issued = ca.issueWithKey(spiffeId, ttlMs);
  return {
    spiffeId,
    certChainPem: issued.certChainPem,
    privateKeyPem: issued.privateKeyPem,
    rootCaPem: ca.rootPem,
    serial: issued.serial,
    notAfterMs: issued.notAfter.getTime(),
  };
}

export interface TestPod {
  name: string;
  ip: string;
  node: string;
  identity: number;
}

export function spiffeOf(pod: TestPod): string {
  return workloadSpiffeId(TRUST_DOMAIN, 'shop', pod.name);
}

export function workload(pod: TestPod): Workload__Output {
  return {
    namespace: 'shop',
    name: pod.name,
    uid: `uid-${pod.name}`,
    ips: [pod.ip],
    node_name: pod.node,
    identity: pod.identity,
    spiffe_id: spiffeOf(pod),
    service_account: pod.name,
    labels: { app: pod.name },
    ready: true,
  };
}

export function nodeConfig(node: string, nodes: { name: string; ip: string; cidr: string }[]): NodeConfig__Output {
  return {
    node_name: node,
    proxy_port: 15001,
    nodes: nodes.map((n) => ({ name: n.name, internal_ip: n.ip, pod_cidrs: [n.cidr], wireguard_public_key: '', wireguard_next_public_key: '' })),
    encryption: 'hbone',
    trust_domain: TRUST_DOMAIN,
    hbone_port: 15008,
  };
}

/** An EndpointPolicy whose authorization layer denies these identities (AuthorizationPolicy DENY by principal). */
export function denyPolicy(pod: TestPod, denied: number[]): EndpointPolicy__Output {
  const entry: PolicyEntry__Output = {
    any_peer: false,
    identities: denied,
    cidrs: [],
    protocol: 'TCP',
    port: 0,
    end_port: 0,
    verdict: 'DENY',
    proxy_port: 0,
    origin: 'AuthorizationPolicy/shop/deny-intruder',
    via_waypoint: false,
  };
  const open = { enforced: false, entries: [] };
  return { workload: `shop/${pod.name}`, identity: pod.identity, ingress: open, egress: open, authorization: { enforced: false, entries: [entry] } };
}

/** The pods of the HBONE tests: two clients on node a (one denied by web's policy), web on node b. */
export const client: TestPod = { name: 'client', ip: '10.1.0.10', node: 'a', identity: 1001 };
export const intruder: TestPod = { name: 'intruder', ip: '10.1.0.11', node: 'a', identity: 1002 };
export const web: TestPod = { name: 'web', ip: '10.2.0.10', node: 'b', identity: 1003 };
export const NODES = [
  { name: 'a', ip: '172.31.1.1', cidr: '10.1.0.0/24' },
  { name: 'b', ip: '172.31.1.2', cidr: '10.2.0.0/24' },
];

/** One node's resources: every workload, web's deny policy on node b, and the node's certificates. */
export function nodeResources(node: string, certificates: TunnelCertificate[]): NodeResources {
  return {
    nodeConfig: nodeConfig(node, NODES),
    workloads: [client, intruder, web].map(workload),
    policies: node === 'b' ? [denyPolicy(web, [intruder.identity])] : [],
    certificates,
  };
}

/** The certificates the control plane issues to node a (client, intruder) and node b (web). */
export function issueNodeCertificates(ca: CertificateAuthority): { a: TunnelCertificate[]; b: TunnelCertificate[] } {
  return { a: [svid(ca, spiffeOf(client)), svid(ca, spiffeOf(intruder))], b: [svid(ca, spiffeOf(web))] };
}
