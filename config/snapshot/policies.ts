// NetworkPolicy, CiliumNetworkPolicy and AuthorizationPolicy normalized into one rule shape:
// which identities a policy selects, and per rule the direction, peers (identities and CIDRs),
// ports, verdict and L7 (HTTP) conditions. Named ports stay named here; WorkloadPolicy resolves them.
import type { ConfigIssue } from '../source.js';
import type {
  AuthorizationPolicy,
  CiliumEgressRule,
  CiliumHTTPRule,
  CiliumIngressRule,
  CiliumNetworkPolicy,
  CiliumPortRule,
  CiliumRule,
  IstioOperation,
  IstioRule,
  IstioSource,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
} from '../resources.js';
import type { IdentitySelector } from './selector-cache.js';
import type { Mutable } from './services.js';
import { NAMESPACE_LABEL, selectorUsesKey } from './labels.js';
import { EMPTY_LIST, frozenList } from './frozen.js';
import { sortedStrings } from './sorted.js';
import type {
  CidrPeer,
  Direction,
  HeaderCondition,
  HttpRule,
  L4Protocol,
  PeerSet,
  PolicyKind,
  PolicyLayer,
  PolicyRule,
  PortRange,
  ResolvedPolicy,
  ServiceView,
  StringMatch,
  Verdict,
  WhenCondition,
} from './types.js';
import { RESERVED_IDENTITIES } from './types.js';

export type Policy = NetworkPolicy | CiliumNetworkPolicy | AuthorizationPolicy;

/** Rules that apply to the identities one selector matches (a CNP with `specs` has several). */
export interface RuleGroup {
  readonly selected: readonly number[];
  readonly enforces: readonly Direction[];
  readonly rules: readonly PolicyRule[];
}

export interface PolicyResult {
  readonly policy: ResolvedPolicy;
  readonly groups: readonly RuleGroup[];
  /** Services the policy targets (AuthorizationPolicy targetRefs), found or not. */
  readonly services: readonly string[];
  /** True when some egress rule has a named port (resolved against the peers' pods). */
  readonly namedEgress: boolean;
  readonly issues: readonly ConfigIssue[];
}

export interface PolicyContext {
  readonly trustDomain: string;
  /** Identities a selector matches, sorted (registered for the policy being computed). */
  select(selector: IdentitySelector): readonly number[];
  workloadsOf(identity: number): Iterable<string>;
  service(key: string): ServiceView | undefined;
}

/** Istio's root namespace: a policy there without selector applies mesh-wide. */
const ROOT_NAMESPACE = 'istio-system';

const ANY_PEER: PeerSet = Object.freeze({ any: true, identities: EMPTY_LIST, cidrs: EMPTY_LIST, principals: EMPTY_LIST, namespaces: EMPTY_LIST });

function union(lists: readonly (readonly number[])[]): number[] {
  const set = new Set<number>();
  for (const list of lists) for (const id of list) set.add(id);
  return [...set].sort((a, b) => a - b);
}

function peerSet(identities: readonly number[], cidrs: readonly CidrPeer[]): PeerSet {
  return Object.freeze({ any: false, identities: Object.freeze([...identities]), cidrs: frozenList(cidrs), principals: EMPTY_LIST, namespaces: EMPTY_LIST });
}

interface Builder {
  key: string;
  namespace: string;
  ctx: PolicyContext;
  issues: ConfigIssue[];
  namedEgress: boolean;
}

function issue(b: Builder, field: string, message: string, severity: 'error' | 'warning' = 'warning'): void {
  b.issues.push({ severity, source: 'snapshot', object: b.key, field, message });
}

function rule(
  b: Builder,
  layer: PolicyLayer,
  direction: Direction,
  verdict: Verdict,
  peers: PeerSet,
  ports: { ports: PortRange[]; named: { name: string; protocol: L4Protocol | 'ANY' }[] },
  http: HttpRule[],
  when: WhenCondition[],
  field: string,
): PolicyRule {
  if (direction === 'egress' && ports.named.length > 0) b.namedEgress = true;
  return Object.freeze({
    direction,
    verdict,
    layer,
    peers,
    ports: frozenList(ports.ports),
    namedPorts: frozenList(ports.named),
    http: frozenList(http),
    when: frozenList(when),
    origin: Object.freeze({ policy: b.key, field }),
  });
}

function parsePortNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

// ---- NetworkPolicy ----

function networkPolicyPeers(b: Builder, peers: NetworkPolicyPeer[] | undefined): PeerSet {
  if (!peers || peers.length === 0) return ANY_PEER;
  const identities: (readonly number[])[] = [];
  const cidrs: CidrPeer[] = [];
  for (const peer of peers) {
    if (peer.ipBlock) {
      cidrs.push(Object.freeze({ cidr: peer.ipBlock.cidr, except: Object.freeze(peer.ipBlock.except ?? []) }));
      continue;
    }
    const selector: IdentitySelector = peer.namespaceSelector
      ? { kind: 'pods', namespaceSelector: peer.namespaceSelector, ...(peer.podSelector ? { podSelector: peer.podSelector } : {}) }
      : { kind: 'pods', namespace: b.namespace, podSelector: peer.podSelector ?? {} };
    identities.push(b.ctx.select(selector));
  }
  return peerSet(union(identities), cidrs);
}

function networkPolicyPorts(ports: NetworkPolicyPort[] | undefined): { ports: PortRange[]; named: { name: string; protocol: L4Protocol }[] } {
  const out: PortRange[] = [];
  const named: { name: string; protocol: L4Protocol }[] = [];
  for (const p of ports ?? []) {
    const protocol = p.protocol ?? 'TCP';
    if (typeof p.port === 'string') {
      const n = parsePortNumber(p.port);
      if (n === undefined) named.push({ name: p.port, protocol });
      else out.push(Object.freeze({ protocol, port: n, endPort: p.endPort ?? n }));
    } else if (p.port === undefined) {
      out.push(Object.freeze({ protocol, port: 0, endPort: 0 }));
    } else {
      out.push(Object.freeze({ protocol, port: p.port, endPort: p.endPort ?? p.port }));
    }
  }
  return { ports: out, named };
}

function normalizeNetworkPolicy(b: Builder, policy: NetworkPolicy): RuleGroup[] {
  const spec = policy.spec ?? { podSelector: {} };
  const selected = b.ctx.select({ kind: 'pods', namespace: b.namespace, podSelector: spec.podSelector ?? {} });
  const types = spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
  const enforces: Direction[] = [];
  const rules: PolicyRule[] = [];
  if (types.includes('Ingress')) {
    enforces.push('ingress');
    (spec.ingress ?? []).forEach((r, i) => {
      rules.push(rule(b, 'network', 'ingress', 'allow', networkPolicyPeers(b, r.from), networkPolicyPorts(r.ports), [], [], `spec.ingress[${i}]`));
    });
  }
  if (types.includes('Egress')) {
    enforces.push('egress');
    (spec.egress ?? []).forEach((r, i) => {
      rules.push(rule(b, 'network', 'egress', 'allow', networkPolicyPeers(b, r.to), networkPolicyPorts(r.ports), [], [], `spec.egress[${i}]`));
    });
  }
  return [{ selected, enforces, rules }];
}

// ---- CiliumNetworkPolicy ----

const ENTITY_IDS: Record<string, number[]> = {
  world: [RESERVED_IDENTITIES.world],
  host: [RESERVED_IDENTITIES.host],
  'remote-node': [RESERVED_IDENTITIES['remote-node']],
  health: [RESERVED_IDENTITIES.health],
  init: [RESERVED_IDENTITIES.init],
  unmanaged: [RESERVED_IDENTITIES.unmanaged],
  'kube-apiserver': [RESERVED_IDENTITIES['kube-apiserver']],
  ingress: [RESERVED_IDENTITIES.ingress],
  cluster: [RESERVED_IDENTITIES.host, RESERVED_IDENTITIES.health, RESERVED_IDENTITIES.init, RESERVED_IDENTITIES['remote-node']],
};

function ciliumEndpointSelector(b: Builder, selector: LabelSelector): IdentitySelector {
  if (selectorUsesKey(selector, NAMESPACE_LABEL)) return { kind: 'pods', podSelector: selector };
  return { kind: 'pods', namespace: b.namespace, podSelector: selector };
}

/** The peers of a CNP rule, or undefined for an empty rule (default deny, no peer). */
function ciliumPeers(
  b: Builder,
  endpoints: LabelSelector[] | undefined,
  cidr: string[] | undefined,
  cidrSet: { cidr: string; except?: string[] }[] | undefined,
  entities: string[] | undefined,
  hasPorts: boolean,
  field: string,
): PeerSet | undefined {
  if (!endpoints && !cidr && !cidrSet && !entities) return hasPorts ? ANY_PEER : undefined;
  if ((entities ?? []).includes('all')) return ANY_PEER;
  const identities: (readonly number[])[] = [];
  for (const selector of endpoints ?? []) identities.push(b.ctx.select(ciliumEndpointSelector(b, selector)));
  for (const entity of entities ?? []) {
    const ids = ENTITY_IDS[entity];
    if (!ids) {
      issue(b, field, `unknown entity '${entity}'`);
      continue;
    }
    identities.push(ids);
    if (entity === 'cluster') identities.push(b.ctx.select({ kind: 'pods' }));
  }
  const cidrs: CidrPeer[] = [
    ...(cidr ?? []).map((c) => Object.freeze({ cidr: c, except: EMPTY_LIST })),
    ...(cidrSet ?? []).map((c) => Object.freeze({ cidr: c.cidr, except: Object.freeze(c.except ?? []) })),
  ];
  return peerSet(union(identities), cidrs);
}

function regex(value: string | undefined): StringMatch[] {
  return value === undefined ? [] : [Object.freeze({ type: 'regex' as const, value })];
}

function header(name: string, value: string | undefined): HeaderCondition {
  const match: HeaderCondition['match'] = value === undefined ? { type: 'present', value: '' } : { type: 'exact', value };
  return Object.freeze({ name, match, invert: false });
}

function ciliumHttp(r: CiliumHTTPRule): HttpRule {
  const headers: HeaderCondition[] = [];
  for (const h of r.headers ?? []) {
    const colon = h.indexOf(':');
    headers.push(colon < 0 ? header(h.trim(), undefined) : header(h.slice(0, colon).trim(), h.slice(colon + 1).trim()));
  }
  for (const m of r.headerMatches ?? []) headers.push(header(m.name, m.value));
  return Object.freeze({
    methods: regex(r.method),
    paths: regex(r.path),
    hosts: regex(r.host),
    headers,
    notMethods: EMPTY_LIST,
    notPaths: EMPTY_LIST,
    notHosts: EMPTY_LIST,
  });
}

function ciliumPorts(rule: CiliumPortRule): { ports: PortRange[]; named: { name: string; protocol: L4Protocol | 'ANY' }[] } {
  const ports: PortRange[] = [];
  const named: { name: string; protocol: L4Protocol | 'ANY' }[] = [];
  for (const p of rule.ports ?? []) {
    const protocol = p.protocol ?? 'ANY';
    const n = parsePortNumber(String(p.port));
    if (n === undefined) named.push({ name: String(p.port), protocol });
    else ports.push(Object.freeze({ protocol, port: n, endPort: n === 0 ? 0 : (p.endPort ?? n) }));
  }
  return { ports, named };
}

function ciliumSection(
  b: Builder,
  direction: Direction,
  verdict: Verdict,
  section: (CiliumIngressRule | CiliumEgressRule)[],
  field: string,
  out: PolicyRule[],
): void {
  section.forEach((r, i) => {
    const at = `${field}[${i}]`;
    const ingress = r as CiliumIngressRule;
    const egress = r as CiliumEgressRule;
    const peers =
      direction === 'ingress'
        ? ciliumPeers(b, ingress.fromEndpoints, ingress.fromCIDR, ingress.fromCIDRSet, ingress.fromEntities, !!r.toPorts, at)
        : ciliumPeers(b, egress.toEndpoints, egress.toCIDR, egress.toCIDRSet, egress.toEntities, !!r.toPorts, at);
    if (!peers) return;
    if (!r.toPorts || r.toPorts.length === 0) {
      out.push(rule(b, 'network', direction, verdict, peers, { ports: [], named: [] }, [], [], at));
      return;
    }
    r.toPorts.forEach((portRule, j) => {
      const http = (portRule.rules?.http ?? []).map(ciliumHttp);
      if (verdict === 'deny' && http.length > 0) issue(b, `${at}.toPorts[${j}].rules`, 'L7 rules in a deny section are ignored (Cilium deny rules are L3/L4)');
      out.push(rule(b, 'network', direction, verdict, peers, ciliumPorts(portRule), verdict === 'deny' ? [] : http, [], `${at}.toPorts[${j}]`));
    });
  });
}

function normalizeCilium(b: Builder, policy: CiliumNetworkPolicy): RuleGroup[] {
  const specs: [CiliumRule, string][] = [];
  if (policy.spec) specs.push([policy.spec, 'spec']);
  (policy.specs ?? []).forEach((s, i) => specs.push([s, `specs[${i}]`]));
  return specs.map(([spec, field]) => {
    const selected = b.ctx.select(ciliumEndpointSelector(b, spec.endpointSelector ?? {}));
    const rules: PolicyRule[] = [];
    const enforces: Direction[] = [];
    if ((spec.ingress?.length ?? 0) > 0 || (spec.ingressDeny?.length ?? 0) > 0) enforces.push('ingress');
    if ((spec.egress?.length ?? 0) > 0 || (spec.egressDeny?.length ?? 0) > 0) enforces.push('egress');
    ciliumSection(b, 'ingress', 'allow', spec.ingress ?? [], `${field}.ingress`, rules);
    ciliumSection(b, 'ingress', 'deny', spec.ingressDeny ?? [], `${field}.ingressDeny`, rules);
    ciliumSection(b, 'egress', 'allow', spec.egress ?? [], `${field}.egress`, rules);
    ciliumSection(b, 'egress', 'deny', spec.egressDeny ?? [], `${field}.egressDeny`, rules);
    return { selected, enforces, rules };
  });
}

// ---- AuthorizationPolicy ----

/** Istio string patterns: `*` any, `x*` prefix, `*x` suffix, otherwise exact. */
function istioMatch(pattern: string, prefix = ''): StringMatch {
  if (pattern === '*') return { type: 'any', value: '' };
  if (pattern.endsWith('*')) return { type: 'prefix', value: prefix + pattern.slice(0, -1) };
  if (pattern.startsWith('*')) return { type: 'suffix', value: pattern.slice(1) };
  return { type: 'exact', value: prefix + pattern };
}

function istioMatches(patterns: string[] | undefined, prefix = ''): StringMatch[] {
  return (patterns ?? []).map((p) => Object.freeze(istioMatch(p, prefix)));
}

function istioPeers(b: Builder, source: IstioSource | undefined, field: string): PeerSet {
  if (!source) return ANY_PEER;
  const principals = istioMatches(source.principals, 'spiffe://');
  const namespaces = istioMatches(source.namespaces);
  const cidrs = [...(source.ipBlocks ?? []), ...(source.remoteIpBlocks ?? [])].map((c) => Object.freeze({ cidr: c, except: EMPTY_LIST }));
  const byIdentity = principals.length > 0 || namespaces.length > 0;
  if (byIdentity && cidrs.length > 0) issue(b, field, 'ipBlocks together with principals/namespaces: the address condition is enforced by the proxy only');
  const select = (p: StringMatch[], n: StringMatch[]) => b.ctx.select({ kind: 'istio', trustDomain: b.ctx.trustDomain, principals: p, namespaces: n });
  const notPrincipals = istioMatches(source.notPrincipals, 'spiffe://');
  const notNamespaces = istioMatches(source.notNamespaces);
  const notCidrs = [...(source.notIpBlocks ?? []), ...(source.notRemoteIpBlocks ?? [])];
  const hasNot = notPrincipals.length > 0 || notNamespaces.length > 0 || notCidrs.length > 0;
  const not = hasNot
    ? Object.freeze({
        principals: Object.freeze(notPrincipals),
        namespaces: Object.freeze(source.notNamespaces ?? []),
        cidrs: Object.freeze(notCidrs),
        identities: Object.freeze(union([notPrincipals.length > 0 ? select(notPrincipals, []) : [], notNamespaces.length > 0 ? select([], notNamespaces) : []])),
      })
    : undefined;
  const peers: Mutable<PeerSet> = {
    any: !byIdentity && cidrs.length === 0,
    identities: byIdentity ? select(principals, namespaces) : EMPTY_LIST,
    cidrs: Object.freeze(byIdentity ? [] : cidrs),
    principals: Object.freeze(principals),
    namespaces: Object.freeze(source.namespaces ?? []),
  };
  if (not) peers.not = not;
  return Object.freeze(peers);
}

function istioOperation(b: Builder, op: IstioOperation | undefined, field: string): { ports: PortRange[]; http: HttpRule[] } {
  if (!op) return { ports: [], http: [] };
  const ports: PortRange[] = [];
  for (const text of op.ports ?? []) {
    const n = parsePortNumber(text);
    if (n === undefined) issue(b, `${field}.ports`, `port '${text}' is not a number`, 'error');
    else ports.push(Object.freeze({ protocol: 'TCP', port: n, endPort: n }));
  }
  if ((op.notPorts ?? []).length > 0) issue(b, `${field}.notPorts`, 'notPorts is enforced by the proxy only');
  const l7 = [op.methods, op.paths, op.hosts, op.notMethods, op.notPaths, op.notHosts].some((l) => (l ?? []).length > 0);
  if (!l7) return { ports, http: [] };
  const http: HttpRule = Object.freeze({
    methods: istioMatches(op.methods),
    paths: istioMatches(op.paths),
    hosts: istioMatches(op.hosts),
    headers: EMPTY_LIST,
    notMethods: istioMatches(op.notMethods),
    notPaths: istioMatches(op.notPaths),
    notHosts: istioMatches(op.notHosts),
  });
  return { ports, http: [http] };
}

function istioWhen(r: IstioRule, source: IstioSource | undefined): WhenCondition[] {
  const when: WhenCondition[] = (r.when ?? []).map((c) => Object.freeze({ key: c.key, values: Object.freeze(c.values ?? []), notValues: Object.freeze(c.notValues ?? []) }));
  if ((source?.requestPrincipals ?? []).length > 0 || (source?.notRequestPrincipals ?? []).length > 0) {
    when.push(Object.freeze({ key: 'request.auth.principal', values: Object.freeze(source?.requestPrincipals ?? []), notValues: Object.freeze(source?.notRequestPrincipals ?? []) }));
  }
  return when;
}

function authorizationSelection(b: Builder, policy: AuthorizationPolicy, services: string[]): readonly number[] {
  const spec = policy.spec ?? {};
  if (spec.targetRefs && spec.targetRefs.length > 0) {
    const lists: (readonly number[])[] = [];
    spec.targetRefs.forEach((ref, i) => {
      const field = `spec.targetRefs[${i}]`;
      if (ref.kind !== 'Service' || !['', 'core', undefined].includes(ref.group)) {
        issue(b, field, `targetRef kind ${ref.kind} is not supported; only Service`, 'error');
        return;
      }
      const key = `${ref.namespace ?? b.namespace}/${ref.name}`;
      services.push(key);
      const service = b.ctx.service(key);
      if (!service) issue(b, field, `Service ${key} not found`, 'error');
      else if (service.selector) lists.push(b.ctx.select({ kind: 'pods', namespace: service.namespace, podSelector: { matchLabels: { ...service.selector } } }));
    });
    return union(lists);
  }
  if (spec.selector) return b.ctx.select({ kind: 'pods', namespace: b.namespace, podSelector: spec.selector });
  return b.ctx.select(b.namespace === ROOT_NAMESPACE ? { kind: 'pods' } : { kind: 'pods', namespace: b.namespace });
}

function normalizeAuthorization(b: Builder, policy: AuthorizationPolicy, services: string[]): RuleGroup[] {
  const spec = policy.spec ?? {};
  const action = spec.action ?? 'ALLOW';
  const selected = authorizationSelection(b, policy, services);
  if (action === 'AUDIT') return [{ selected, enforces: [], rules: [] }];
  if (action === 'CUSTOM') {
    issue(b, 'spec.action', 'CUSTOM (external authorization) is not supported; the policy is ignored', 'error');
    return [{ selected, enforces: [], rules: [] }];
  }
  const verdict: Verdict = action === 'ALLOW' ? 'allow' : 'deny';
  const rules: PolicyRule[] = [];
  (spec.rules ?? []).forEach((r, i) => {
    const sources = r.from && r.from.length > 0 ? r.from.map((f) => f.source) : [undefined];
    const operations = r.to && r.to.length > 0 ? r.to.map((t) => t.operation) : [undefined];
    sources.forEach((source, s) => {
      const peers = istioPeers(b, source, `spec.rules[${i}].from[${s}].source`);
      operations.forEach((op, o) => {
        const { ports, http } = istioOperation(b, op, `spec.rules[${i}].to[${o}].operation`);
        rules.push(rule(b, 'authorization', 'ingress', verdict, peers, { ports, named: [] }, http, istioWhen(r, source), `spec.rules[${i}]`));
      });
    });
  });
  return [{ selected, enforces: verdict === 'allow' ? ['ingress'] : [], rules }];
}

// ----

export function computePolicy(policy: Policy, ctx: PolicyContext): PolicyResult {
  const namespace = policy.metadata.namespace ?? '';
  const key = `${policy.kind}/${namespace}/${policy.metadata.name}`;
  const b: Builder = { key, namespace, ctx, issues: [], namedEgress: false };
  const services: string[] = [];
  let groups: RuleGroup[];
  let layer: PolicyLayer = 'network';
  if (policy.kind === 'NetworkPolicy') groups = normalizeNetworkPolicy(b, policy);
  else if (policy.kind === 'CiliumNetworkPolicy') groups = normalizeCilium(b, policy);
  else {
    layer = 'authorization';
    groups = normalizeAuthorization(b, policy, services);
  }
  const selectedIdentities = union(groups.map((g) => g.selected));
  const workloads = new Set<string>();
  for (const id of selectedIdentities) for (const w of ctx.workloadsOf(id)) workloads.add(w);
  const enforces = new Set(groups.flatMap((g) => g.enforces));
  const resolved: ResolvedPolicy = Object.freeze({
    key,
    kind: policy.kind as PolicyKind,
    namespace,
    name: policy.metadata.name,
    layer,
    selectedIdentities: Object.freeze(selectedIdentities),
    selectedWorkloads: frozenList(sortedStrings(workloads)),
    enforces: Object.freeze((['ingress', 'egress'] as const).filter((d) => enforces.has(d))),
    rules: frozenList(groups.flatMap((g) => g.rules)),
  });
  return { policy: resolved, groups, services, namedEgress: b.namedEgress, issues: b.issues };
}
