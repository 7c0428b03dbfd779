// Mesh snapshot → the resources of each node's redirector (class `redirector/<node>`): its
// NodeConfig, every Workload, Service and Identity of the mesh (shared by all nodes, encoded once),
// and an EndpointPolicy per workload on the node. Encoded bytes are memoized by the snapshot's view
// objects (unchanged views are the same objects across incremental snapshots), so a small change
// re-encodes little.
//
// Fail closed on L7: the datapath decides "needs L7" in from_pod, on the *source* endpoint's egress
// policy entry for the destination after DNAT (backend identity and target port), and to_pod never
// steers. So every destination (workload port) in the needs-L7 set, and every backend of a service
// port in it, becomes an egress allow entry with proxy_port in the EndpointPolicy of every local
// workload, for exactly the flows its network policy allows (deny entries still win).
//
// Waypoints: a Service that uses one carries its address (a workload of the waypoint Gateway, label
// `gateway.networking.k8s.io/gateway-name` in the Gateway's namespace, on MeshConfig hbonePort,
// with that workload's SPIFFE ID), and the L7 entries that exist only because of a waypoint are
// marked via_waypoint: a node tunnelling with HBONE carries those flows to the waypoint instead of
// its node proxy.
import { BlockList, isIPv4 } from 'node:net';
import type {
  DirectionPolicy,
  MeshSnapshot,
  PeerSet,
  PolicyRule,
  PortRange,
  ServiceView,
  WorkloadPolicy,
  WorkloadView,
  IdentityView,
  L4Protocol,
  L7Reason,
} from '../../config/snapshot/types.js';
import {
  encodeRedirectorResource,
  RedirectorType,
  type DirectionPolicy as WireDirectionPolicy,
  type PolicyEntry,
} from '../../proto/skiff/v1alpha1/wire.js';
import type { WaypointAddress } from '../../proto/skiff/v1alpha1/generated/skiff/v1alpha1/WaypointAddress.js';
import type { SnapshotCache, SnapshotInput } from '../index.js';

/** The class key of a node's redirector (defaultClassKey of a `redirector` client). */
export function redirectorClassKey(node: string): string {
  return `redirector/${node}`;
}

/** A destination whose flows need L7: a workload identity (or a bare address) on a port (0 = all). */
interface L7Target {
  identity?: number;
  cidr?: string;
  protocol: L4Protocol;
  port: number;
  origin: string;
  /** Every reason for it is a waypoint the destination's service uses. */
  viaWaypoint: boolean;
}

/** The label Istio (and skiff) put on a waypoint Gateway's pods. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

type Resource = { name: string; value: Uint8Array };

const encoded = {
  workloads: new WeakMap<WorkloadView, Resource>(),
  services: new WeakMap<ServiceView, { l7Key: string; waypointKey: string; resource: Resource }>(),
  identities: new WeakMap<IdentityView, Resource>(),
  policies: new WeakMap<WorkloadPolicy, { l7Key: string; proxyPort: number; resource: Resource }>(),
};

function memo<K extends object>(cache: WeakMap<K, Resource>, view: K, make: () => Resource): Resource {
  let r = cache.get(view);
  if (!r) {
    r = make();
    cache.set(view, r);
  }
  return r;
}

function workloadResource(w: WorkloadView): Resource {
  return memo(encoded.workloads, w, () => ({
    name: w.key,
    value: encodeRedirectorResource(RedirectorType.workload, {
      namespace: w.namespace,
      name: w.name,
      uid: w.uid ?? '',
      ips: [...w.ips],
      node_name: w.nodeName ?? '',
      identity: w.identity,
      spiffe_id: w.spiffeId,
      service_account: w.serviceAccount,
      labels: { ...w.labels },
      ready: w.ready,
    }),
  }));
}

/**
 * Per waypoint Gateway (`namespace/name`), where its HBONE listener is: the ready workload labelled
 * with its name in its namespace (the first by key when several; '' address when none is).
 */
export function waypointAddresses(snapshot: MeshSnapshot): Map<string, WaypointAddress> {
  const gateways = new Set<string>();
  for (const s of snapshot.services.values()) if (s.waypoint) gateways.add(s.waypoint.gateway);
  const out = new Map<string, WaypointAddress>();
  if (gateways.size === 0) return out;
  const { hbonePort } = snapshot.meshConfig;
  for (const gateway of gateways) out.set(gateway, { gateway, address: '', port: hbonePort, spiffe_id: '' });
  const candidates = [...snapshot.workloads.values()]
    .filter((w) => w.ready && w.ips.length > 0 && gateways.has(`${w.namespace}/${w.labels[GATEWAY_NAME_LABEL] ?? ''}`))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const w of candidates) {
    const target = out.get(`${w.namespace}/${w.labels[GATEWAY_NAME_LABEL] ?? ''}`) as WaypointAddress;
    if (target.address) continue;
    target.address = w.ips.find(isIPv4) ?? (w.ips[0] as string);
    target.spiffe_id = w.spiffeId;
  }
  return out;
}

function serviceResource(s: ServiceView, snapshot: MeshSnapshot, waypoints: ReadonlyMap<string, WaypointAddress>): Resource {
  // needs_l7 depends on the L7 set too, and the waypoint on the waypoint's workloads, which are not
  // part of the view: key the memo on them
  const l7Ports = s.ports.filter((p) => snapshot.serviceL7.has(`${s.key}|${p.port}/${p.protocol}`)).map((p) => p.port);
  const waypoint = s.waypoint ? waypoints.get(s.waypoint.gateway) : undefined;
  const cached = encoded.services.get(s);
  const l7Key = l7Ports.join(',');
  const waypointKey = waypoint ? JSON.stringify(waypoint) : '';
  if (cached && cached.l7Key === l7Key && cached.waypointKey === waypointKey) return cached.resource;
  const value = encodeRedirectorResource(RedirectorType.service, {
    namespace: s.namespace,
    name: s.name,
    vips: [...s.vips],
    waypoint: waypoint ?? null,
    ports: s.ports.map((p) => ({
      name: p.name,
      port: p.port,
      protocol: p.protocol,
      needs_l7: l7Ports.includes(p.port),
      backends: p.endpoints.map((e) => ({
        address: e.address,
        port: e.port,
        node_name: e.nodeName ?? '',
        pod: e.pod ?? '',
        ready: e.ready,
        serving: e.serving,
        terminating: e.terminating,
      })),
    })),
  });
  const resource = { name: s.key, value };
  encoded.services.set(s, { l7Key, waypointKey, resource });
  return resource;
}

function identityResource(i: IdentityView): Resource {
  return memo(encoded.identities, i, () => ({
    name: String(i.id),
    value: encodeRedirectorResource(RedirectorType.identity, {
      id: i.id,
      namespace: i.namespace,
      labels: { ...i.labels },
      reserved: i.reserved ?? '',
    }),
  }));
}

/** Every destination of the needs-L7 set: workload ports, and the backends of service ports. */
export function l7Targets(snapshot: MeshSnapshot): L7Target[] {
  const targets = new Map<string, L7Target>();
  // a target is via a waypoint only when every mark that makes it is (any other reason needs the node proxy)
  const add = (t: L7Target) => {
    const key = `${t.identity ?? t.cidr}|${t.protocol}|${t.port}`;
    const before = targets.get(key);
    targets.set(key, before && !before.viaWaypoint ? { ...t, viaWaypoint: false } : t);
  };
  const onlyWaypoints = (reasons: readonly L7Reason[]) => reasons.length > 0 && reasons.every((r) => r.kind === 'waypoint');
  for (const mark of snapshot.l7.values()) {
    const w = snapshot.workloads.get(mark.workload);
    if (w) add({ identity: w.identity, protocol: mark.protocol, port: mark.port, origin: `l7 ${mark.key}`, viaWaypoint: onlyWaypoints(mark.reasons) });
  }
  for (const mark of snapshot.serviceL7.values()) {
    const service = snapshot.services.get(mark.service);
    const port = service?.ports.find((p) => p.port === mark.port && p.protocol === mark.protocol);
    const viaWaypoint = onlyWaypoints(mark.reasons);
    for (const e of port?.endpoints ?? []) {
      const wk = snapshot.workloadsByIp.get(e.address);
      const w = wk ? snapshot.workloads.get(wk) : undefined;
      const origin = `l7 ${mark.key}`;
      if (w) add({ identity: w.identity, protocol: mark.protocol, port: e.port, origin, viaWaypoint });
      else add({ cidr: `${e.address}/${isIPv4(e.address) ? 32 : 128}`, protocol: mark.protocol, port: e.port, origin, viaWaypoint });
    }
  }
  return [...targets.values()].sort((a, b) => (a.identity ?? 0) - (b.identity ?? 0) || a.port - b.port);
}

function cidrContains(cidr: string, address: string): boolean {
  const [net, bits] = cidr.split('/') as [string, string | undefined];
  const type = isIPv4(net) ? 'ipv4' : 'ipv6';
  if ((type === 'ipv4') !== isIPv4(address)) return false;
  const list = new BlockList();
  list.addSubnet(net, Number(bits ?? (type === 'ipv4' ? 32 : 128)), type);
  return list.check(address, type);
}

/** The peer identities of a rule, with AuthorizationPolicy exclusions applied. */
function peerIdentities(peers: PeerSet, snapshot: MeshSnapshot): { any: boolean; identities: number[] } {
  const excluded = new Set(peers.not?.identities ?? []);
  if (excluded.size === 0) return { any: peers.any, identities: [...peers.identities] };
  const base = peers.any ? [...snapshot.identities.keys()] : peers.identities;
  return { any: false, identities: base.filter((id) => !excluded.has(id)) };
}

/** The port ranges a rule applies to; [] when its named ports resolved to none (it matches nothing). */
function ruleRanges(rule: PolicyRule): readonly PortRange[] {
  if (rule.ports.length > 0) return rule.ports;
  if (rule.namedPorts.length > 0) return [];
  return [{ protocol: 'ANY', port: 0, endPort: 0 }];
}

function ruleEntries(rule: PolicyRule, snapshot: MeshSnapshot, proxyPort: number): PolicyEntry[] {
  // Istio DENY with operations denies some requests only: the proxy does it (the flow is in the L7 set)
  if (rule.verdict === 'deny' && rule.http.length > 0) return [];
  const peers = peerIdentities(rule.peers, snapshot);
  if (!peers.any && peers.identities.length === 0 && rule.peers.cidrs.length === 0) return [];
  const origin = `${rule.origin.policy} ${rule.origin.field}`;
  return ruleRanges(rule).map((range) => ({
    any_peer: peers.any,
    identities: peers.identities,
    cidrs: rule.peers.cidrs.map((c) => ({ cidr: c.cidr, except: [...c.except] })),
    protocol: range.protocol === 'ANY' ? 'PROTOCOL_ANY' : range.protocol,
    port: range.port,
    end_port: range.port === 0 ? 0 : Math.max(range.endPort, range.port),
    verdict: rule.verdict === 'allow' ? 'ALLOW' : 'DENY',
    proxy_port: rule.verdict === 'allow' && rule.http.length > 0 ? proxyPort : 0,
    origin,
  }));
}

function directionPolicy(d: DirectionPolicy, snapshot: MeshSnapshot, proxyPort: number): WireDirectionPolicy {
  return { enforced: d.selected, entries: d.rules.flatMap((r) => ruleEntries(r, snapshot, proxyPort)) };
}

function ruleAllowsPeer(rule: PolicyRule, target: L7Target, snapshot: MeshSnapshot): boolean {
  const peers = peerIdentities(rule.peers, snapshot);
  if (peers.any) return true;
  if (target.identity !== undefined) return peers.identities.includes(target.identity);
  const address = (target.cidr as string).split('/')[0] as string;
  return rule.peers.cidrs.some((c) => cidrContains(c.cidr, address) && !c.except.some((e) => cidrContains(e, address)));
}

/** The part of a rule's port range that a target (one port, or all) falls in, if any. */
function intersect(range: PortRange, target: L7Target): { port: number; end: number } | undefined {
  if (range.protocol !== 'ANY' && range.protocol !== target.protocol) return undefined;
  if (target.port === 0) return { port: range.port, end: range.port === 0 ? 0 : Math.max(range.endPort, range.port) };
  if (range.port === 0 || (target.port >= range.port && target.port <= Math.max(range.endPort, range.port))) {
    return { port: target.port, end: target.port };
  }
  return undefined;
}

/** Egress allow entries with proxy_port for the L7 targets, within what the egress policy allows. */
function l7Entries(egress: DirectionPolicy, targets: L7Target[], snapshot: MeshSnapshot, proxyPort: number): PolicyEntry[] {
  const entries: PolicyEntry[] = [];
  for (const t of targets) {
    const peer = t.identity !== undefined ? { any_peer: false, identities: [t.identity], cidrs: [] } : { any_peer: false, identities: [], cidrs: [{ cidr: t.cidr as string, except: [] }] };
    const entry = (port: number, end: number): PolicyEntry => ({
      ...peer,
      protocol: t.protocol,
      port,
      end_port: end,
      verdict: 'ALLOW',
      proxy_port: proxyPort,
      origin: t.origin,
      via_waypoint: t.viaWaypoint,
    });
    if (!egress.selected) {
      entries.push(entry(t.port, t.port));
      continue;
    }
    for (const rule of egress.rules) {
      if (rule.verdict !== 'allow' || !ruleAllowsPeer(rule, t, snapshot)) continue;
      for (const range of ruleRanges(rule)) {
        const hit = intersect(range, t);
        if (hit) entries.push(entry(hit.port, hit.end));
      }
    }
  }
  return entries;
}

function endpointPolicyResource(wp: WorkloadPolicy, snapshot: MeshSnapshot, targets: L7Target[], l7Key: string): Resource {
  const proxyPort = snapshot.meshConfig.proxyPort;
  // exclusions (`not`) are resolved against every identity of the snapshot: not memoizable by the view
  const memoizable = ![wp.ingress, wp.egress, wp.authorization].some((d) => d.rules.some((r) => (r.peers.not?.identities.length ?? 0) > 0));
  const cached = encoded.policies.get(wp);
  if (memoizable && cached && cached.l7Key === l7Key && cached.proxyPort === proxyPort) return cached.resource;
  const egress = directionPolicy(wp.egress, snapshot, proxyPort);
  egress.entries = [...(egress.entries ?? []), ...l7Entries(wp.egress, targets, snapshot, proxyPort)];
  const resource = {
    name: wp.workload,
    value: encodeRedirectorResource(RedirectorType.endpointPolicy, {
      workload: wp.workload,
      identity: wp.identity,
      ingress: directionPolicy(wp.ingress, snapshot, proxyPort),
      egress,
      authorization: directionPolicy(wp.authorization, snapshot, proxyPort),
    }),
  };
  encoded.policies.set(wp, { l7Key, proxyPort, resource });
  return resource;
}

/** The WireGuard public keys nodes published (WireGuardKeyService), by node name. */
export type NodeWireGuardKeys = ReadonlyMap<string, { publicKey: string; nextPublicKey: string }>;

/** A node's NodeConfig: the mesh settings and every node, with the WireGuard keys nodes published. */
export function nodeConfigResource(node: string, snapshot: MeshSnapshot, wireguardKeys: NodeWireGuardKeys = new Map()): Resource {
  const mc = snapshot.meshConfig;
  return {
    name: node,
    value: encodeRedirectorResource(RedirectorType.nodeConfig, {
      node_name: node,
      proxy_port: mc.proxyPort,
      nodes: [...snapshot.nodes.values()].map((n) => ({
        name: n.name,
        internal_ip: n.internalIP ?? '',
        pod_cidrs: [...n.podCIDRs],
        wireguard_public_key: wireguardKeys.get(n.name)?.publicKey ?? '',
        wireguard_next_public_key: wireguardKeys.get(n.name)?.nextPublicKey ?? '',
      })),
      encryption: mc.encryption,
      trust_domain: mc.trustDomain,
      hbone_port: mc.hbonePort,
    }),
  };
}

/** The nodes that get a redirector class: declared Nodes and nodes named by workloads. */
export function redirectorNodes(snapshot: MeshSnapshot): string[] {
  const names = new Set(snapshot.nodes.keys());
  for (const w of snapshot.workloads.values()) if (w.nodeName) names.add(w.nodeName);
  return [...names].sort();
}

/** What every node's class shares, computed once per snapshot. */
interface Shared {
  workloads: Resource[];
  services: Resource[];
  identities: Resource[];
  targets: L7Target[];
  l7Key: string;
}

const sharedBySnapshot = new WeakMap<MeshSnapshot, Shared>();

function shared(snapshot: MeshSnapshot): Shared {
  let s = sharedBySnapshot.get(snapshot);
  if (!s) {
    const targets = l7Targets(snapshot);
    const waypoints = waypointAddresses(snapshot);
    s = {
      workloads: [...snapshot.workloads.values()].map(workloadResource),
      services: [...snapshot.services.values()].filter((v) => v.vips.length > 0).map((v) => serviceResource(v, snapshot, waypoints)),
      identities: [...snapshot.identities.values()].map(identityResource),
      targets,
      l7Key: JSON.stringify(targets),
    };
    sharedBySnapshot.set(snapshot, s);
  }
  return s;
}

/** The SnapshotInput of one node's redirector class (the shared resources are computed once per snapshot). */
export function redirectorClassResources(snapshot: MeshSnapshot, node: string): SnapshotInput {
  const { workloads, services, identities, targets, l7Key } = shared(snapshot);
  const policies: Resource[] = [];
  for (const w of snapshot.workloads.values()) {
    const wp = snapshot.workloadPolicies.get(w.key);
    if (w.nodeName === node && wp) policies.push(endpointPolicyResource(wp, snapshot, targets, l7Key));
  }
  return {
    [RedirectorType.nodeConfig]: [nodeConfigResource(node, snapshot)],
    [RedirectorType.identity]: identities,
    [RedirectorType.workload]: workloads,
    [RedirectorType.service]: services,
    [RedirectorType.endpointPolicy]: policies,
  };
}

/** Per node name, the SnapshotInput of its redirector class. */
export function translateRedirectors(snapshot: MeshSnapshot): Map<string, SnapshotInput> {
  return new Map(redirectorNodes(snapshot).map((node) => [node, redirectorClassResources(snapshot, node)]));
}

/**
 * Publishes the redirector classes of a snapshot to the cache (beside the Envoy translator's
 * publish); classes of nodes that left the mesh are removed. Returns the classes updated. (A
 * control plane that fills classes on demand calls redirectorClassResources for `redirector/<node>`
 * classes instead.)
 */
export class RedirectorPublisher {
  private readonly published = new Set<string>();

  constructor(private readonly cache: SnapshotCache) {}

  publish(snapshot: MeshSnapshot): string[] {
    const updated: string[] = [];
    const classes = new Set<string>();
    for (const [node, input] of translateRedirectors(snapshot)) {
      const key = redirectorClassKey(node);
      classes.add(key);
      if (this.cache.update(key, input)) {
        this.published.add(key);
        updated.push(key);
      }
    }
    for (const key of this.published) {
      if (classes.has(key)) continue;
      this.cache.delete(key);
      this.published.delete(key);
    }
    return updated;
  }
}
