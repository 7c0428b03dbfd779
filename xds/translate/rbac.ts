// The RBAC HTTP filters of one destination (workload port), compiled from the policy in force on
// it: the network layer (NetworkPolicy/CiliumNetworkPolicy ingress rules with `rules.http`) as one
// ALLOW filter, and the authorization layer (AuthorizationPolicy) as a DENY then an ALLOW filter.
// Sources match by the client's address (the redirector keeps the client IP) and, over mutual
// TLS, by its SPIFFE principal. What cannot be compiled fails closed and is reported.
import type {
  DirectionPolicy,
  HeaderCondition,
  HttpRule,
  PeerSet,
  PolicyRule,
  ServicePortView,
  ServiceView,
  StringMatch,
  WhenCondition,
  WorkloadPolicy,
} from '../../config/snapshot/types.js';
import { escapeRegex } from './routes.js';
import type { IssueSink } from './routes.js';
import type { Json } from './types.js';

const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

/** Resolves a numeric identity to the addresses of its workloads (as CIDR host prefixes). */
export type IdentityAddresses = (identity: number) => readonly string[];

function stringMatcher(m: StringMatch): Json {
  switch (m.type) {
    case 'exact':
      return { exact: m.value };
    case 'prefix':
      return { prefix: m.value };
    case 'suffix':
      return { suffix: m.value };
    case 'regex':
      return { safe_regex: { regex: m.value } };
    default:
      return { safe_regex: { regex: '.*' } };
  }
}

function cidrRange(cidr: string): Json {
  const [address, len] = cidr.split('/');
  const prefix = len !== undefined ? Number(len) : (address as string).includes(':') ? 128 : 32;
  return { address_prefix: address, prefix_len: { value: prefix } };
}

function anyOf<T>(items: readonly T[], one: (item: T) => Json, key: 'or_rules' | 'or_ids'): Json | undefined {
  if (items.length === 0) return undefined;
  if (items.length === 1) return one(items[0] as T);
  return { [key]: { [key === 'or_rules' ? 'rules' : 'ids']: items.map(one) } };
}

function allOf(items: Json[], key: 'and_rules' | 'and_ids', any: Json): Json {
  if (items.length === 0) return any;
  if (items.length === 1) return items[0] as Json;
  return { [key]: { [key === 'and_rules' ? 'rules' : 'ids']: items } };
}

const NEVER_ID: Json = { not_id: { any: true } };
const NEVER_RULE: Json = { not_rule: { any: true } };

/** The principal (source) side of a rule. */
function principalOf(peers: PeerSet, addresses: IdentityAddresses): Json {
  if (peers.any && !peers.not) return { any: true };
  const ids: Json[] = [];
  if (peers.any) ids.push({ any: true });
  const ips = new Set<string>();
  for (const id of peers.identities) for (const ip of addresses(id)) ips.add(ip);
  for (const ip of [...ips].sort()) ids.push({ direct_remote_ip: cidrRange(ip) });
  for (const c of peers.cidrs) {
    const base: Json = { direct_remote_ip: cidrRange(c.cidr) };
    const except = anyOf(c.except, (e) => ({ direct_remote_ip: cidrRange(e) }), 'or_ids');
    ids.push(except ? { and_ids: { ids: [base, { not_id: except }] } } : base);
  }
  for (const p of peers.principals) ids.push({ authenticated: { principal_name: stringMatcher(p) } });
  for (const ns of peers.namespaces) ids.push(namespacePrincipal(ns));
  const positive = anyOf(ids, (i) => i, 'or_ids') ?? NEVER_ID;
  if (!peers.not) return positive;
  const negative: Json[] = [
    ...peers.not.principals.map((p) => ({ authenticated: { principal_name: stringMatcher(p) } })),
    ...peers.not.namespaces.map(namespacePrincipal),
    ...peers.not.cidrs.map((c) => ({ direct_remote_ip: cidrRange(c) })),
  ];
  const notIps = new Set<string>();
  for (const id of peers.not.identities) for (const ip of addresses(id)) notIps.add(ip);
  for (const ip of [...notIps].sort()) negative.push({ direct_remote_ip: cidrRange(ip) });
  const excluded = anyOf(negative, (i) => i, 'or_ids');
  return excluded ? { and_ids: { ids: [positive, { not_id: excluded }] } } : positive;
}

function namespacePrincipal(ns: string): Json {
  return { authenticated: { principal_name: { safe_regex: { regex: `spiffe://[^/]+/ns/${escapeRegex(ns)}/sa/[^/]+` } } } };
}

function headerRule(name: string, m: StringMatch): Json {
  return { header: { name, string_match: stringMatcher(m) } };
}

function headerCondition(h: HeaderCondition): Json {
  const matcher: Json = h.match.type === 'present' ? { present_match: true } : { string_match: stringMatcher(h.match) };
  return { header: { name: h.name.toLowerCase(), ...matcher, invert_match: h.invert } };
}

/** The permission (request) side of one L7 rule. */
function permissionOf(rule: HttpRule): Json {
  const parts: Json[] = [];
  const methods = anyOf(rule.methods, (m) => headerRule(':method', m), 'or_rules');
  if (methods) parts.push(methods);
  const paths = anyOf(rule.paths, (p) => ({ url_path: { path: stringMatcher(p) } }), 'or_rules');
  if (paths) parts.push(paths);
  const hosts = anyOf(rule.hosts, (h) => headerRule(':authority', h), 'or_rules');
  if (hosts) parts.push(hosts);
  for (const h of rule.headers) parts.push(headerCondition(h));
  const negatives: [readonly StringMatch[], (m: StringMatch) => Json][] = [
    [rule.notMethods, (m) => headerRule(':method', m)],
    [rule.notPaths, (p) => ({ url_path: { path: stringMatcher(p) } })],
    [rule.notHosts, (h) => headerRule(':authority', h)],
  ];
  for (const [list, one] of negatives) {
    const not = anyOf(list, one, 'or_rules');
    if (not) parts.push({ not_rule: not });
  }
  return allOf(parts, 'and_rules', { any: true });
}

/** `when` conditions: source ones AND into the principal, request ones into the permission. */
function whenParts(when: readonly WhenCondition[], verdictAllow: boolean, origin: string, report: IssueSink): { ids: Json[]; rules: Json[] } {
  const ids: Json[] = [];
  const rules: Json[] = [];
  for (const [i, w] of when.entries()) {
    const header = /^request\.headers\[(.+)\]$/.exec(w.key);
    const matchOne = (v: string): Json | undefined => {
      if (header) return headerRule((header[1] as string).toLowerCase(), { type: 'exact', value: v });
      if (w.key === 'source.ip') return { direct_remote_ip: cidrRange(v) };
      if (w.key === 'remote.ip') return { remote_ip: cidrRange(v) };
      if (w.key === 'source.principal') return { authenticated: { principal_name: { exact: `spiffe://${v}` } } };
      if (w.key === 'source.namespace') return namespacePrincipal(v);
      if (w.key === 'destination.port') return { destination_port: Number(v) };
      return undefined;
    };
    const isId = (!header && w.key.startsWith('source.')) || w.key === 'remote.ip';
    const values = w.values.map(matchOne);
    const notValues = w.notValues.map(matchOne);
    if ([...values, ...notValues].some((v) => v === undefined)) {
      report({ object: origin, field: `when[${i}].key`, message: `unsupported condition key '${w.key}': the rule ${verdictAllow ? 'never allows' : 'always denies'}` });
      // A deny rule with a condition we cannot check denies regardless: leaving it out does that.
      if (verdictAllow) (isId ? ids : rules).push(isId ? NEVER_ID : NEVER_RULE);
      continue;
    }
    const key = isId ? 'or_ids' : 'or_rules';
    const positive = anyOf(values as Json[], (v) => v, key);
    const negative = anyOf(notValues as Json[], (v) => v, key);
    const target = isId ? ids : rules;
    if (positive) target.push(positive);
    if (negative) target.push(isId ? { not_id: negative } : { not_rule: negative });
  }
  return { ids, rules };
}

function coversPort(rule: PolicyRule, port: number): boolean {
  if (rule.ports.length === 0) return rule.namedPorts.length === 0;
  return rule.ports.some((r) => r.port === 0 || (port >= r.port && port <= r.endPort));
}

/** One RBAC policy (permissions × principals) for a rule. */
function rbacPolicy(rule: PolicyRule, addresses: IdentityAddresses, report: IssueSink): Json {
  const when = whenParts(rule.when, rule.verdict === 'allow', rule.origin.policy, report);
  const principal = allOf([principalOf(rule.peers, addresses), ...when.ids], 'and_ids', { any: true });
  const requests = rule.http.length > 0 ? rule.http.map(permissionOf) : [{ any: true }];
  const permissions = when.rules.length > 0 ? requests.map((r) => allOf([r, ...when.rules], 'and_rules', r)) : requests;
  return { permissions, principals: [principal] };
}

function rbacFilter(name: string, action: 'ALLOW' | 'DENY', policies: Map<string, Json>): Json {
  return { name, typed_config: { '@type': RBAC_TYPE, rules: { action, policies: Object.fromEntries(policies) } } };
}

function policiesOf(layer: DirectionPolicy, verdict: 'allow' | 'deny', port: number, addresses: IdentityAddresses, report: IssueSink): Map<string, Json> {
  const policies = new Map<string, Json>();
  for (const rule of layer.rules) {
    if (rule.verdict !== verdict || !coversPort(rule, port)) continue;
    let name = `${rule.origin.policy}/${rule.origin.field}`;
    for (let n = 2; policies.has(name); n++) name = `${rule.origin.policy}/${rule.origin.field}#${n}`;
    policies.set(name, rbacPolicy(rule, addresses, report));
  }
  return policies;
}

/**
 * The RBAC HTTP filters guarding one workload port, in order (all must pass). `suffix`
 * distinguishes the filters of several destinations sharing one chain (a Service's backends).
 */
export function rbacFilters(policy: WorkloadPolicy, port: number, addresses: IdentityAddresses, report: IssueSink, suffix = ''): Json[] {
  const filters: Json[] = [];
  if (policy.ingress.selected && policy.ingress.rules.some((r) => r.http.length > 0 && coversPort(r, port))) {
    filters.push(rbacFilter(`skiff.rbac.network${suffix}`, 'ALLOW', policiesOf(policy.ingress, 'allow', port, addresses, report)));
  }
  const denies = policiesOf(policy.authorization, 'deny', port, addresses, report);
  if (denies.size > 0) filters.push(rbacFilter(`skiff.rbac.deny${suffix}`, 'DENY', denies));
  if (policy.authorization.selected) {
    filters.push(rbacFilter(`skiff.rbac.allow${suffix}`, 'ALLOW', policiesOf(policy.authorization, 'allow', port, addresses, report)));
  }
  return filters;
}

/**
 * The RBAC filters of a Service port reached by its VIP: the policies of every backend workload on
 * its target port (identical sets once). The proxy picks the backend after the filters run, so a
 * request must pass the policies of all backends (fail closed when backends differ).
 */
export function serviceRbacFilters(
  service: ServiceView,
  port: ServicePortView,
  policies: readonly (WorkloadPolicy | undefined)[],
  addresses: IdentityAddresses,
  report: IssueSink,
): Json[] {
  const seen = new Map<string, Json[]>();
  for (const [i, w] of service.workloads.entries()) {
    const policy = policies[i];
    if (!policy) continue;
    const targetPort = port.endpoints.find((e) => e.pod === w)?.port ?? port.targetPort ?? port.port;
    const filters = rbacFilters(policy, targetPort, addresses, report, `.${seen.size}`);
    if (filters.length === 0) continue;
    const signature = JSON.stringify(filters.map((x) => x.typed_config));
    if (!seen.has(signature)) seen.set(signature, filters);
  }
  return [...seen.values()].flat();
}
