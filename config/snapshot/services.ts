// One Service's view: its ports with protocol hints, and each port's endpoints from the
// EndpointSlices labelled for it, or from the Pods its selector matches when it has no slice.
import type { EndpointSlice, Pod, Service, ServicePort } from '../resources.js';
import { sortedLabels } from './labels.js';
import { EMPTY_LIST, frozenList } from './frozen.js';
import { sortBy, sortStrings } from './sorted.js';
import type { EndpointView, L4Protocol, ServicePortView, ServiceView, WaypointRef } from './types.js';

export interface ServiceInputs {
  service: Service;
  /** `.<namespace>.svc.<clusterDomain>`: the service's FQDN is its name followed by it. */
  fqdnSuffix: string;
  slices: readonly EndpointSlice[];
  /** Pods of the namespace that the selector matches (any phase), when the service has a selector. */
  selectedPods: readonly Pod[];
  /** Workload key for a pod IP, for slice endpoints without a targetRef. */
  workloadByIp: (ip: string) => string | undefined;
  /** Whether a pod key is a workload (a pod with an IP, not hostNetwork). */
  isWorkload: (key: string) => boolean;
  waypoint?: WaypointRef;
}

/** A view under construction: its fields are assigned in order, optional ones only when present. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function podIps(pod: Pod): string[] {
  const ips: string[] = [];
  for (const podIp of pod.status?.podIPs ?? []) if (typeof podIp.ip === 'string' && podIp.ip !== '') ips.push(podIp.ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

export function podReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function hasPrefixName(name: string, word: string): boolean {
  return name === word || name.startsWith(`${word}-`);
}

/** The protocol hints of a service port, from appProtocol or the port name (Istio's convention). */
function portProtocolHints(port: { name?: string; appProtocol?: string }): { isGrpc: boolean; isHttp2: boolean; isHttp: boolean } {
  const name = (port.name ?? '').toLowerCase();
  const app = (port.appProtocol ?? '').toLowerCase();
  const isGrpc = app === 'grpc' || app === 'kubernetes.io/grpc' || hasPrefixName(name, 'grpc');
  const isHttp2 = isGrpc || app === 'kubernetes.io/h2c' || app === 'http2' || app === 'h2c' || hasPrefixName(name, 'http2');
  const isHttp = isHttp2 || app === 'http' || app === 'kubernetes.io/http' || hasPrefixName(name, 'http');
  return { isGrpc, isHttp2, isHttp };
}

function compareEndpoints(a: EndpointView, b: EndpointView): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

function sliceEndpoints(inputs: ServiceInputs, port: ServicePort, protocol: L4Protocol): EndpointView[] {
  const all: EndpointView[] = [];
  for (const slice of inputs.slices) {
    const namespace = slice.metadata.namespace ?? '';
    // Pod keys of the slice's namespace share one `namespace/` string (100,000s of endpoints).
    const prefix = `${namespace}/`;
    for (const slicePort of slice.ports ?? []) {
      if ((slicePort.name ?? '') !== (port.name ?? '') || (slicePort.protocol ?? 'TCP') !== protocol) continue;
      const number = slicePort.port ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port);
      for (const endpoint of slice.endpoints ?? []) {
        const ready = endpoint.conditions?.ready ?? true;
        const ref = endpoint.targetRef;
        const refKey = ref && (ref.kind ?? 'Pod') === 'Pod' && ref.name ? podKey(prefix, namespace, ref.namespace, ref.name) : undefined;
        for (const address of endpoint.addresses ?? []) {
          const view = endpointView(address, number, endpoint.nodeName, endpoint.zone, refKey ?? inputs.workloadByIp(address), ready, endpoint.conditions?.serving ?? ready, endpoint.conditions?.terminating ?? false);
          all.push(view);
        }
      }
    }
  }
  // The same address and port twice (across slices, or within one): the later one is in force.
  sortBy(all, compareEndpoints);
  if (!hasRepeats(all)) return all;
  const out: EndpointView[] = [];
  for (let i = 0; i < all.length; i++) {
    const next = all[i + 1];
    const view = all[i] as EndpointView;
    if (!next || compareEndpoints(view, next) !== 0) out.push(view);
  }
  return out;
}

/** `namespace/name` of a targetRef, from the slice's `namespace/` prefix when in the same namespace. */
function podKey(prefix: string, namespace: string, refNamespace: string | undefined, name: string): string {
  return refNamespace === undefined || refNamespace === namespace ? prefix + name : `${refNamespace}/${name}`;
}

function hasRepeats(sorted: readonly EndpointView[]): boolean {
  for (let i = 1; i < sorted.length; i++) if (compareEndpoints(sorted[i - 1] as EndpointView, sorted[i] as EndpointView) === 0) return true;
  return false;
}

/** One endpoint, optional fields present only when known (no spreads: there may be 100,000). */
function endpointView(
  address: string,
  port: number,
  nodeName: string | undefined,
  zone: string | undefined,
  pod: string | undefined,
  ready: boolean,
  serving: boolean,
  terminating: boolean,
): EndpointView {
  // The usual endpoint (node and pod known, no zone) as one literal: its fields in the object
  // itself, without the extra property store fields added later take.
  if (nodeName && pod && !zone) return Object.freeze({ address, port, ready, serving, terminating, nodeName, pod });
  const view: Mutable<EndpointView> = { address, port, ready, serving, terminating };
  if (nodeName) view.nodeName = nodeName;
  if (zone) view.zone = zone;
  if (pod) view.pod = pod;
  return Object.freeze(view);
}

/** The container port a named targetPort means on one pod. */
function namedContainerPort(pod: Pod, name: string, protocol: L4Protocol): number | undefined {
  for (const container of pod.spec.containers ?? []) {
    for (const cp of container.ports ?? []) {
      if (cp.name === name && (cp.protocol ?? 'TCP') === protocol) return cp.containerPort;
    }
  }
  return undefined;
}

function selectorEndpoints(inputs: ServiceInputs, port: ServicePort, protocol: L4Protocol): EndpointView[] {
  const out: EndpointView[] = [];
  for (const pod of inputs.selectedPods) {
    if (pod.status?.phase !== 'Running') continue;
    const target = port.targetPort ?? port.port;
    const number = typeof target === 'number' ? target : namedContainerPort(pod, target, protocol);
    if (number === undefined) continue;
    const ready = podReady(pod);
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
    for (const address of podIps(pod)) out.push(endpointView(address, number, pod.spec.nodeName, undefined, key, ready, ready, false));
  }
  return sortBy(out, compareEndpoints);
}

export function buildServiceView(inputs: ServiceInputs): ServiceView {
  const { service } = inputs;
  const namespace = service.metadata.namespace ?? '';
  const name = service.metadata.name;
  const spec = service.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const written = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  const headless = written.includes('None');
  const vips = headless ? [] : written.filter((ip) => ip !== '');
  const source: ServiceView['endpointSource'] =
    type === 'ExternalName' ? 'none' : inputs.slices.length > 0 ? 'EndpointSlice' : spec.selector ? 'selector' : 'none';
  const ports: ServicePortView[] = (spec.ports ?? []).map((port) => {
    const protocol: L4Protocol = port.protocol ?? 'TCP';
    const target = port.targetPort ?? port.port;
    const endpoints =
      source === 'EndpointSlice' ? sliceEndpoints(inputs, port, protocol) : source === 'selector' ? selectorEndpoints(inputs, port, protocol) : [];
    const view: Mutable<ServicePortView> = { name: port.name ?? '', port: port.port, protocol } as Mutable<ServicePortView>;
    if (port.appProtocol) view.appProtocol = port.appProtocol;
    if (typeof target === 'number') view.targetPort = target;
    else view.targetPortName = target;
    const hints = portProtocolHints(port);
    view.isGrpc = hints.isGrpc;
    view.isHttp2 = hints.isHttp2;
    view.isHttp = hints.isHttp;
    view.endpoints = frozenList(endpoints);
    return Object.freeze(view);
  });
  const workloads = new Set<string>();
  if (spec.selector) {
    for (const pod of inputs.selectedPods) {
      const key = `${namespace}/${pod.metadata.name}`;
      if (inputs.isWorkload(key)) workloads.add(key);
    }
  } else {
    for (const port of ports) for (const e of port.endpoints) if (e.pod && inputs.isWorkload(e.pod)) workloads.add(e.pod);
  }
  // Fields are assigned in their order, optional ones only when present (no spreads: 10,000s of services).
  const view: Mutable<ServiceView> = {
    key: `${namespace}/${name}`,
    namespace,
    name,
    fqdn: name + inputs.fqdnSuffix,
    type,
    vips: frozenList(vips),
    headless,
    labels: sortedLabels(service.metadata.labels),
  } as Mutable<ServiceView>;
  if (spec.selector) view.selector = sortedLabels(spec.selector);
  view.ports = Object.freeze(ports);
  view.endpointSource = source;
  view.workloads = workloads.size === 0 ? EMPTY_LIST : Object.freeze(sortStrings([...workloads]));
  if (inputs.waypoint) view.waypoint = inputs.waypoint;
  return Object.freeze(view);
}

/** What routes depend on in a service: existence, VIPs and ports (not endpoints). */
export function routeSignature(view: ServiceView | undefined): string {
  if (!view) return '';
  return `${view.vips.join(',')}|${view.ports.map((p) => `${p.name}:${p.port}/${p.protocol}`).join(',')}`;
}
