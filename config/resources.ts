// The Kubernetes-shaped objects skiff reads, as a user writes them (`kubectl apply`-able YAML):
// the TypeScript shapes of the accepted kinds after validation. Fields skiff does not use may still
// be present in the input; validation keeps the object as written.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface TypeMeta {
  apiVersion: string;
  kind: string;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

// ---- core/v1 ----

export interface Namespace extends TypeMeta {
  kind: 'Namespace';
  metadata: ObjectMeta;
}

export interface NodeAddress {
  type: string;
  address: string;
}

export interface Node extends TypeMeta {
  kind: 'Node';
  metadata: ObjectMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: NodeAddress[] };
}

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
  port: number;
  targetPort?: number | string;
}

export interface Service extends TypeMeta {
  kind: 'Service';
  metadata: ObjectMeta;
  spec: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    selector?: Record<string, string>;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePort[];
    externalName?: string;
  };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
}

export interface Pod extends TypeMeta {
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    containers: Container[];
    hostNetwork?: boolean;
  };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: PodCondition[];
  };
}

// ---- discovery.k8s.io/v1 ----

export interface EndpointPort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number;
  appProtocol?: string;
}

export interface Endpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

export interface EndpointSlice extends TypeMeta {
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

// ---- gateway.networking.k8s.io/v1 ----

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  filters?: HTTPRouteFilter[];
}

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';
export type StringMatchType = 'Exact' | 'RegularExpression';

export interface HTTPPathMatch {
  type?: PathMatchType;
  value?: string;
}

export interface HTTPHeaderMatch {
  type?: StringMatchType;
  name: string;
  value: string;
}

export interface HTTPQueryParamMatch {
  type?: StringMatchType;
  name: string;
  value: string;
}

export type HTTPMethod =
  | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH';

export interface HTTPRouteMatch {
  path?: HTTPPathMatch;
  headers?: HTTPHeaderMatch[];
  queryParams?: HTTPQueryParamMatch[];
  method?: HTTPMethod;
}

export interface HTTPHeader {
  name: string;
  value: string;
}

export interface HeaderModifier {
  set?: HTTPHeader[];
  add?: HTTPHeader[];
  remove?: string[];
}

export interface HTTPPathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRequestRedirectFilter {
  scheme?: 'http' | 'https';
  hostname?: string;
  path?: HTTPPathModifier;
  port?: number;
  statusCode?: 301 | 302 | 303 | 307 | 308;
}

export interface HTTPURLRewriteFilter {
  hostname?: string;
  path?: HTTPPathModifier;
}

export interface HTTPRequestMirrorFilter {
  backendRef: BackendRef;
  percent?: number;
  fraction?: { numerator: number; denominator?: number };
}

export interface HTTPRouteFilter {
  type:
    | 'RequestHeaderModifier'
    | 'ResponseHeaderModifier'
    | 'RequestRedirect'
    | 'URLRewrite'
    | 'RequestMirror'
    | 'ExtensionRef';
  requestHeaderModifier?: HeaderModifier;
  responseHeaderModifier?: HeaderModifier;
  requestRedirect?: HTTPRequestRedirectFilter;
  urlRewrite?: HTTPURLRewriteFilter;
  requestMirror?: HTTPRequestMirrorFilter;
  extensionRef?: { group: string; kind: string; name: string };
}

export interface HTTPRouteRetry {
  codes?: number[];
  attempts?: number;
  backoff?: string;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: BackendRef[];
  timeouts?: { request?: string; backendRequest?: string };
  retry?: HTTPRouteRetry;
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface HTTPRoute extends TypeMeta {
  kind: 'HTTPRoute';
  metadata: ObjectMeta;
  spec: {
    parentRefs?: ParentReference[];
    hostnames?: string[];
    rules?: HTTPRouteRule[];
  };
  status?: { parents: RouteParentStatus[] };
}

export interface GRPCMethodMatch {
  type?: StringMatchType;
  service?: string;
  method?: string;
}

export interface GRPCRouteMatch {
  method?: GRPCMethodMatch;
  headers?: HTTPHeaderMatch[];
}

export interface GRPCRouteRule {
  name?: string;
  matches?: GRPCRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: BackendRef[];
}

export interface GRPCRoute extends TypeMeta {
  kind: 'GRPCRoute';
  metadata: ObjectMeta;
  spec: {
    parentRefs?: ParentReference[];
    hostnames?: string[];
    rules?: GRPCRouteRule[];
  };
  status?: { parents: RouteParentStatus[] };
}

export interface GatewayListener {
  name: string;
  hostname?: string;
  port: number;
  protocol: string;
  allowedRoutes?: { namespaces?: { from?: 'All' | 'Same' | 'Selector'; selector?: LabelSelector } };
}

export interface Gateway extends TypeMeta {
  kind: 'Gateway';
  metadata: ObjectMeta;
  spec: {
    gatewayClassName: string;
    listeners: GatewayListener[];
    addresses?: { type?: string; value: string }[];
  };
}

export interface ReferenceGrant extends TypeMeta {
  kind: 'ReferenceGrant';
  metadata: ObjectMeta;
  spec: {
    from: { group: string; kind: string; namespace: string }[];
    to: { group: string; kind: string; name?: string }[];
  };
}

// ---- networking.k8s.io/v1 ----

export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicy extends TypeMeta {
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

// ---- cilium.io/v2 ----

export interface CiliumPortProtocol {
  port: string;
  endPort?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP' | 'ANY';
}

export interface CiliumHTTPRule {
  method?: string;
  path?: string;
  host?: string;
  headers?: string[];
  headerMatches?: { name: string; value?: string; mismatch?: string }[];
}

export interface CiliumPortRule {
  ports?: CiliumPortProtocol[];
  rules?: { http?: CiliumHTTPRule[] };
}

export interface CiliumIngressRule {
  fromEndpoints?: LabelSelector[];
  fromCIDR?: string[];
  fromCIDRSet?: { cidr: string; except?: string[] }[];
  fromEntities?: string[];
  toPorts?: CiliumPortRule[];
}

export interface CiliumEgressRule {
  toEndpoints?: LabelSelector[];
  toCIDR?: string[];
  toCIDRSet?: { cidr: string; except?: string[] }[];
  toEntities?: string[];
  toPorts?: CiliumPortRule[];
}

export interface CiliumRule {
  endpointSelector: LabelSelector;
  ingress?: CiliumIngressRule[];
  ingressDeny?: CiliumIngressRule[];
  egress?: CiliumEgressRule[];
  egressDeny?: CiliumEgressRule[];
  description?: string;
}

export interface CiliumNetworkPolicy extends TypeMeta {
  kind: 'CiliumNetworkPolicy';
  metadata: ObjectMeta;
  spec?: CiliumRule;
  specs?: CiliumRule[];
}

// ---- security.istio.io/v1 ----

export interface IstioSource {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

export interface IstioOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

export interface IstioCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface IstioRule {
  from?: { source: IstioSource }[];
  to?: { operation: IstioOperation }[];
  when?: IstioCondition[];
}

export interface AuthorizationPolicy extends TypeMeta {
  kind: 'AuthorizationPolicy';
  metadata: ObjectMeta;
  spec: {
    selector?: { matchLabels?: Record<string, string> };
    targetRefs?: { group?: string; kind: string; name: string; namespace?: string }[];
    action?: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
    rules?: IstioRule[];
    provider?: { name: string };
  };
}

// ---- skiff.io/v1alpha1 ----

export type EncryptionMode = 'none' | 'hbone' | 'wireguard';

export interface MeshConfig extends TypeMeta {
  kind: 'MeshConfig';
  metadata: ObjectMeta;
  spec: {
    trustDomain?: string;
    encryption?: EncryptionMode;
    proxyPort?: number;
    hbonePort?: number;
    clusterDomain?: string;
    ingressProxyPort?: number;
    certificateTTL?: string;
  };
}

/** Every kind skiff accepts. */
export type MeshObject =
  | Namespace
  | Node
  | Service
  | Pod
  | EndpointSlice
  | Gateway
  | HTTPRoute
  | GRPCRoute
  | ReferenceGrant
  | NetworkPolicy
  | CiliumNetworkPolicy
  | AuthorizationPolicy
  | MeshConfig;

export type MeshKind = MeshObject['kind'];

/** apiVersion (group/version) accepted for each kind; Gateway API also accepts v1beta1 where it exists. */
export const API_VERSIONS: Record<MeshKind, readonly string[]> = {
  Namespace: ['v1'],
  Node: ['v1'],
  Service: ['v1'],
  Pod: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1'],
  Gateway: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  HTTPRoute: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  GRPCRoute: ['gateway.networking.k8s.io/v1'],
  ReferenceGrant: ['gateway.networking.k8s.io/v1beta1', 'gateway.networking.k8s.io/v1'],
  NetworkPolicy: ['networking.k8s.io/v1'],
  CiliumNetworkPolicy: ['cilium.io/v2'],
  AuthorizationPolicy: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  MeshConfig: ['skiff.io/v1alpha1'],
};

/** Kinds that live in a namespace (all but Namespace and Node). */
export function isNamespaced(kind: MeshKind): boolean {
  return kind !== 'Namespace' && kind !== 'Node';
}

/** The identity of an object in a source: kind/namespace/name (namespace empty for cluster-scoped kinds). */
export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}
