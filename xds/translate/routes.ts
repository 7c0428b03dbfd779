// Gateway API mesh routes (HTTPRoute, GRPCRoute attached to a Service port per GAMMA) → Envoy
// routes, in the precedence order the snapshot computed: matches, weighted backends (500 for the
// share of an invalid backendRef), header modifiers, redirects, rewrites, mirrors, timeouts, retries.
import type { HTTPPathModifier, HTTPRouteFilter, HeaderModifier } from '../../config/resources.js';
import type {
  AttachedGrpcMatch,
  AttachedHttpMatch,
  AttachedRouteMatchBase,
  ResolvedBackend,
} from '../../config/snapshot/types.js';
import { INVALID_BACKEND_CLUSTER } from './constants.js';
import { msToDuration, parseGatewayDuration } from './duration.js';
import { constantMessage } from './constant.js';
import { clusterName } from './names.js';
import type { Json, TranslateIssue } from './types.js';

/** Collects problems found while building routes; routes are still built (fail closed where needed). */
export type IssueSink = (issue: TranslateIssue) => void;

const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

/** Escapes text for use inside an RE2 regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stringMatch(type: string, value: string): Json {
  return type === 'RegularExpression' ? { safe_regex: { regex: value } } : { exact: value };
}

function headerMatchers(headers: AttachedHttpMatch['headers']): Json[] {
  return headers.map((h) => ({ name: h.name.toLowerCase(), string_match: stringMatch(h.type, h.value) }));
}

/** A Gateway API path match; PathPrefix matches whole path elements (`/foo` ≠ `/foobar`). */
function pathSpecifier(path: AttachedHttpMatch['path']): Json {
  if (path.type === 'Exact') return { path: path.value };
  if (path.type === 'RegularExpression') return { safe_regex: { regex: path.value } };
  const prefix = trimTrailingSlash(path.value);
  return prefix === '/' ? { prefix: '/' } : { path_separated_prefix: prefix };
}

function trimTrailingSlash(value: string): string {
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function httpRouteMatch(m: AttachedHttpMatch): Json {
  const headers = headerMatchers(m.headers);
  if (m.method) headers.push({ name: ':method', string_match: { exact: m.method } });
  const match: Json = { ...pathSpecifier(m.path) };
  if (headers.length > 0) match.headers = headers;
  if (m.queryParams.length > 0) {
    match.query_parameters = m.queryParams.map((q) => ({ name: q.name, string_match: stringMatch(q.type, q.value) }));
  }
  return match;
}

/** A gRPC method match as an HTTP/2 path match (`/package.Service/Method`). */
function grpcRouteMatch(m: AttachedGrpcMatch): Json {
  const match: Json = grpcPath(m.method);
  const headers = headerMatchers(m.headers);
  if (headers.length > 0) match.headers = headers;
  return match;
}

function grpcPath(method: AttachedGrpcMatch['method']): Json {
  if (!method || (!method.service && !method.method)) return { prefix: '/' };
  if (method.type === 'RegularExpression') {
    return { safe_regex: { regex: `/${method.service || '[^/]+'}/${method.method || '[^/]+'}` } };
  }
  if (method.service && method.method) return { path: `/${method.service}/${method.method}` };
  if (method.service) return { prefix: `/${method.service}/` };
  return { safe_regex: { regex: `/[^/]+/${escapeRegex(method.method as string)}` } };
}

function headerOptions(mod: HeaderModifier | undefined): { add: Json[]; remove: string[] } {
  const add: Json[] = [];
  for (const h of mod?.set ?? []) {
    add.push({ header: { key: h.name.toLowerCase(), value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  }
  for (const h of mod?.add ?? []) {
    add.push({ header: { key: h.name.toLowerCase(), value: h.value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
  }
  return { add, remove: (mod?.remove ?? []).map((n) => n.toLowerCase()) };
}

/** Request/response header mutations of a list of filters, on a route or a weighted cluster. */
function applyHeaderFilters(target: Json, filters: readonly HTTPRouteFilter[]): void {
  for (const f of filters) {
    const pairs: [HeaderModifier | undefined, string][] = [];
    if (f.type === 'RequestHeaderModifier') pairs.push([f.requestHeaderModifier, 'request']);
    if (f.type === 'ResponseHeaderModifier') pairs.push([f.responseHeaderModifier, 'response']);
    for (const [mod, side] of pairs) {
      const { add, remove } = headerOptions(mod);
      if (add.length > 0) target[`${side}_headers_to_add`] = [...((target[`${side}_headers_to_add`] as Json[]) ?? []), ...add];
      if (remove.length > 0) {
        target[`${side}_headers_to_remove`] = [...((target[`${side}_headers_to_remove`] as string[]) ?? []), ...remove];
      }
    }
  }
}

/**
 * A path rewrite (URLRewrite or RequestRedirect) against the matched path prefix: ReplaceFullPath
 * replaces the whole path; ReplacePrefixMatch swaps the matched prefix on path-element boundaries.
 */
function pathRewrite(mod: HTTPPathModifier, match: AttachedRouteMatchBase & { path?: AttachedHttpMatch['path'] }): Json {
  if (mod.type === 'ReplaceFullPath') {
    return { regex_rewrite: { pattern: { regex: '^/.*$' }, substitution: mod.replaceFullPath ?? '/' } };
  }
  const replacement = mod.replacePrefixMatch ?? '/';
  const prefix = match.path?.type === 'PathPrefix' ? trimTrailingSlash(match.path.value) : '/';
  if (prefix === '/') {
    return { regex_rewrite: { pattern: { regex: '^/' }, substitution: `${trimTrailingSlash(replacement).replace(/\/$/, '')}/` } };
  }
  if (replacement.endsWith('/')) {
    return { regex_rewrite: { pattern: { regex: `^${escapeRegex(prefix)}/*` }, substitution: replacement } };
  }
  return { prefix_rewrite: replacement };
}

function redirectAction(f: NonNullable<HTTPRouteFilter['requestRedirect']>, match: AttachedRouteMatchBase & { path?: AttachedHttpMatch['path'] }): Json {
  const redirect: Json = { response_code: REDIRECT_CODES[f.statusCode ?? 302] ?? 'FOUND' };
  if (f.scheme) redirect.scheme_redirect = f.scheme;
  if (f.hostname) redirect.host_redirect = f.hostname;
  if (f.port) redirect.port_redirect = f.port;
  if (f.path) {
    const rewrite = pathRewrite(f.path, match);
    if (f.path.type === 'ReplaceFullPath') redirect.path_redirect = f.path.replaceFullPath ?? '/';
    else if (rewrite.prefix_rewrite !== undefined) redirect.prefix_rewrite = rewrite.prefix_rewrite;
    else redirect.regex_rewrite = rewrite.regex_rewrite;
  }
  return redirect;
}

function mirrorPolicy(f: NonNullable<HTTPRouteFilter['requestMirror']>, resolveMirror: (f: HTTPRouteFilter['requestMirror']) => string | undefined): Json | undefined {
  const cluster = resolveMirror(f);
  if (!cluster) return undefined;
  const policy: Json = { cluster };
  if (f.percent !== undefined) {
    policy.runtime_fraction = { default_value: { numerator: f.percent, denominator: 'HUNDRED' } };
  } else if (f.fraction) {
    const denominator = f.fraction.denominator ?? 100;
    const perMillion = Math.round((f.fraction.numerator * 1_000_000) / denominator);
    policy.runtime_fraction = { default_value: { numerator: perMillion, denominator: 'MILLION' } };
  }
  return policy;
}

/** The cluster a resolved backend names. */
export function backendCluster(b: ResolvedBackend): string | undefined {
  return b.resolved && b.fqdn && b.port !== undefined ? clusterName(b.fqdn, b.port) : undefined;
}

function directResponse(status: number): Json {
  return { direct_response: { status } };
}

/**
 * The forwarding action of a rule: one cluster, or weighted clusters where invalid backends keep
 * their share on INVALID_BACKEND_CLUSTER (Envoy answers 500 for it); 500 when nothing is routable.
 */
function forwardAction(m: AttachedRouteMatchBase): Json {
  const live = m.backends.filter((b) => b.weight > 0);
  if (live.length === 0 || live.every((b) => !b.resolved)) return directResponse(500);
  const clusters = live.map((b) => {
    const entry: Json = { name: backendCluster(b) ?? INVALID_BACKEND_CLUSTER, weight: { value: b.weight } };
    applyHeaderFilters(entry, b.filters);
    return entry;
  });
  const route: Json = {};
  if (clusters.length === 1 && Object.keys(clusters[0] as Json).length === 2 && live[0]?.resolved) {
    route.cluster = (clusters[0] as Json).name;
  } else {
    route.weighted_clusters = { clusters };
  }
  if (live.some((b) => !b.resolved)) route.cluster_not_found_response_code = 'INTERNAL_SERVER_ERROR';
  return { route };
}

function durationOf(text: string | undefined, field: string, m: AttachedRouteMatchBase, report: IssueSink): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseGatewayDuration(text);
  if (ms instanceof Error) {
    report({ object: m.route, field: `spec.rules[${m.ruleIndex}].${field}`, message: ms.message });
    return undefined;
  }
  return ms;
}

/** Timeouts and retries of an HTTPRoute rule onto an Envoy RouteAction. */
function applyTimeoutsAndRetries(action: Json, m: AttachedHttpMatch, report: IssueSink): void {
  const request = durationOf(m.timeouts?.request, 'timeouts.request', m, report);
  const perTry = durationOf(m.timeouts?.backendRequest, 'timeouts.backendRequest', m, report);
  if (request !== undefined) action.timeout = msToDuration(request);
  const retry: Json = {};
  if (m.retry) {
    const codes = m.retry.codes ?? [];
    retry.retry_on = codes.length > 0 ? 'retriable-status-codes,connect-failure,reset' : 'connect-failure,reset';
    if (codes.length > 0) retry.retriable_status_codes = codes;
    retry.num_retries = { value: m.retry.attempts ?? 1 };
    const backoff = durationOf(m.retry.backoff, 'retry.backoff', m, report);
    if (backoff !== undefined && backoff > 0) retry.retry_back_off = { base_interval: msToDuration(backoff) };
  }
  if (perTry !== undefined) {
    retry.per_try_timeout = msToDuration(perTry);
    if (!m.retry) retry.num_retries = { value: 0 };
  }
  if (Object.keys(retry).length > 0) action.retry_policy = retry;
}

/** One Envoy route for one attached match (HTTP or gRPC), filters applied. */
export function buildRoute(
  m: AttachedHttpMatch | AttachedGrpcMatch,
  resolveMirror: (f: HTTPRouteFilter['requestMirror']) => string | undefined,
  report: IssueSink,
): Json {
  const route: Json = {
    name: `${m.route}/rule${m.ruleIndex}/match${m.matchIndex}`,
    match: m.kind === 'HTTPRoute' ? httpRouteMatch(m) : grpcRouteMatch(m),
  };
  const unsupported = m.filters.find((f) => f.type === 'ExtensionRef');
  if (unsupported) {
    report({ object: m.route, field: `spec.rules[${m.ruleIndex}].filters`, message: 'ExtensionRef filters are not supported: matching requests get 500' });
    return { ...route, ...directResponse(500) };
  }
  const redirect = m.filters.find((f) => f.type === 'RequestRedirect')?.requestRedirect;
  if (redirect) {
    route.redirect = redirectAction(redirect, m);
    applyHeaderFilters(route, m.filters);
    return route;
  }
  const action = forwardAction(m);
  applyHeaderFilters(route, m.filters);
  if (action.direct_response) return { ...route, ...action };
  const routeAction = action.route as Json;
  const rewrite = m.filters.find((f) => f.type === 'URLRewrite')?.urlRewrite;
  if (rewrite?.hostname) routeAction.host_rewrite_literal = rewrite.hostname;
  if (rewrite?.path) Object.assign(routeAction, pathRewrite(rewrite.path, m));
  const mirrors = m.filters
    .filter((f) => f.type === 'RequestMirror' && f.requestMirror)
    .map((f) => mirrorPolicy(f.requestMirror as NonNullable<HTTPRouteFilter['requestMirror']>, resolveMirror))
    .filter((p): p is Json => p !== undefined);
  if (mirrors.length > 0) routeAction.request_mirror_policies = mirrors;
  if (m.kind === 'HTTPRoute') applyTimeoutsAndRetries(routeAction, m, report);
  route.route = routeAction;
  return route;
}

// Parts of most route configurations, converted and encoded once (constant.ts).
const MATCH_ALL = constantMessage('envoy.config.route.v3.RouteMatch', { prefix: '/' });
const NO_CLUSTER_VALIDATION = constantMessage('google.protobuf.BoolValue', { value: false });

/** A route sending everything to one cluster: the default of a Service port with no route attached. */
export function defaultRoute(cluster: string): Json {
  return { name: 'default', match: MATCH_ALL(), route: { cluster } };
}

/** A RouteConfiguration with one catch-all virtual host. */
export function routeConfiguration(name: string, routes: Json[]): Json {
  return {
    name,
    virtual_hosts: [{ name, domains: ['*'], routes }],
    validate_clusters: NO_CLUSTER_VALIDATION(),
  };
}
