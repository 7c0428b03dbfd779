// GAMMA route attachment: which HTTPRoute/GRPCRoute matches apply to which Service port, their
// backends resolved (existence, port, ReferenceGrant), the route's status conditions as Gateway
// API writes them, and the precedence order of the matches merged on one Service port.
import type { ConfigIssue } from '../source.js';
import type {
  BackendRef,
  Condition,
  GRPCRoute,
  GRPCRouteRule,
  HTTPRoute,
  HTTPRouteRule,
  ParentReference,
  ReferenceGrant,
  RouteParentStatus,
  StringMatchType,
} from '../resources.js';
import type {
  AttachedGrpcMatch,
  AttachedHttpMatch,
  AttachedRouteMatchBase,
  BackendRefReason,
  L4Protocol,
  ResolvedBackend,
  RouteView,
  ServicePortView,
  ServiceView,
} from './types.js';
import { ROUTE_CONTROLLER_NAME, servicePortKey } from './types.js';
import type { Mutable } from './services.js';

export type Route = HTTPRoute | GRPCRoute;

/** One attached match with what its precedence needs beyond the public view. */
export interface RouteContribution {
  readonly match: AttachedHttpMatch | AttachedGrpcMatch;
  readonly created: string;
}

export interface RouteResult {
  readonly view: RouteView;
  /** Attached matches per service port key. */
  readonly contributions: ReadonlyMap<string, readonly RouteContribution[]>;
  /** Service keys the route refers to (parents and backends, found or not). */
  readonly refs: readonly string[];
  readonly issues: readonly ConfigIssue[];
}

export interface RouteContext {
  service(key: string): ServiceView | undefined;
  grants(namespace: string): readonly ReferenceGrant[];
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

function isCoreGroup(group: string | undefined): boolean {
  return group === '' || group === 'core';
}

function isServiceParent(ref: ParentReference): boolean {
  return isCoreGroup(ref.group ?? GATEWAY_GROUP) && (ref.kind ?? 'Gateway') === 'Service';
}

function refPermitted(ctx: RouteContext, routeKind: string, fromNamespace: string, toNamespace: string, name: string): boolean {
  if (fromNamespace === toNamespace) return true;
  return ctx.grants(toNamespace).some(
    (grant) =>
      (grant.spec?.from ?? []).some((f) => f.group === GATEWAY_GROUP && f.kind === routeKind && f.namespace === fromNamespace) &&
      (grant.spec?.to ?? []).some((t) => isCoreGroup(t.group) && t.kind === 'Service' && (t.name === undefined || t.name === '' || t.name === name)),
  );
}

function unresolved(ref: BackendRef, weight: number, reason: BackendRefReason, message: string): ResolvedBackend {
  return Object.freeze({ ref, weight, resolved: false, reason, message, filters: Object.freeze(ref.filters ?? []) });
}

function resolveBackend(ctx: RouteContext, route: Route, ref: BackendRef, parentPort: number): ResolvedBackend {
  const weight = ref.weight ?? 1;
  const routeNamespace = route.metadata.namespace ?? '';
  const namespace = ref.namespace ?? routeNamespace;
  const kind = ref.kind ?? 'Service';
  if (!isCoreGroup(ref.group ?? '') || kind !== 'Service') {
    return unresolved(ref, weight, 'InvalidKind', `backendRef kind ${ref.group ?? ''}/${kind} is not supported; only core Service`);
  }
  if (!refPermitted(ctx, route.kind, routeNamespace, namespace, ref.name)) {
    return unresolved(ref, weight, 'RefNotPermitted', `backendRef to Service ${namespace}/${ref.name} is not permitted by any ReferenceGrant in ${namespace}`);
  }
  const service = ctx.service(`${namespace}/${ref.name}`);
  if (!service) return unresolved(ref, weight, 'BackendNotFound', `Service ${namespace}/${ref.name} not found`);
  const port = ref.port ?? parentPort;
  if (!service.ports.some((p) => p.port === port)) {
    return unresolved(ref, weight, 'BackendNotFound', `Service ${namespace}/${ref.name} has no port ${port}`);
  }
  return Object.freeze({
    ref,
    weight,
    resolved: true,
    service: service.key,
    port,
    fqdn: service.fqdn,
    filters: Object.freeze(ref.filters ?? []),
  });
}

function condition(type: string, ok: boolean, reason: string, message: string, generation: number | undefined): Condition {
  const out: Condition = { type, status: ok ? 'True' : 'False', reason, message };
  if (generation !== undefined) out.observedGeneration = generation;
  return Object.freeze(out);
}

/**
 * A header or query parameter match as written, with its type defaulted to Exact: its fields
 * copied one by one, as a spread of a parsed object is many times slower.
 */
function withMatchType<T extends { type?: StringMatchType }>(match: T): T & { type: StringMatchType } {
  const out: Record<string, unknown> = {};
  for (const key in match) if (Object.hasOwn(match, key)) out[key] = match[key];
  if (out.type === undefined) out.type = 'Exact';
  return Object.freeze(out) as T & { type: StringMatchType };
}

/** The ports of a Service a parentRef selects (port and sectionName narrow). */
function parentPorts(service: ServiceView, ref: ParentReference): ServicePortView[] {
  return service.ports.filter((p) => (ref.port === undefined || p.port === ref.port) && (ref.sectionName === undefined || p.name === ref.sectionName));
}

type AnyRule = HTTPRouteRule | GRPCRouteRule;

/** What the matches of one rule share: the fields of AttachedRouteMatchBase but matchIndex. */
type RuleShared = Omit<AttachedRouteMatchBase, 'matchIndex'>;

/** A match's common fields in their order; the kind's own fields are assigned after them (no spreads: 1,000s of matches). */
function matchBase(shared: RuleShared, matchIndex: number): Mutable<AttachedRouteMatchBase> {
  const base = { route: shared.route, ruleIndex: shared.ruleIndex, matchIndex } as Mutable<AttachedRouteMatchBase>;
  if (shared.ruleName !== undefined) base.ruleName = shared.ruleName;
  base.hostnames = shared.hostnames;
  base.filters = shared.filters;
  base.backends = shared.backends;
  return base;
}

function httpMatches(rule: HTTPRouteRule, shared: RuleShared): AttachedHttpMatch[] {
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
  return matches.map((m, matchIndex) => {
    const match = matchBase(shared, matchIndex) as Mutable<AttachedHttpMatch>;
    match.kind = 'HTTPRoute';
    match.path = Object.freeze({ type: m.path?.type ?? 'PathPrefix', value: m.path?.value ?? '/' });
    if (m.method) match.method = m.method;
    match.headers = Object.freeze((m.headers ?? []).map(withMatchType));
    match.queryParams = Object.freeze((m.queryParams ?? []).map(withMatchType));
    if (rule.timeouts) match.timeouts = rule.timeouts;
    if (rule.retry) match.retry = rule.retry;
    return Object.freeze(match);
  });
}

function grpcMatches(rule: GRPCRouteRule, shared: RuleShared): AttachedGrpcMatch[] {
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
  return matches.map((m, matchIndex) => {
    const match = matchBase(shared, matchIndex) as Mutable<AttachedGrpcMatch>;
    match.kind = 'GRPCRoute';
    if (m.method) {
      const method: Mutable<NonNullable<AttachedGrpcMatch['method']>> = { type: m.method.type ?? 'Exact' };
      if (m.method.service) method.service = m.method.service;
      if (m.method.method) method.method = m.method.method;
      match.method = Object.freeze(method);
    }
    match.headers = Object.freeze((m.headers ?? []).map(withMatchType));
    return Object.freeze(match);
  });
}

export function creationTimestamp(route: Route): string {
  return (route.metadata as { creationTimestamp?: string }).creationTimestamp ?? '';
}

/** Computes a route's attachments, backends and status against the services in `ctx`. */
export function computeRoute(route: Route, ctx: RouteContext): RouteResult {
  const namespace = route.metadata.namespace ?? '';
  const key = `${route.kind}/${namespace}/${route.metadata.name}`;
  const generation = route.metadata.generation;
  const rules: AnyRule[] = route.spec?.rules ?? [];
  const refs = new Set<string>();
  const issues: ConfigIssue[] = [];
  const contributions = new Map<string, RouteContribution[]>();
  const parents: RouteParentStatus[] = [];
  const created = creationTimestamp(route);

  (route.spec?.parentRefs ?? []).forEach((parentRef, parentIndex) => {
    if (!isServiceParent(parentRef)) return;
    const serviceNamespace = parentRef.namespace ?? namespace;
    const serviceKey = `${serviceNamespace}/${parentRef.name}`;
    refs.add(serviceKey);
    const service = ctx.service(serviceKey);
    const ports = service ? parentPorts(service, parentRef) : [];
    const conditions: Condition[] = [];
    const field = `spec.parentRefs[${parentIndex}]`;
    if (serviceNamespace !== namespace) {
      // GAMMA consumer route (extended support): it must apply to this namespace's clients only,
      // and the proxies cannot tell them apart yet; served to every client it would let any
      // namespace reroute everyone's traffic to the Service, so it is refused, not served
      const why = `consumer routes (a route in namespace ${namespace} for Service ${serviceKey}) are not supported: attach the route in namespace ${serviceNamespace}`;
      conditions.push(condition('Accepted', false, 'UnsupportedValue', why, generation));
      issues.push({ severity: 'error', source: 'snapshot', object: key, field, message: `UnsupportedValue: ${why}` });
      parents.push(Object.freeze({ parentRef, controllerName: ROUTE_CONTROLLER_NAME, conditions }));
      return;
    }
    if (ports.length === 0) {
      const why = service ? `Service ${serviceKey} has no port matching ${parentRef.port ?? parentRef.sectionName}` : `Service ${serviceKey} not found`;
      conditions.push(condition('Accepted', false, 'NoMatchingParent', why, generation));
      issues.push({ severity: 'error', source: 'snapshot', object: key, field, message: `NoMatchingParent: ${why}` });
    } else {
      conditions.push(condition('Accepted', true, 'Accepted', `attached to ${ports.map((p) => `${serviceKey}:${p.port}`).join(', ')}`, generation));
    }
    const failures = new Map<string, ResolvedBackend>();
    for (const port of ports.length > 0 ? ports : [undefined]) {
      const parentPort = port?.port ?? parentRef.port ?? 0;
      rules.forEach((rule, ruleIndex) => {
        const backends = (rule.backendRefs ?? []).map((ref) => resolveBackend(ctx, route, ref, parentPort));
        backends.forEach((backend, j) => {
          refs.add(`${backend.ref.namespace ?? namespace}/${backend.ref.name}`);
          if (!backend.resolved) failures.set(`spec.rules[${ruleIndex}].backendRefs[${j}]`, backend);
        });
        if (!port) return;
        const shared: RuleShared = {
          route: key,
          ruleIndex,
          ruleName: rule.name || undefined,
          hostnames: Object.freeze(route.spec?.hostnames ?? []),
          filters: Object.freeze(rule.filters ?? []),
          backends: Object.freeze(backends),
        };
        const matches = route.kind === 'HTTPRoute' ? httpMatches(rule as HTTPRouteRule, shared) : grpcMatches(rule as GRPCRouteRule, shared);
        const portKey = servicePortKey(serviceKey, port.port, port.protocol as L4Protocol);
        const list = contributions.get(portKey) ?? [];
        for (const match of matches) list.push({ match, created });
        contributions.set(portKey, list);
      });
    }
    if (failures.size === 0) {
      conditions.push(condition('ResolvedRefs', true, 'ResolvedRefs', 'all backendRefs resolved', generation));
    } else {
      const first = failures.values().next().value as ResolvedBackend;
      const messages = [...new Set([...failures.values()].map((f) => f.message ?? ''))];
      conditions.push(condition('ResolvedRefs', false, first.reason as string, messages.join('; '), generation));
      for (const [at, failure] of failures) {
        issues.push({ severity: 'error', source: 'snapshot', object: key, field: at, message: `${failure.reason}: ${failure.message}` });
      }
    }
    parents.push(Object.freeze({ parentRef, controllerName: ROUTE_CONTROLLER_NAME, conditions }));
  });

  const view: RouteView = Object.freeze({
    key,
    kind: route.kind,
    namespace,
    name: route.metadata.name,
    hostnames: Object.freeze(route.spec?.hostnames ?? []),
    parents: Object.freeze(parents),
    attachedTo: Object.freeze([...contributions.keys()].sort()),
  });
  return { view, contributions, refs: [...refs].sort(), issues };
}

function pathRank(type: string): number {
  return type === 'Exact' ? 0 : type === 'PathPrefix' ? 1 : 2;
}

function compareTail(a: RouteContribution, b: RouteContribution): number {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  if (a.match.route !== b.match.route) return a.match.route < b.match.route ? -1 : 1;
  if (a.match.ruleIndex !== b.match.ruleIndex) return a.match.ruleIndex - b.match.ruleIndex;
  return a.match.matchIndex - b.match.matchIndex;
}

/** Gateway API HTTPRoute precedence. */
export function compareHttp(a: RouteContribution, b: RouteContribution): number {
  const x = a.match as AttachedHttpMatch;
  const y = b.match as AttachedHttpMatch;
  if (pathRank(x.path.type) !== pathRank(y.path.type)) return pathRank(x.path.type) - pathRank(y.path.type);
  if (x.path.value.length !== y.path.value.length) return y.path.value.length - x.path.value.length;
  const method = Number(y.method !== undefined) - Number(x.method !== undefined);
  if (method !== 0) return method;
  if (x.headers.length !== y.headers.length) return y.headers.length - x.headers.length;
  if (x.queryParams.length !== y.queryParams.length) return y.queryParams.length - x.queryParams.length;
  return compareTail(a, b);
}

/** Gateway API GRPCRoute precedence: longer service, longer method, more headers. */
export function compareGrpc(a: RouteContribution, b: RouteContribution): number {
  const x = a.match as AttachedGrpcMatch;
  const y = b.match as AttachedGrpcMatch;
  const service = (y.method?.service ?? '').length - (x.method?.service ?? '').length;
  if (service !== 0) return service;
  const method = (y.method?.method ?? '').length - (x.method?.method ?? '').length;
  if (method !== 0) return method;
  if (x.headers.length !== y.headers.length) return y.headers.length - x.headers.length;
  return compareTail(a, b);
}
