// One endpoint's policy (the EndpointPolicy resource) → the exact entries of the kernel policy map.
// The map's lookup takes the first hit of (peer, proto, port), (peer, proto, *), (peer, *),
// (*, proto, port), (*, proto, *), (*, *) — the most specific key — while NetworkPolicy says deny
// wins over allow and a flow must pass every layer (network, authorization). So the entries are
// the closure of the rules' keys under intersection (meet), each with the verdict the rules give
// for it: the most specific key that a flow hits then carries exactly the rules' answer for that
// flow. Port ranges are expanded to single ports (the whole range is the wildcard port 0); CIDR
// peers become the CIDR identities of every prefix inside the CIDR and outside its exceptions.
import { BlockList, isIPv4 } from 'node:net';
import type { DirectionPolicy__Output, PolicyEntry__Output, Protocol__Output } from '../proto/skiff/v1alpha1/wire.js';
import { Direction, Identity, PolicyVerdict, Proto } from '../bpf/maps/constants.js';
import type { PolicyKey, PolicyValue } from '../bpf/maps/policy.js';

const SCTP = 132;
/** A rule range at least this wide is written as the wildcard port (the map has no ranges). */
const WILDCARD_RANGE = 65535;

/** A CIDR prefix with its identity (allocated by the agent, ≥ 2^24). */
export interface CidrIdentity {
  cidr: string;
  identity: number;
}

interface Atom {
  layer: number;
  identity: number;
  proto: number;
  port: number;
  allow: boolean;
  proxyPort: number;
  /** Steered to the HBONE outbound listener because the destination uses a waypoint. */
  viaWaypoint: boolean;
}

function within(inner: string, outer: string): boolean {
  const [outerNet, outerBits] = outer.split('/') as [string, string];
  const [innerNet, innerBits] = inner.split('/') as [string, string];
  const type = isIPv4(outerNet) ? 'ipv4' : 'ipv6';
  if (isIPv4(innerNet) !== (type === 'ipv4') || Number(innerBits) < Number(outerBits)) return false;
  const list = new BlockList();
  list.addSubnet(outerNet, Number(outerBits), type);
  return list.check(innerNet, type);
}

/** The identities of the prefixes an address in `cidr` (and in none of `except`) can resolve to. */
export function cidrPeerIdentities(cidr: string, except: readonly string[], prefixes: readonly CidrIdentity[]): number[] {
  return prefixes
    .filter((p) => within(p.cidr, cidr) && !except.some((e) => within(p.cidr, e)))
    .map((p) => p.identity);
}

/** The canonical prefix text the ipcache uses for a CIDR (an address alone becomes /32 or /128). */
export function canonicalCidr(cidr: string): string {
  const [net, bits] = cidr.split('/') as [string, string | undefined];
  return `${net}/${bits ?? (isIPv4(net) ? 32 : 128)}`;
}

function protoParts(protocol: Protocol__Output, port: number, endPort: number): { proto: number; ports: number[] }[] {
  const end = Math.max(port, endPort);
  const ports = port === 0 || end - port + 1 >= WILDCARD_RANGE ? [0] : Array.from({ length: end - port + 1 }, (_, i) => port + i);
  switch (protocol) {
    case 'TCP':
      return [{ proto: Proto.TCP, ports }];
    case 'UDP':
      return [{ proto: Proto.UDP, ports }];
    case 'SCTP':
      // the datapath matches SCTP by protocol only: a port-specific SCTP rule cannot be expressed
      return ports[0] === 0 ? [{ proto: SCTP, ports }] : [];
    default:
      return ports[0] === 0 ? [{ proto: 0, ports }] : [{ proto: Proto.TCP, ports }, { proto: Proto.UDP, ports }];
  }
}

/** Where an allowed entry's flows are steered: 0 (the fast path), the node proxy, or — for an entry
 * that needs L7 only because of a waypoint, when the node tunnels with HBONE — the HBONE outbound. */
function entryPort(entry: PolicyEntry__Output, ports: SteerPorts): { port: number; viaWaypoint: boolean } {
  if (entry.verdict !== 'ALLOW' || !entry.proxy_port) return { port: 0, viaWaypoint: false };
  if (entry.via_waypoint && ports.waypointPort) return { port: ports.waypointPort, viaWaypoint: true };
  return { port: ports.proxyPort || entry.proxy_port, viaWaypoint: false };
}

function entryAtoms(entry: PolicyEntry__Output, layer: number, prefixes: readonly CidrIdentity[], ports: SteerPorts): Atom[] {
  const peers = new Set<number>();
  if (entry.any_peer) peers.add(0);
  for (const id of entry.identities) peers.add(id);
  for (const c of entry.cidrs) for (const id of cidrPeerIdentities(canonicalCidr(c.cidr), c.except.map(canonicalCidr), prefixes)) peers.add(id);
  const allow = entry.verdict === 'ALLOW';
  if (!allow && entry.verdict !== 'DENY') return [];
  const atoms: Atom[] = [];
  const steer = entryPort(entry, ports);
  for (const { proto, ports: dports } of protoParts(entry.protocol, entry.port, entry.end_port)) {
    for (const identity of peers) {
      for (const port of dports) {
        atoms.push({ layer, identity, proto, port, allow, proxyPort: steer.port, viaWaypoint: steer.viaWaypoint });
      }
    }
  }
  return atoms;
}

const partKey = (proto: number, port: number): string => `${proto}/${port}`;

/** proxyPort, when nonzero, replaces the entries' proxy ports (the agent's flag); waypointPort, when
 * nonzero (the node tunnels with HBONE: its outbound listener), steers via_waypoint entries there. */
export interface SteerPorts {
  proxyPort: number;
  waypointPort: number;
}

/** The entries' own proxy ports, no waypoint steering. */
const ENTRY_PORTS: SteerPorts = { proxyPort: 0, waypointPort: 0 };

/**
 * The policy entries of one direction of one endpoint. `layers` are the direction's layers (a flow
 * must pass each). A flow both a waypoint entry and another L7 entry cover goes to the node proxy.
 */
export function expandDirection(
  endpointId: number,
  direction: number,
  layers: readonly (DirectionPolicy__Output | null)[],
  prefixes: readonly CidrIdentity[],
  ports: SteerPorts = ENTRY_PORTS,
): [PolicyKey, PolicyValue][] {
  const atoms: Atom[] = [];
  layers.forEach((layer, i) => {
    for (const entry of layer?.entries ?? []) atoms.push(...entryAtoms(entry, i, prefixes, ports));
  });
  if (atoms.length === 0) return [];
  const index = new Map<string, Atom[]>();
  const parts = new Map<number, Map<string, [number, number]>>();
  for (const a of atoms) {
    const k = `${a.identity}|${partKey(a.proto, a.port)}`;
    const list = index.get(k);
    if (list) list.push(a);
    else index.set(k, [a]);
    let p = parts.get(a.identity);
    if (!p) parts.set(a.identity, (p = new Map()));
    p.set(partKey(a.proto, a.port), [a.proto, a.port]);
  }
  // the closure under meet: the wildcard peer's parts, and per peer its own parts plus the wildcard's
  const wildcardParts = parts.get(0) ?? new Map<string, [number, number]>();
  const keys: [number, number, number][] = [];
  for (const [identity, own] of parts) {
    const all = identity === 0 ? own : new Map([...wildcardParts, ...own]);
    for (const [proto, port] of all.values()) keys.push([identity, proto, port]);
  }
  const out: [PolicyKey, PolicyValue][] = [];
  for (const [identity, proto, port] of keys) {
    const covering: Atom[] = [];
    for (const id of identity === 0 ? [0] : [identity, 0]) {
      for (const [pr, po] of [[proto, port], [proto, 0], [0, 0]] as const) {
        if (pr === 0 && po !== 0) continue;
        covering.push(...(index.get(`${id}|${partKey(pr, po)}`) ?? []));
      }
    }
    let allowed = true;
    layers.forEach((layer, i) => {
      const mine = covering.filter((a) => a.layer === i);
      if (mine.some((a) => !a.allow)) allowed = false;
      else if (!mine.some((a) => a.allow) && layer?.enforced) allowed = false;
    });
    let proxy = 0;
    if (allowed) {
      // a flow that another L7 entry covers too goes to the node proxy, not to the waypoint
      const steered = covering.filter((a) => a.allow && a.proxyPort);
      const nodeProxy = steered.filter((a) => !a.viaWaypoint);
      for (const a of nodeProxy.length > 0 ? nodeProxy : steered) proxy = Math.max(proxy, a.proxyPort);
    }
    out.push([
      { endpointId, identity, dport: port, proto, direction },
      { verdict: allowed ? PolicyVerdict.ALLOW : PolicyVerdict.DENY, flags: 0, proxyPort: proxy },
    ]);
  }
  return out;
}

/** Cilium's allow-localhost: the node itself (health checks, the node proxy's upstream connections
 * from the node's address) may always reach its local pods, in every ingress layer. */
const ALLOW_LOCALHOST: DirectionPolicy__Output = {
  enforced: false,
  entries: [
    { any_peer: false, identities: [Identity.HOST], cidrs: [], protocol: 'PROTOCOL_ANY', port: 0, end_port: 0, verdict: 'ALLOW', proxy_port: 0, origin: 'allow-localhost', via_waypoint: false },
  ],
};

function withLocalhost(d: DirectionPolicy__Output | null): DirectionPolicy__Output | null {
  if (!d?.enforced) return d;
  return { enforced: true, entries: [...ALLOW_LOCALHOST.entries, ...d.entries] };
}

/** Both directions of an endpoint's policy. */
export function expandEndpointPolicy(
  endpointId: number,
  policy: { ingress: DirectionPolicy__Output | null; egress: DirectionPolicy__Output | null; authorization: DirectionPolicy__Output | null },
  prefixes: readonly CidrIdentity[],
  ports: SteerPorts = ENTRY_PORTS,
): [PolicyKey, PolicyValue][] {
  return [
    ...expandDirection(endpointId, Direction.INGRESS, [withLocalhost(policy.ingress), withLocalhost(policy.authorization)], prefixes, ports),
    ...expandDirection(endpointId, Direction.EGRESS, [policy.egress], prefixes, ports),
  ];
}
