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
  const answers = await Promise.all(ips.map((addr) => ipJson<RouteGet>('route', 'get', addr).catch(() => [] as RouteGet[])));
  ips.forEach((addr, i) => {
    const routes = answers[i] as RouteGet[];
    const dev = routes[0]?.dev;
    const ifindex = dev ? links.get(dev) : undefined;
    if (dev && dev !== 'lo' && routes[0]?.type !== 'local' && ifindex !== undefined) found.set(addr, { ifname: dev, ifindex });
  });
  return found;
}

/** The addresses of this node itself (on lo, not loopback): identity HOST in the ipcache. */
export async function hostAddresses(): Promise<string[]> {
  const links = await ipJson<{ addr_info?: { local: string; scope: string }[] }>('addr', 'show', 'dev', 'lo');
  const out: string[] = [];
  for (const l of links) for (const a of l.addr_info ?? []) if (a.scope !== 'host') out.push(a.local);
  return out;
}
