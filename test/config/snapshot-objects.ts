// Small builders of mesh objects for the snapshot and store tests, keyed as the sources key them.
import { objectKey, type MeshObject, type Pod, type Service, type EndpointSlice, type HTTPRoute } from '../../config/resources.js';

export function keyed(...objects: MeshObject[]): Map<string, MeshObject> {
  return new Map(objects.map((o) => [objectKey(o.kind, o.metadata.namespace, o.metadata.name), o]));
}

export function pod(
  namespace: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  options: { ports?: { name?: string; containerPort: number }[]; sa?: string; node?: string; phase?: string; hostNetwork?: boolean } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      nodeName: options.node ?? 'node-a',
      serviceAccountName: options.sa ?? name.split('-')[0],
      containers: [{ name: 'app', ports: options.ports ?? [] }],
      ...(options.hostNetwork ? { hostNetwork: true } : {}),
    },
    status: { phase: options.phase ?? 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function service(
  namespace: string,
  name: string,
  vip: string,
  ports: { name?: string; port: number; targetPort?: number | string; appProtocol?: string }[],
  selector?: Record<string, string>,
  labels?: Record<string, string>,
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: { clusterIP: vip, clusterIPs: [vip], ports, ...(selector ? { selector } : {}) },
  };
}

export function slice(
  namespace: string,
  serviceName: string,
  name: string,
  ports: { name?: string; port: number }[],
  endpoints: { ip: string; pod?: string; ready?: boolean; node?: string; zone?: string }[],
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ ...p, protocol: 'TCP' as const })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', namespace, name: e.pod } } : {}),
    })),
  };
}

export function httpRoute(
  namespace: string,
  name: string,
  parent: { name: string; namespace?: string; port?: number },
  rules: HTTPRoute['spec']['rules'],
  created?: string,
): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace, ...(created ? { creationTimestamp: created } : {}) } as HTTPRoute['metadata'],
    spec: { parentRefs: [{ group: '', kind: 'Service', ...parent }], rules },
  };
}

/** A small deterministic PRNG (mulberry32) so a failure can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
