// What the demo brings up, read from the mesh's config directory the way the control plane reads
// it: the nodes (address, pod CIDRs), and per pod its node, IP and the servers to run on its
// container ports — gRPC, HTTP or TCP, as the Service ports that target them say.
import { pino } from 'pino';
import { DirectorySource } from '../../config/sources/directory.js';
import { MeshStore } from '../../config/store.js';
import type { MeshSnapshot, ServicePortView, WorkloadView } from '../../config/snapshot/index.js';
import type { NodeSpec, PodSpec } from './topology.js';
import type { ServerKind } from './servers.js';

export interface PodPlan extends PodSpec {
  app: string;
  version: string;
  servers: { kind: ServerKind; port: number }[];
}

export interface DemoPlan {
  configDir: string;
  snapshot: MeshSnapshot;
  nodes: NodeSpec[];
  pods: PodPlan[];
}

function portKind(p: ServicePortView): ServerKind {
  if (p.isGrpc) return 'grpc';
  return p.isHttp ? 'http' : 'tcp';
}

/** The server kind of each port of w that a Service targets; other declared ports get TCP. */
function servers(snapshot: MeshSnapshot, w: WorkloadView): { kind: ServerKind; port: number }[] {
  const kinds = new Map<number, ServerKind>();
  for (const key of w.services) {
    for (const port of snapshot.services.get(key)?.ports ?? []) {
      for (const e of port.endpoints) if (w.ips.includes(e.address)) kinds.set(e.port, portKind(port));
    }
  }
  for (const c of w.containerPorts) if (c.protocol === 'TCP' && !kinds.has(c.port)) kinds.set(c.port, 'tcp');
  return [...kinds].map(([port, kind]) => ({ kind, port })).sort((a, b) => a.port - b.port);
}

export async function loadPlan(configDir: string): Promise<DemoPlan> {
  const store = new MeshStore([new DirectorySource(configDir, { watch: false, pollIntervalMs: 3_600_000 })], { logger: pino({ level: 'silent' }) });
  await store.start();
  const snapshot = store.current();
  const errors = store.issues().filter((i) => i.severity === 'error');
  await store.stop();
  if (errors.length > 0) throw new Error(`${configDir}: ${errors.length} error(s) in the mesh, first: ${errors[0]?.message ?? ''} (see skiff mesh --config ${configDir})`);
  const nodes: NodeSpec[] = [...snapshot.nodes.values()].map((n, i) => ({
    name: n.name,
    address: n.internalIP ?? `172.30.255.${i + 1}`,
    podCIDRs: n.podCIDRs,
  }));
  const pods: PodPlan[] = [];
  for (const w of snapshot.workloads.values()) {
    const ip = w.ips.find((a) => a.includes('.'));
    if (!w.nodeName || !snapshot.nodes.has(w.nodeName) || !ip) continue;
    pods.push({ key: w.key, name: w.name, node: w.nodeName, ip, app: w.labels.app ?? w.name, version: w.labels.version ?? '', servers: servers(snapshot, w) });
  }
  if (nodes.length === 0 || pods.length === 0) throw new Error(`${configDir}: the demo needs Nodes and Pods on them with IPv4 addresses`);
  return { configDir, snapshot, nodes, pods };
}
