// The Kubernetes API resources the Kubernetes source watches, one per mesh kind: which API
// group/version serves it, its plural (the path segment), and how to build its list/watch path.
import { isNamespaced, type MeshKind } from '../resources.js';

export interface KubeResource {
  kind: MeshKind;
  /** API group; empty for the core group (`/api/v1`). */
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

function resource(kind: MeshKind, group: string, version: string, plural: string): KubeResource {
  return { kind, group, version, plural, namespaced: isNamespaced(kind) };
}

/** Every kind skiff reads, at the version it is watched (the newest one the mesh model accepts). */
export const KUBE_RESOURCES: readonly KubeResource[] = [
  resource('Namespace', '', 'v1', 'namespaces'),
  resource('Node', '', 'v1', 'nodes'),
  resource('Service', '', 'v1', 'services'),
  resource('Pod', '', 'v1', 'pods'),
  resource('EndpointSlice', 'discovery.k8s.io', 'v1', 'endpointslices'),
  resource('Gateway', 'gateway.networking.k8s.io', 'v1', 'gateways'),
  resource('HTTPRoute', 'gateway.networking.k8s.io', 'v1', 'httproutes'),
  resource('GRPCRoute', 'gateway.networking.k8s.io', 'v1', 'grpcroutes'),
  resource('ReferenceGrant', 'gateway.networking.k8s.io', 'v1beta1', 'referencegrants'),
  resource('NetworkPolicy', 'networking.k8s.io', 'v1', 'networkpolicies'),
  resource('CiliumNetworkPolicy', 'cilium.io', 'v2', 'ciliumnetworkpolicies'),
  resource('AuthorizationPolicy', 'security.istio.io', 'v1', 'authorizationpolicies'),
  resource('MeshConfig', 'skiff.io', 'v1alpha1', 'meshconfigs'),
];

/** `v1` for the core group, `group/version` otherwise: the apiVersion objects of this resource carry. */
export function apiVersionOf(r: KubeResource): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The collection path, cluster-wide or in one namespace, e.g. `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices`. */
export function collectionPath(r: KubeResource, namespace?: string): string {
  const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const scope = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${scope}/${r.plural}`;
}
