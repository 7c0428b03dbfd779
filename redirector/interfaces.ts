// Finds each local pod's host-side interface from the node's routing table, as any CNI leaves it:
// the device of the route to the pod's IP (`ip route get`), with its ifindex. The agent re-scans
// on a timer and whenever its set of local pods changes.
import { ipJson } from './ip.js';

export interface PodInterface {
  ifname: string;
  ifindex: number;
}

interface RouteGet {
  dev?: string;
  type?: string;
}

interface Link {
  ifindex: number;
  ifname: string;
}

/** The interface each pod IP routes through, for the IPs that route through a non-loopback device. */
export async function findPodInterfaces(ips: readonly string[]): Promise<Map<string, PodInterface>> {
  const found = new Map<string, PodInterface>();
  if (ips.length === 0) return found;
  const links = new Map((await ipJson<Link>('link', 'show')).map((l) => [l.ifname, l.ifindex]));
  // the host routes a CNI leaves (`<pod ip> dev <veth>`) answer most lookups in one listing each
  const hostRoutes = new Map<string, RouteGet>();
  for (const family of ['-4', '-6']) {
    for (const r of await ipJson<RouteGet & { dst?: string }>(family, 'route', 'show', 'table', 'main')) {
      if (r.dst) hostRoutes.set(r.dst.replace(/\/(32|128)$/, ''), r);
    }
  }
  const rest = ips.filter((addr) => !hostRoutes.has(addr));
  const answers = await Promise.all(rest.map((addr) => ipJson<RouteGet>('route', 'get', addr).catch(() => [] as RouteGet[])));
  rest.forEach((addr, i) => {
    const route = answers[i]?.[0];
    if (route) hostRoutes.set(addr, route);
  });
  for (const addr of ips) {
    const route = hostRoutes.get(addr);
    const dev = route?.dev;
    const ifindex = dev ? links.get(dev) : undefined;
    if (dev && dev !== 'lo' && route?.type !== 'local' && ifindex !== undefined) found.set(addr, { ifname: dev, ifindex });
  }
  return found;
}

/** The addresses of this node itself (on lo, not loopback): identity HOST in the ipcache. */
export async function hostAddresses(): Promise<string[]> {
  const links = await ipJson<{ addr_info?: { local: string; scope: string }[] }>('addr', 'show', 'dev', 'lo');
  const out: string[] = [];
  for (const l of links) for (const a of l.addr_info ?? []) if (a.scope !== 'host') out.push(a.local);
  return out;
}
