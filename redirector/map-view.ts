// The kernel maps as JSON for /debug/maps/<name>: each entry decoded with the datapath's codecs and
// named from the agent's resources (pods by IP and endpoint id, services by VIP and rev-NAT id,
// identities by their labels or reserved name).
import type { BpfMap } from '../bpf/libbpf.js';
import {
  backends,
  config,
  conntrack,
  CtFlags,
  CtScope,
  Direction,
  endpoints,
  ipcache,
  lbSlots,
  nameOf,
  policy,
  PolicyVerdict,
  services,
} from '../bpf/maps/index.js';
import type { MapKind, Resources } from './desired-state.js';

const PROTOS: Record<number, string> = { 0: 'ANY', 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

/** The map names /debug/maps accepts. */
export const VIEWABLE_MAPS: Record<string, MapKind> = {
  services: 'services',
  slots: 'lbSlots',
  backends: 'backends',
  ipcache: 'ipcache',
  identities: 'ipcache',
  endpoints: 'endpoints',
  policy: 'policy',
  config: 'config',
};

function identityName(resources: Resources, id: number): string {
  const identity = resources.identities.get(id);
  if (!identity) return id >= 1 << 24 ? 'cidr' : '';
  if (identity.reserved) return `reserved:${identity.reserved}`;
  const labels = Object.entries(identity.labels)
    .filter(([k]) => !k.startsWith('io.kubernetes.pod.namespace') && !k.startsWith('io.cilium.k8s.policy'))
    .map(([k, v]) => `${k}=${v}`);
  return `${identity.namespace}/${labels.join(',')}`;
}

/** Pods by their IPs and services by their VIPs (namespace/name). */
function addressNames(resources: Resources): { podByIp: Map<string, string>; serviceByVip: Map<string, string> } {
  const podByIp = new Map<string, string>();
  for (const [key, w] of resources.workloads) for (const ip of w.ips) podByIp.set(ip, key);
  const serviceByVip = new Map<string, string>();
  for (const [key, s] of resources.services) for (const vip of s.vips) serviceByVip.set(vip, key);
  return { podByIp, serviceByVip };
}

/** Names of the bits set in a flags word (e.g. 'DNAT|SEEN_REPLY'), '' when none. */
function flagNames(table: Record<string, number>, flags: number): string {
  return Object.entries(table)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name)
    .join('|');
}

const hostPort = (addr: string, port: number): string => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

/** /debug/maps/ct: at most `limit` entries (of `total`), decoded and named. */
export interface ConntrackView {
  entries: Record<string, unknown>[];
  total: number;
  truncated: boolean;
}

/**
 * The conntrack table decoded: tuple and scope, flag names, the NAT'd original destination (and
 * its service), the chosen backend (address and pod: the one a SERVICE entry carries, else
 * skf_backends' for its id), counters and the remaining lifetime. Only the first `limit` entries
 * are decoded; `total` counts them all.
 */
export function viewConntrack(ct: BpfMap, backendsMap: BpfMap, resources: Resources, limit: number, nowNs = conntrack.monotonicNowNs()): ConntrackView {
  const { podByIp, serviceByVip } = addressNames(resources);
  const entries: Record<string, unknown>[] = [];
  let total = 0;
  for (const k of ct.keys()) {
    total++;
    if (entries.length >= limit) continue;
    const v = ct.lookup(k);
    if (!v) continue;
    const key = conntrack.decodeKey(k);
    const value = conntrack.decodeValue(v, key.family);
    // a SERVICE entry's nat address is its backend once confirmed (the translation it applies);
    // only DNAT entries hold a VIP there
    const carried = key.scope === CtScope.SERVICE && value.backendChecked ? { addr: value.natAddr, port: value.natPort } : undefined;
    const backendValue = !carried && value.backendId !== 0 ? backendsMap.lookup(backends.encodeKey(value.backendId)) : undefined;
    const backend = carried ?? (backendValue ? backends.decodeValue(backendValue) : undefined);
    const vip = value.flags & CtFlags.DNAT ? value.natAddr : '';
    const lifetimeNs = value.expires - nowNs;
    entries.push({
      tuple: `${hostPort(key.saddr, key.sport)} -> ${hostPort(key.daddr, key.dport)} ${PROTOS[key.proto] ?? key.proto}`,
      scope: nameOf(CtScope, key.scope),
      src: podByIp.get(key.saddr) ?? '',
      dst: podByIp.get(key.daddr) ?? serviceByVip.get(key.daddr) ?? '',
      flags: flagNames(CtFlags, value.flags),
      nat: vip ? hostPort(vip, value.natPort) : '',
      service: vip ? (serviceByVip.get(vip) ?? '') : '',
      backend: backend ? `${hostPort(backend.addr, backend.port)}${podByIp.has(backend.addr) ? ` (${podByIp.get(backend.addr)})` : ''}` : value.backendId === 0 ? '' : `#${value.backendId}`,
      proxyPort: value.proxyPort,
      packets: Number(value.packets),
      bytes: Number(value.bytes),
      lifetime: lifetimeNs > 0n ? `${Number(lifetimeNs / 1_000_000n) / 1000}s` : 'expired',
    });
  }
  return { entries, total, truncated: total > entries.length };
}

/** Every entry of one map, decoded and named (policy entries name their pod through `endpointsMap`). */
export function viewMap(kind: MapKind, map: BpfMap, resources: Resources, endpointsMap?: BpfMap): Record<string, unknown>[] {
  const { podByIp, serviceByVip } = addressNames(resources);
  const podByEndpoint = new Map<number, string>();
  if (kind === 'policy' && endpointsMap) {
    for (const [k, v] of endpointsMap.entries()) podByEndpoint.set(endpoints.decodeValue(v).endpointId, podByIp.get(endpoints.decodeKey(k)) ?? '');
  }
  const rows: Record<string, unknown>[] = [];
  for (const [k, v] of map.entries()) {
    switch (kind) {
      case 'services': {
        const key = services.decodeKey(k);
        rows.push({ ...key, protoName: PROTOS[key.proto], service: serviceByVip.get(key.addr) ?? '', ...services.decodeValue(v) });
        break;
      }
      case 'lbSlots':
        rows.push({ ...lbSlots.decodeKey(k), backendId: lbSlots.decodeValue(v) });
        break;
      case 'backends': {
        const value = backends.decodeValue(v);
        rows.push({ id: backends.decodeKey(k), ...value, pod: podByIp.get(value.addr) ?? '' });
        break;
      }
      case 'ipcache': {
        const value = ipcache.decodeValue(v);
        rows.push({ ...ipcache.decodeKey(k), ...value, name: identityName(resources, value.identity) });
        break;
      }
      case 'endpoints': {
        const ip = endpoints.decodeKey(k);
        const value = endpoints.decodeValue(v);
        rows.push({ ip, pod: podByIp.get(ip) ?? '', ...value });
        break;
      }
      case 'policy': {
        const key = policy.decodeKey(k);
        const value = policy.decodeValue(v);
        rows.push({
          ...key,
          pod: podByEndpoint.get(key.endpointId) ?? '',
          direction: nameOf(Direction, key.direction),
          protoName: PROTOS[key.proto] ?? String(key.proto),
          peer: key.identity === 0 ? 'any' : identityName(resources, key.identity),
          verdict: nameOf(PolicyVerdict, value.verdict),
          proxyPort: value.proxyPort,
        });
        break;
      }
      case 'config':
        rows.push({ ...config.decodeValue(v) });
        break;
    }
  }
  return rows;
}
