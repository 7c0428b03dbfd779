// The services of the loaded scenarios, generated once and programmed two ways (skiff's maps and
// kube-proxy-style iptables chains), so both carry the very same set: `count` services in total,
// of which the measured ones (the VIP on each port the benchmark uses, one backend: the server
// pod) sit in the middle of the list, where an iptables KUBE-SERVICES walk meets them on average.

export interface CatalogueBackend {
  addr: string;
  port: number;
}

export interface CatalogueService {
  /** "ns/name:port", as kube-proxy names a service port. */
  name: string;
  vip: string;
  port: number;
  backends: CatalogueBackend[];
}

/** The measured VIP (outside the filler range 10.96.0.0/16). */
export const MEASURED_VIP = '10.97.0.10';

/** The n-th address of a /8 (n < 2^24), e.g. addressOf(10, 300) = 10.0.1.44. */
function addressOf(first: number, n: number): string {
  return `${first}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** count services; the measured VIP's ports lead to server on the same ports. */
export function serviceCatalogue(count: number, backendsPerService: number, server: string, ports: number[]): CatalogueService[] {
  const fillers = Math.max(0, count - ports.length);
  const services: CatalogueService[] = [];
  for (let i = 0; i < fillers; i++) {
    const backends: CatalogueBackend[] = [];
    for (let k = 0; k < backendsPerService; k++) backends.push({ addr: addressOf(10, (200 << 16) + i * backendsPerService + k), port: 8080 });
    // 10.96.0.0/16 holds 65,536 VIPs; skip .0 in each /24 for readability
    services.push({ name: `bench/svc-${i}:http`, vip: addressOf(10, (96 << 16) + Math.floor(i / 255) * 256 + (i % 255) + 1), port: 80, backends });
  }
  const measured = ports.map((port) => ({ name: `bench/measured:${port}`, vip: MEASURED_VIP, port, backends: [{ addr: server, port }] }));
  services.splice(Math.floor(fillers / 2), 0, ...measured);
  return services;
}
