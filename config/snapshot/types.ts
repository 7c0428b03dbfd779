// The shape of the immutable, versioned MeshSnapshot and of every derived view in it: what the
// Envoy translator (xds/translate) and the eBPF redirector read. Everything here is readonly and
// the snapshot builder freezes the views it creates; a consumer never mutates a snapshot.
//
// Keys used throughout:
// - object key:        `Kind/namespace/name` (objectKey() in config/resources.ts; namespace empty for
//                      cluster-scoped kinds), e.g. `HTTPRoute/shop/orders-canary`.
// - namespaced key:    `namespace/name` for services and workloads, e.g. `shop/orders`.
// - workload port key: workloadPortKey(workload, port, protocol), e.g. `shop/orders-v1-x|8080/TCP`.
// - service port key:  servicePortKey(service, port, protocol), e.g. `shop/orders|80/TCP`.
import type { ConfigIssue } from '../source.js';
import type {
  BackendRef,
  EncryptionMode,
  HTTPHeaderMatch,
  HTTPMethod,
  HTTPQueryParamMatch,
  HTTPRouteFilter,
  HTTPRouteRetry,
  MeshObject,
  ParentReference,
  PathMatchType,
  RouteParentStatus,
  StringMatchType,
} from '../resources.js';

/** An L4 protocol of a port, a rule or a flow. */
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

// ---------------------------------------------------------------------------------------------
// The snapshot

export interface MeshSnapshot {
  /** `generation` as a decimal string: the version clients see (xDS version_info). */
  readonly version: string;
  /** 1 for the first snapshot of a process, previous.generation + 1 for each later one. */
  readonly generation: number;
  /** ISO-8601 time the snapshot was built. */
  readonly builtAt: string;
  /** The input objects, by object key (never mutated after the build). */
  readonly objects: ReadonlyMap<string, MeshObject>;
  /** The MeshConfig in force, with defaults filled in. */
  readonly meshConfig: ResolvedMeshConfig;
  /** Namespaces by name (also the ones only implied by objects in them). */
  readonly namespaces: ReadonlyMap<string, NamespaceView>;
  /** Nodes by name. */
  readonly nodes: ReadonlyMap<string, NodeView>;
  /** Services by `namespace/name`. */
  readonly services: ReadonlyMap<string, ServiceView>;
  /** Service VIP (cluster IP, as written) → service key. */
  readonly servicesByVip: ReadonlyMap<string, string>;
  /** Workloads (Pods with an IP and not hostNetwork) by `namespace/name`. */
  readonly workloads: ReadonlyMap<string, WorkloadView>;
  /** Workload IP → workload key. */
  readonly workloadsByIp: ReadonlyMap<string, string>;
  /** Numeric identities, the reserved ones (RESERVED_IDENTITIES) included, by id. */
  readonly identities: ReadonlyMap<number, IdentityView>;
  /** GAMMA route attachments by servicePortKey(service, port, protocol); only ports with routes. */
  readonly attachments: ReadonlyMap<string, ServicePortRoutes>;
  /** Every HTTPRoute and GRPCRoute by object key, with its computed status. */
  readonly routes: ReadonlyMap<string, RouteView>;
  /** Every NetworkPolicy, CiliumNetworkPolicy and AuthorizationPolicy by object key, normalized. */
  readonly policies: ReadonlyMap<string, ResolvedPolicy>;
  /** The policy in force per workload key (present for every workload, selected or not). */
  readonly workloadPolicies: ReadonlyMap<string, WorkloadPolicy>;
  /**
   * The needs-L7 set per workload port, by workloadPortKey(workload, port, protocol). Only ports that
   * need L7 are present; absent means the fast path. Port 0 means every port of that workload
   * (an L7 rule without ports, or a waypoint without a known port). Workload keys come from
   * endpoints too, so a key may name a pod the snapshot has no Pod object for.
   * Egress L7 rules (CNP `egress[].toPorts[].rules.http`) are not in this set, which is keyed by
   * destination: they are the rules with `http` in WorkloadPolicy.egress of the source workload,
   * and flows from it to those peers and ports must be steered to the proxy as well.
   */
  readonly l7: ReadonlyMap<string, WorkloadPortL7>;
  /**
   * The needs-L7 set per service port, by servicePortKey(service, port, protocol); only ports that
   * need L7 because of the service itself (a route attached to it, or its waypoint). L7 policy
   * marks workloads, not services: see `l7`.
   */
  readonly serviceL7: ReadonlyMap<string, ServicePortL7>;
  /** Everything that did not resolve (source `snapshot`); never thrown. */
  readonly issues: readonly ConfigIssue[];
}

// ---------------------------------------------------------------------------------------------
// Mesh-wide settings, namespaces, nodes

export interface ResolvedMeshConfig {
  /** Object key of the MeshConfig used, if any (the alphabetically first when several). */
  readonly source?: string;
  /** Default `cluster.local`. */
  readonly trustDomain: string;
  /** Default `none`. */
  readonly encryption: EncryptionMode;
  /** The node proxy's transparent listener port. Default 15001. */
  readonly proxyPort: number;
  /** HBONE tunnel port. Default 15008. */
  readonly hbonePort: number;
  /** Default `cluster.local`. */
  readonly clusterDomain: string;
  /** Inbound proxy port when set in the MeshConfig. */
  readonly ingressProxyPort?: number;
  /** Workload certificate lifetime (a duration string such as `24h`). Default `24h`. */
  readonly certificateTTL: string;
}

export interface NamespaceView {
  readonly name: string;
  /** Labels, plus `kubernetes.io/metadata.name` as Kubernetes sets it. */
  readonly labels: Readonly<Record<string, string>>;
  /** False when the namespace is only implied by objects in it (no Namespace object). */
  readonly declared: boolean;
  /** Gateway name from label `istio.io/use-waypoint`, if any. */
  readonly useWaypoint?: string;
}

export interface NodeView {
  readonly name: string;
  /** The first `InternalIP` address, if any. */
  readonly internalIP?: string;
  /** All addresses as written. */
  readonly addresses: readonly { readonly type: string; readonly address: string }[];
  /** spec.podCIDRs, or [spec.podCIDR]. */
  readonly podCIDRs: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------------
// Services and endpoints

export interface ServiceView {
  /** `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** `<name>.<namespace>.svc.<clusterDomain>`. */
  readonly fqdn: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.clusterIPs (or [spec.clusterIP]); empty when headless (`None`) or unset. */
  readonly vips: readonly string[];
  readonly headless: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** spec.selector; undefined for a Service without selector. */
  readonly selector?: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePortView[];
  /** Where the endpoints came from: EndpointSlices labelled for it, or its selector over Pods. */
  readonly endpointSource: 'EndpointSlice' | 'selector' | 'none';
  /** Keys of the workloads behind this service (its selector, or the pods its slices point at), sorted. */
  readonly workloads: readonly string[];
  /** The waypoint this service uses (label `istio.io/use-waypoint` on it, else on its namespace). */
  readonly waypoint?: WaypointRef;
}

export interface WaypointRef {
  /** `namespace/name` of the Gateway named by the label. */
  readonly gateway: string;
  /** True when that Gateway exists with gatewayClassName `skiff-waypoint`. */
  readonly found: boolean;
}

export interface ServicePortView {
  /** The port's name, '' when unnamed. */
  readonly name: string;
  readonly port: number;
  readonly protocol: L4Protocol;
  readonly appProtocol?: string;
  /**
   * targetPort as written when numeric (or `port` when unset); undefined when targetPort is a name,
   * which resolves per endpoint (see `targetPortName` and EndpointView.port).
   */
  readonly targetPort?: number;
  /** The container port name when targetPort is a name. */
  readonly targetPortName?: string;
  /** appProtocol `grpc` (or `kubernetes.io/grpc`), or the port name is `grpc` / starts with `grpc-`. */
  readonly isGrpc: boolean;
  /** appProtocol `kubernetes.io/h2c`/`http2`/`grpc`, or the name is `http2`/`grpc` or starts with `http2-`/`grpc-`. */
  readonly isHttp2: boolean;
  /** isHttp2, or appProtocol `http`/`kubernetes.io/http`, or the name is `http` / starts with `http-`. */
  readonly isHttp: boolean;
  /** The endpoints of this port, sorted by address then port. */
  readonly endpoints: readonly EndpointView[];
}

export interface EndpointView {
  readonly address: string;
  /** The resolved target port on this endpoint. */
  readonly port: number;
  readonly nodeName?: string;
  readonly zone?: string;
  /** `namespace/name` of the Pod: from the slice's targetRef (kind Pod), else the workload with this IP. */
  readonly pod?: string;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

// ---------------------------------------------------------------------------------------------
// Workloads and identities

export interface WorkloadView {
  /** `namespace/name` of the Pod. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  /** status.podIPs (or [status.podIP]); never empty. */
  readonly ips: readonly string[];
  readonly nodeName?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** spec.serviceAccountName, default `default`. */
  readonly serviceAccount: string;
  /** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`. */
  readonly spiffeId: string;
  /** The numeric identity of (namespace, identity labels); see IdentityView. */
  readonly identity: number;
  /** Pod phase as written (`Running`, `Pending`, …), '' if absent. */
  readonly phase: string;
  /** Condition Ready is True. */
  readonly ready: boolean;
  /** Declared container ports. */
  readonly containerPorts: readonly { readonly name?: string; readonly port: number; readonly protocol: L4Protocol }[];
  /** Keys of the services whose selector matches this workload, sorted. */
  readonly services: readonly string[];
}

/** Reserved identities, as Cilium numbers them. Cluster identities are in [256, 2^16). */
export const RESERVED_IDENTITIES = {
  unknown: 0,
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  init: 5,
  'remote-node': 6,
  'kube-apiserver': 7,
  ingress: 8,
} as const;
export type ReservedIdentityName = keyof typeof RESERVED_IDENTITIES;

/**
 * The smallest and one past the largest cluster identity. 16 bits, as Cilium's cluster-local
 * identities: the node proxy carries its client's identity in the upper 16 bits of its upstream
 * sockets' mark (bpf/maps proxyUpstreamMark), so a larger id would reach to_pod truncated. Ids ≥
 * 2^24 are left to the redirector (CIDR identities).
 */
export const MIN_CLUSTER_IDENTITY = 256;
export const MAX_CLUSTER_IDENTITY_EXCLUSIVE = 1 << 16;

export interface IdentityView {
  readonly id: number;
  /** Set for the reserved identities (ids below 256). */
  readonly reserved?: ReservedIdentityName;
  /** The namespace of a cluster identity ('' for reserved ones). */
  readonly namespace: string;
  /**
   * The identity's label set: the pod's labels (minus per-pod ones such as `pod-template-hash`),
   * plus `io.kubernetes.pod.namespace=<ns>`, `io.cilium.k8s.policy.serviceaccount=<sa>` and the
   * namespace's labels as `io.cilium.k8s.namespace.labels.<key>=<value>`, as Cilium derives them.
   * Reserved identities carry `reserved:<name>` as their one label.
   */
  readonly labels: Readonly<Record<string, string>>;
  /** Keys of the workloads with this identity, sorted (empty for reserved ones). */
  readonly workloads: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Routes (Gateway API HTTPRoute / GRPCRoute attached to Services, per GAMMA)

export interface RouteView {
  /** Object key, e.g. `HTTPRoute/shop/orders-canary`. */
  readonly key: string;
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly namespace: string;
  readonly name: string;
  readonly hostnames: readonly string[];
  /**
   * Status per Service parentRef (GAMMA), as Gateway API writes it: conditions `Accepted`
   * (True/`Accepted`, or False/`NoMatchingParent` when the Service or the port/sectionName does
   * not exist) and `ResolvedRefs` (True/`ResolvedRefs`, or False with the reason of the first
   * unresolved backendRef: `BackendNotFound` | `RefNotPermitted` | `InvalidKind`; the message
   * lists them all). parentRefs of other kinds (Gateways) are not the mesh's and get no entry.
   * controllerName is ROUTE_CONTROLLER_NAME.
   */
  readonly parents: readonly RouteParentStatus[];
  /** Service port keys this route attached to. */
  readonly attachedTo: readonly string[];
}

export const ROUTE_CONTROLLER_NAME = 'skiff.io/mesh-controller';

/** The routes in force on one Service port, merged across routes and ordered by precedence. */
export interface ServicePortRoutes {
  /** servicePortKey(service, port, protocol). */
  readonly key: string;
  /** `namespace/name` of the Service (the GAMMA parent). */
  readonly service: string;
  readonly port: number;
  readonly protocol: L4Protocol;
  /** The service's VIPs (copied for convenience). */
  readonly vips: readonly string[];
  /**
   * HTTPRoute matches, highest precedence first: exact path > longest prefix/regex path >
   * method > most headers > most query params > oldest route (creationTimestamp) > `ns/name` >
   * rule index > match index. Only producer routes (in the Service's namespace) attach: consumer
   * routes are refused (status Accepted=False, UnsupportedValue).
   */
  readonly http: readonly AttachedHttpMatch[];
  /**
   * GRPCRoute matches, highest precedence first: longest exact service+method >
   * service-only/method-only > most headers > oldest route > `ns/name` > rule index > match index.
   * When a port has both kinds, GRPCRoute matches are meant to be tried first (gRPC requests are
   * HTTP/2 POSTs to /service/method).
   */
  readonly grpc: readonly AttachedGrpcMatch[];
}

/** What every attached match has, HTTP or gRPC. */
export interface AttachedRouteMatchBase {
  /** Object key of the route. */
  readonly route: string;
  readonly ruleIndex: number;
  /** Index in rule.matches; 0 for a rule without matches (it matches everything). */
  readonly matchIndex: number;
  readonly ruleName?: string;
  /** Route hostnames (empty = any). */
  readonly hostnames: readonly string[];
  readonly filters: readonly HTTPRouteFilter[];
  /**
   * The rule's backends. Unresolved ones stay in the list (resolved=false, with the reason) with
   * their weight, so the translator can answer 500 for their share as Gateway API requires. A
   * rule without backendRefs has an empty list (the translator answers 500, or the filter's
   * redirect).
   */
  readonly backends: readonly ResolvedBackend[];
}

export interface AttachedHttpMatch extends AttachedRouteMatchBase {
  readonly kind: 'HTTPRoute';
  /** Defaults filled in: a match without path is PathPrefix `/`. */
  readonly path: { readonly type: PathMatchType; readonly value: string };
  readonly method?: HTTPMethod;
  /** Defaults filled in (type Exact). */
  readonly headers: readonly (HTTPHeaderMatch & { readonly type: StringMatchType })[];
  readonly queryParams: readonly (HTTPQueryParamMatch & { readonly type: StringMatchType })[];
  readonly timeouts?: { readonly request?: string; readonly backendRequest?: string };
  readonly retry?: HTTPRouteRetry;
}

export interface AttachedGrpcMatch extends AttachedRouteMatchBase {
  readonly kind: 'GRPCRoute';
  /** Absent = any method. type defaults to Exact. */
  readonly method?: { readonly type: StringMatchType; readonly service?: string; readonly method?: string };
  readonly headers: readonly (HTTPHeaderMatch & { readonly type: StringMatchType })[];
}

export type BackendRefReason = 'BackendNotFound' | 'RefNotPermitted' | 'InvalidKind';

export interface ResolvedBackend {
  /** The backendRef as written. */
  readonly ref: BackendRef;
  /** weight, default 1 (0 = no traffic). */
  readonly weight: number;
  readonly resolved: boolean;
  /** Why it did not resolve. */
  readonly reason?: BackendRefReason;
  readonly message?: string;
  /** `namespace/name` of the backend Service when resolved. */
  readonly service?: string;
  /** The backend Service port (ref.port, or the parent port when omitted). */
  readonly port?: number;
  readonly fqdn?: string;
  readonly filters: readonly HTTPRouteFilter[];
}

// ---------------------------------------------------------------------------------------------
// Policies, normalized

export type Direction = 'ingress' | 'egress';
export type Verdict = 'allow' | 'deny';
export type PolicyKind = 'NetworkPolicy' | 'CiliumNetworkPolicy' | 'AuthorizationPolicy';

/**
 * Which layer a rule belongs to. `network` (NetworkPolicy, CiliumNetworkPolicy) and `authorization`
 * (AuthorizationPolicy) are evaluated separately and a flow must pass both.
 */
export type PolicyLayer = 'network' | 'authorization';

/** A port range of a rule. port 0 means every port; endPort === port for a single port. */
export interface PortRange {
  /** 'ANY' = TCP, UDP and SCTP. */
  readonly protocol: L4Protocol | 'ANY';
  readonly port: number;
  readonly endPort: number;
}

export interface CidrPeer {
  readonly cidr: string;
  readonly except: readonly string[];
}

/** The peers a rule applies to: the union of everything listed. */
export interface PeerSet {
  /** True = any peer at all (no peer restriction in the rule). The other fields are then empty. */
  readonly any: boolean;
  /** Numeric identities (cluster and reserved) of matching peers, sorted ascending. */
  readonly identities: readonly number[];
  /** Non-mesh peers by address. */
  readonly cidrs: readonly CidrPeer[];
  /**
   * AuthorizationPolicy only: SPIFFE IDs matched (exact, or prefix/suffix with `*` as written:
   * `cluster.local/ns/shop/sa/frontend` → `spiffe://cluster.local/ns/shop/sa/frontend`). The
   * identities above are the workloads these and `namespaces` match now; the translator should
   * match on principals, the redirector on identities.
   */
  readonly principals: readonly StringMatch[];
  /** AuthorizationPolicy only: source namespaces as written. */
  readonly namespaces: readonly string[];
  /**
   * AuthorizationPolicy only: negative matches of the source (notPrincipals, notNamespaces,
   * notIpBlocks); a peer matching any of them is not in the set.
   */
  readonly not?: {
    readonly principals: readonly StringMatch[];
    readonly namespaces: readonly string[];
    readonly cidrs: readonly string[];
    /** Identities excluded by the above (subtract them from `identities`/any). */
    readonly identities: readonly number[];
  };
}

export interface StringMatch {
  readonly type: 'exact' | 'prefix' | 'suffix' | 'regex' | 'any';
  readonly value: string;
}

/**
 * One L7 (HTTP) condition; a request matches when every non-empty list matches
 * (each list is any-of, `not*` lists none-of). All lists empty = any request.
 * Cilium `method`/`path` are regexes (type regex, anchored); Istio's `/x*`, `*x`, `*` become
 * prefix/suffix/any.
 */
export interface HttpRule {
  readonly methods: readonly StringMatch[];
  readonly paths: readonly StringMatch[];
  readonly hosts: readonly StringMatch[];
  /** Header conditions, all of which must hold (`present` when value is absent). */
  readonly headers: readonly HeaderCondition[];
  readonly notMethods: readonly StringMatch[];
  readonly notPaths: readonly StringMatch[];
  readonly notHosts: readonly StringMatch[];
}

export interface HeaderCondition {
  readonly name: string;
  readonly match: StringMatch | { readonly type: 'present'; readonly value: '' };
  /** True: the rule requires the header NOT to match. */
  readonly invert: boolean;
}

/** An AuthorizationPolicy `when` condition, as written. */
export interface WhenCondition {
  readonly key: string;
  readonly values: readonly string[];
  readonly notValues: readonly string[];
}

/**
 * One normalized rule: traffic in `direction` between the selected workload and a peer in
 * `peers`, on one of `ports` (empty = every port and protocol), gets `verdict`.
 * A rule with `http` rules is an L3/L4 allow whose requests the proxy must then check: on those
 * ports the flow needs L7 and the proxy lets through only requests matching one of the HttpRules
 * of the allow rules for that peer and port.
 * Deny rules never carry http (Cilium deny rules are L3/L4; an Istio DENY with operations keeps
 * them in http and is enforced by the proxy: its `verdict` is deny and `http` lists the requests denied).
 */
export interface PolicyRule {
  readonly direction: Direction;
  readonly verdict: Verdict;
  readonly layer: PolicyLayer;
  readonly peers: PeerSet;
  readonly ports: readonly PortRange[];
  /** Ports as written that are names (NetworkPolicy / CNP / Istio), resolved per workload in WorkloadPolicy. */
  readonly namedPorts: readonly { readonly name: string; readonly protocol: L4Protocol | 'ANY' }[];
  /** L7 conditions; empty = L3/L4 only. */
  readonly http: readonly HttpRule[];
  /** AuthorizationPolicy `when` conditions, all of which must hold (L7 when a key starts with `request.`). */
  readonly when: readonly WhenCondition[];
  /** Object key of the policy and the path of the rule in it, e.g. `spec.ingress[0]`. */
  readonly origin: { readonly policy: string; readonly field: string };
}

export interface ResolvedPolicy {
  /** Object key. */
  readonly key: string;
  readonly kind: PolicyKind;
  readonly namespace: string;
  readonly name: string;
  readonly layer: PolicyLayer;
  /** Identities of the workloads the policy applies to, sorted. */
  readonly selectedIdentities: readonly number[];
  /** Keys of the workloads the policy applies to, sorted. */
  readonly selectedWorkloads: readonly string[];
  /**
   * The directions in which selected workloads become default-deny because of this policy:
   * NetworkPolicy per policyTypes (default Ingress, plus Egress when egress rules exist); CNP per
   * the sections present (ingress/ingressDeny → ingress, egress/egressDeny → egress); Istio ALLOW
   * → ingress (authorization layer); Istio DENY/AUDIT/CUSTOM → none.
   */
  readonly enforces: readonly Direction[];
  readonly rules: readonly PolicyRule[];
}

/** The rules in force for one workload in one direction of one layer. */
export interface DirectionPolicy {
  /**
   * True once any policy of this layer selects the workload in this direction (it is then default
   * deny: a flow not allowed by a rule is dropped, as NetworkPolicy specifies). False = allow all.
   */
  readonly selected: boolean;
  /** Rules with named ports resolved to numbers (against this workload's container ports for ingress, the peers' for egress). Deny wins over allow. */
  readonly rules: readonly PolicyRule[];
  /** Object keys of the policies that select it in this direction, sorted. */
  readonly policies: readonly string[];
}

export interface WorkloadPolicy {
  readonly workload: string;
  readonly identity: number;
  /** NetworkPolicy + CiliumNetworkPolicy, ingress. */
  readonly ingress: DirectionPolicy;
  /** NetworkPolicy + CiliumNetworkPolicy, egress. */
  readonly egress: DirectionPolicy;
  /**
   * AuthorizationPolicy (ingress only): DENY rules first; then, when `selected` (some ALLOW policy
   * applies), a request must match an allow rule. An ALLOW policy without rules denies everything.
   */
  readonly authorization: DirectionPolicy;
}

// ---------------------------------------------------------------------------------------------
// The needs-L7 set

export type L7ReasonKind = 'route' | 'l7-policy' | 'waypoint';

export interface L7Reason {
  readonly kind: L7ReasonKind;
  /** Object key of the route, policy or waypoint Gateway (or the Namespace/Service carrying the label). */
  readonly source: string;
  /** A sentence for `skiff mesh`, e.g. `HTTPRoute/shop/orders-canary attaches to shop/orders:80`. */
  readonly detail: string;
}

export interface WorkloadPortL7 {
  /** workloadPortKey(workload, port, protocol). */
  readonly key: string;
  readonly workload: string;
  /** 0 = every port of the workload. */
  readonly port: number;
  readonly protocol: L4Protocol;
  /** Always true for entries present in the set (kept explicit for JSON consumers). */
  readonly needsL7: true;
  readonly reasons: readonly L7Reason[];
}

export interface ServicePortL7 {
  /** servicePortKey(service, port, protocol). */
  readonly key: string;
  readonly service: string;
  readonly vips: readonly string[];
  readonly port: number;
  readonly protocol: L4Protocol;
  readonly needsL7: true;
  readonly reasons: readonly L7Reason[];
}

// ---------------------------------------------------------------------------------------------
// Key helpers

/**
 * `|port/protocol`, made once per port and protocol: keys are the workload or service key joined
 * with it, one join (and no string of their own for the parts) per key, 10,000s of keys.
 */
const portSuffixes = new Map<string, Map<number, string>>([
  ['TCP', new Map()],
  ['UDP', new Map()],
  ['SCTP', new Map()],
]);

function portSuffix(port: number, protocol: L4Protocol): string {
  const suffixes = portSuffixes.get(protocol);
  const cached = suffixes?.get(port);
  if (cached !== undefined) return cached;
  const suffix = `|${port}/${protocol}`;
  // Only real port numbers are kept (input that skipped validation may carry anything).
  if (suffixes && Number.isInteger(port) && port >= 0 && port < 65536) suffixes.set(port, suffix);
  return suffix;
}

/** The key of a workload port in `MeshSnapshot.l7`. */
export function workloadPortKey(workload: string, port: number, protocol: L4Protocol): string {
  return workload + portSuffix(port, protocol);
}

/** The key of a service port in `MeshSnapshot.attachments` and `MeshSnapshot.serviceL7`. */
export function servicePortKey(service: string, port: number, protocol: L4Protocol): string {
  return service + portSuffix(port, protocol);
}

/** True when a flow to (workload, port, protocol) must go to the proxy (fail closed on port 0 marks). */
export function needsL7(snapshot: MeshSnapshot, workload: string, port: number, protocol: L4Protocol): boolean {
  return snapshot.l7.has(workloadPortKey(workload, port, protocol)) || snapshot.l7.has(workloadPortKey(workload, 0, protocol));
}

/** Re-exported for consumers that only import the snapshot module. */
export type { ParentReference, RouteParentStatus };
