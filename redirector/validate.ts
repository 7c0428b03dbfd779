// Checks a decoded redirector resource before the agent takes it: an invalid one makes the whole
// response a NACK (its message says which resource and field), and the last good state stays.
import { isIP } from 'node:net';
import {
  RedirectorType,
  type DirectionPolicy__Output,
  type RedirectorMessages,
  type RedirectorTypeUrl,
} from '../proto/skiff/v1alpha1/wire.js';

const isPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;

function isCidr(text: string): boolean {
  const [net, bits] = text.split('/') as [string, string | undefined];
  const family = isIP(net);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

function directionProblem(where: string, d: DirectionPolicy__Output | null): string | undefined {
  for (const [i, e] of (d?.entries ?? []).entries()) {
    const at = `${where}.entries[${i}]`;
    if (e.verdict !== 'ALLOW' && e.verdict !== 'DENY') return `${at}.verdict: must be ALLOW or DENY`;
    if (e.port > 65535 || e.end_port > 65535) return `${at}.port: out of range`;
    if (e.end_port !== 0 && e.end_port < e.port) return `${at}.end_port: ${e.end_port} is below port ${e.port}`;
    if (e.proxy_port > 65535) return `${at}.proxy_port: out of range`;
    if (e.identities.some((id) => id === 0)) return `${at}.identities: 0 is not an identity (use any_peer)`;
    for (const c of e.cidrs) {
      for (const cidr of [c.cidr, ...c.except]) if (!isCidr(cidr)) return `${at}.cidrs: '${cidr}' is not a CIDR`;
    }
  }
  return undefined;
}

/** Why a resource is invalid, or undefined when it is fine. */
export function resourceProblem<U extends RedirectorTypeUrl>(url: U, name: string, message: RedirectorMessages[U][1]): string | undefined {
  switch (url) {
    case RedirectorType.nodeConfig: {
      const m = message as RedirectorMessages[typeof RedirectorType.nodeConfig][1];
      if (m.proxy_port !== 0 && !isPort(m.proxy_port)) return 'proxy_port: out of range';
      const bad = m.nodes.find((n) => n.internal_ip !== '' && isIP(n.internal_ip) === 0);
      return bad ? `nodes: internal_ip '${bad.internal_ip}' of ${bad.name} is not an IP` : undefined;
    }
    case RedirectorType.workload: {
      const m = message as RedirectorMessages[typeof RedirectorType.workload][1];
      if (name !== `${m.namespace}/${m.name}`) return `name: resource '${name}' is not ${m.namespace}/${m.name}`;
      const bad = m.ips.find((ip) => isIP(ip) === 0);
      if (bad !== undefined) return `ips: '${bad}' is not an IP`;
      return m.identity === 0 ? 'identity: must be nonzero' : undefined;
    }
    case RedirectorType.service: {
      const m = message as RedirectorMessages[typeof RedirectorType.service][1];
      const bad = m.vips.find((ip) => isIP(ip) === 0);
      if (bad !== undefined) return `vips: '${bad}' is not an IP`;
      for (const p of m.ports) {
        if (!isPort(p.port)) return `ports: ${p.port} is not a port`;
        for (const b of p.backends) {
          if (isIP(b.address) === 0) return `ports[${p.port}].backends: '${b.address}' is not an IP`;
          if (!isPort(b.port)) return `ports[${p.port}].backends: ${b.port} is not a port`;
        }
      }
      return undefined;
    }
    case RedirectorType.endpointPolicy: {
      const m = message as RedirectorMessages[typeof RedirectorType.endpointPolicy][1];
      return directionProblem('ingress', m.ingress) ?? directionProblem('egress', m.egress) ?? directionProblem('authorization', m.authorization);
    }
    case RedirectorType.identity: {
      const m = message as RedirectorMessages[typeof RedirectorType.identity][1];
      return name !== String(m.id) ? `name: resource '${name}' is not identity ${m.id}` : undefined;
    }
    default:
      return undefined;
  }
}
