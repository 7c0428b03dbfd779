// Validation of the Gateway API kinds (gateway.networking.k8s.io/v1 Gateway, HTTPRoute, GRPCRoute,
// ReferenceGrant): the CRD schemas' patterns and limits and the CEL rules that matter to routing.
import { isObj, labelSelector, type Field } from './fields.js';
import { isPlainlyValidHTTPRouteRule, isPlainlyValidParentRef } from './fast-accept.js';
import {
  GROUP, HTTP_METHODS, KIND, MAX_HEADER_VALUE, MAX_HTTP_MATCHES, MAX_LIST, MAX_PARENT_REFS, MAX_PATH, MAX_QUERY_VALUE, MAX_WEIGHT, PATH_MATCH_TYPES, pathValueProblem, SECTION_NAME,
} from './gateway-rules.js';
const LISTENER_PROTOCOL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/;
const GRPC_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
const STRING_MATCH = ['Exact', 'RegularExpression'] as const;
/** Filters Gateway API lets a rule hold at most once. */
const SINGLE_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite'];

const group = (f: Field | undefined) => f?.string({ max: 253, pattern: GROUP, patternHint: 'must be empty or a DNS subdomain' });
const kind = (f: Field | undefined) => f?.string({ min: 1, max: 63, pattern: KIND, patternHint: 'must be a kind name (letters, digits and "-", starting with a letter)' });
const objectName = (f: Field | undefined) => f?.string({ min: 1, max: 253 });
const sectionName = (f: Field | undefined) => f?.string({ min: 1, max: 253, pattern: SECTION_NAME, patternHint: 'must be a DNS subdomain' });

interface RouteFlavor {
  /** The filter types this route kind accepts. */
  filterTypes: readonly string[];
  maxMatches: number;
  match: (m: Field) => void;
  /** Rule checks beyond the shared ones (timeouts, retry, filter/match interplay). */
  rule?: (rule: Field) => void;
  /** The fast accept of a rule: yes only where the walk of that rule finds nothing. */
  plainRule?: (rule: unknown) => boolean;
}

const HTTP_ROUTE: RouteFlavor = {
  filterTypes: ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror', 'ExtensionRef'],
  maxMatches: MAX_HTTP_MATCHES,
  match: httpRouteMatch,
  rule: httpRouteRule,
  plainRule: isPlainlyValidHTTPRouteRule,
};

const GRPC_ROUTE: RouteFlavor = {
  filterTypes: ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef'],
  maxMatches: 8,
  match: grpcRouteMatch,
};

export function validateHTTPRoute(root: Field): void {
  route(root, HTTP_ROUTE);
}

export function validateGRPCRoute(root: Field): void {
  route(root, GRPC_ROUTE);
}

function route(root: Field, flavor: RouteFlavor): void {
  const spec = root.req('spec');
  if (!spec?.object()) return;
  const parentRefs = spec.opt('parentRefs');
  parentRefs?.list((ref) => {
    if (!isPlainlyValidParentRef(ref.value)) validateParentRef(ref);
  }, { max: MAX_PARENT_REFS });
  if (parentRefs) sameParentRules(parentRefs);
  spec.opt('hostnames')?.strings((h) => h.hostname(), { max: MAX_LIST });
  const rules = spec.opt('rules');
  let totalMatches = 0;
  rules?.list((rule) => {
    totalMatches += flavor.plainRule?.(rule.value) ? matchCount(rule.value) : routeRule(rule, flavor);
  }, { max: MAX_LIST });
  if (totalMatches > 128) rules?.error(`must have at most 128 matches across all rules, has ${totalMatches}`);
  rules?.uniqueBy('name');
}

/** One rule of a route, walked field by field (what the flavor's plainRule does not accept); returns its number of matches. */
function routeRule(rule: Field, flavor: RouteFlavor): number {
  if (!rule.object()) return 0;
  sectionName(rule.opt('name'));
  const matches = rule.opt('matches')?.list(flavor.match, { max: flavor.maxMatches });
  const filters = rule.opt('filters');
  filters?.list((f) => filter(f, flavor.filterTypes), { max: MAX_LIST });
  if (filters) singleFilters(filters);
  rule.opt('backendRefs')?.list((ref) => backendRef(ref, flavor), { max: MAX_LIST });
  flavor.rule?.(rule);
  return matches?.length ?? 0;
}

/** An HTTPRoute rule, walked field by field (what isPlainlyValidHTTPRouteRule does not accept). */
export function validateHTTPRouteRule(rule: Field): void {
  routeRule(rule, HTTP_ROUTE);
}

/** The number of matches of a rule the fast accept took (its matches a list or absent). */
function matchCount(rule: unknown): number {
  const matches = isObj(rule) ? rule.matches : undefined;
  return Array.isArray(matches) ? matches.length : 0;
}

/** A route's parentRef, walked field by field (what isPlainlyValidParentRef does not accept). */
export function validateParentRef(ref: Field): void {
  if (!ref.object()) return;
  group(ref.opt('group'));
  kind(ref.opt('kind'));
  ref.opt('namespace')?.dnsLabel();
  objectName(ref.req('name'));
  sectionName(ref.opt('sectionName'));
  ref.opt('port')?.port();
}

/**
 * Gateway API's CEL rules for several references to one parent: all of them set sectionName or none
 * does, the same for port, and no two are the same reference.
 */
function sameParentRules(refs: Field): void {
  if (!Array.isArray(refs.value) || refs.value.length < 2) return; // one reference agrees with itself
  const seen = new Map<string, { section: boolean; port: boolean }>();
  const exact = new Set<string>();
  refs.value.forEach((ref, i) => {
    if (!isObj(ref)) return;
    const parent = JSON.stringify([ref.group ?? 'gateway.networking.k8s.io', ref.kind ?? 'Gateway', ref.namespace ?? '', ref.name]);
    const shape = { section: Boolean(ref.sectionName), port: Boolean(ref.port) };
    const first = seen.get(parent);
    if (!first) seen.set(parent, shape);
    else if (first.section !== shape.section || first.port !== shape.port) {
      refs.at(i).error('references to the same parent must agree on whether they set sectionName, and on whether they set port');
    }
    const full = JSON.stringify([parent, ref.sectionName ?? '', ref.port ?? 0]);
    if (exact.has(full)) refs.at(i).error('duplicate parentRef: the same parent, sectionName and port appear twice');
    exact.add(full);
  });
}

function backendRef(ref: Field, flavor?: RouteFlavor): void {
  if (!ref.object()) return;
  const g = group(ref.opt('group')) ?? '';
  const k = kind(ref.opt('kind')) ?? 'Service';
  ref.opt('namespace')?.dnsLabel();
  objectName(ref.req('name'));
  const port = ref.opt('port');
  port?.port();
  if (g === '' && k === 'Service' && !port) ref.at('port').error('required when referring to a Service');
  ref.opt('weight')?.int(0, MAX_WEIGHT);
  if (flavor) {
    const filters = ref.opt('filters');
    filters?.list((f) => filter(f, flavor.filterTypes), { max: 16 });
    if (filters) singleFilters(filters);
  }
}

// ---- matches ----

function httpRouteMatch(m: Field): void {
  if (!m.object()) return;
  const path = m.opt('path');
  if (path?.object()) {
    const type = path.opt('type')?.oneOf(PATH_MATCH_TYPES) ?? 'PathPrefix';
    const value = path.opt('value');
    if (type !== 'RegularExpression') {
      if (value) pathValue(value, `a ${type} path`);
    } else if (value?.string({ max: MAX_PATH }) !== undefined) {
      value.regex();
    }
  }
  headerMatches(m.opt('headers'));
  // Query parameter names are case-sensitive, header names are not.
  nameValueMatches(m.opt('queryParams'), MAX_QUERY_VALUE, (n) => n);
  m.opt('method')?.oneOf(HTTP_METHODS);
}

function grpcRouteMatch(m: Field): void {
  if (!m.object()) return;
  const method = m.opt('method');
  if (method?.object()) {
    const type = method.opt('type')?.oneOf(STRING_MATCH) ?? 'Exact';
    const service = method.opt('service');
    const name = method.opt('method');
    if (!service && !name) method.error('one or both of service and method must be set');
    if (type === 'Exact') {
      service?.string({ max: 1024, pattern: GRPC_SERVICE, patternHint: 'must be a fully qualified gRPC service name such as shop.inventory.v1.Inventory' });
      name?.string({ max: 1024, pattern: GRPC_METHOD, patternHint: 'must be a gRPC method name' });
    } else {
      if (service?.string({ max: 1024 }) !== undefined) service.regex();
      if (name?.string({ max: 1024 }) !== undefined) name.regex();
    }
  }
  headerMatches(m.opt('headers'));
}

function headerMatches(headers: Field | undefined): void {
  nameValueMatches(headers, MAX_HEADER_VALUE, (n) => n.toLowerCase());
}

/** A list of header or query parameter matches: name, value (a regex when so typed), unique names. */
function nameValueMatches(list: Field | undefined, maxValue: number, sameName: (name: string) => string): void {
  list?.list((match) => {
    if (!match.object()) return;
    const type = match.opt('type')?.oneOf(STRING_MATCH) ?? 'Exact';
    match.req('name')?.headerName();
    const value = match.req('value');
    if (value?.string({ min: 1, max: maxValue }) !== undefined && type === 'RegularExpression') value.regex();
  }, { max: MAX_LIST });
  list?.uniqueBy('name', sameName);
}

/** Gateway API's CEL rules for Exact and PathPrefix path values (and rewrite/redirect paths). */
function pathValue(f: Field, what: string): void {
  const v = f.string({ max: MAX_PATH });
  if (v === undefined) return;
  const problem = pathValueProblem(v, what);
  if (problem !== undefined) f.error(problem);
}

// ---- filters ----

const FILTER_FIELDS: Record<string, string> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
};

function filter(f: Field, types: readonly string[]): void {
  if (!f.object()) return;
  const type = f.req('type')?.oneOf(types);
  for (const [filterType, field] of Object.entries(FILTER_FIELDS)) {
    const value = f.at(field);
    if (filterType === type && !value.present) value.error(`required when type is ${type}`);
    if (filterType !== type && value.present) value.error(`must not be set when type is ${String(type ?? f.at('type').value)}`);
  }
  switch (type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier':
      headerModifier(f.at(FILTER_FIELDS[type] as string));
      break;
    case 'RequestRedirect':
      requestRedirect(f.at('requestRedirect'));
      break;
    case 'URLRewrite':
      urlRewrite(f.at('urlRewrite'));
      break;
    case 'RequestMirror':
      requestMirror(f.at('requestMirror'));
      break;
    case 'ExtensionRef': {
      const ref = f.at('extensionRef');
      if (!ref.object()) break;
      group(ref.req('group'));
      kind(ref.req('kind'));
      objectName(ref.req('name'));
      break;
    }
  }
}

/** At most one of each core filter per rule; not both RequestRedirect and URLRewrite. */
function singleFilters(filters: Field): void {
  if (!Array.isArray(filters.value)) return;
  const types = filters.value.map((f) => (isObj(f) ? f.type : undefined));
  for (const type of SINGLE_FILTERS) {
    if (types.filter((t) => t === type).length > 1) filters.error(`the ${type} filter may appear at most once`);
  }
  if (types.includes('RequestRedirect') && types.includes('URLRewrite')) {
    filters.error('RequestRedirect and URLRewrite filters must not both be used');
  }
}

function headerModifier(m: Field): void {
  if (!m.object()) return;
  for (const key of ['set', 'add']) {
    const headers = m.opt(key);
    headers?.list((h) => {
      if (!h.object()) return;
      h.req('name')?.headerName();
      h.req('value')?.string({ min: 1, max: 4096 });
    }, { max: 16 });
    headers?.uniqueBy('name', (n) => n.toLowerCase());
  }
  m.opt('remove')?.strings((h) => h.headerName(), { max: 16, unique: true });
}

function pathModifier(p: Field | undefined): 'ReplaceFullPath' | 'ReplacePrefixMatch' | undefined {
  if (!p?.object()) return undefined;
  const type = p.req('type')?.oneOf(['ReplaceFullPath', 'ReplacePrefixMatch'] as const);
  const full = p.at('replaceFullPath');
  const prefix = p.at('replacePrefixMatch');
  if (type === 'ReplaceFullPath' && !full.present) full.error('required when type is ReplaceFullPath');
  if (type !== 'ReplaceFullPath' && full.present) full.error('must only be set when type is ReplaceFullPath');
  if (type === 'ReplacePrefixMatch' && !prefix.present) prefix.error('required when type is ReplacePrefixMatch');
  if (type !== 'ReplacePrefixMatch' && prefix.present) prefix.error('must only be set when type is ReplacePrefixMatch');
  if (full.present) pathValue(full, 'replaceFullPath');
  if (prefix.present) pathValue(prefix, 'replacePrefixMatch');
  return type;
}

function requestRedirect(r: Field): void {
  if (!r.object()) return;
  r.opt('scheme')?.oneOf(['http', 'https'] as const);
  r.opt('hostname')?.dnsSubdomain();
  pathModifier(r.opt('path'));
  r.opt('port')?.port();
  r.opt('statusCode')?.oneOf([301, 302, 303, 307, 308] as const);
}

function urlRewrite(r: Field): void {
  if (!r.object()) return;
  r.opt('hostname')?.dnsSubdomain();
  pathModifier(r.opt('path'));
}

function requestMirror(m: Field): void {
  if (!m.object()) return;
  const ref = m.req('backendRef');
  if (ref) backendRef(ref);
  m.atMostOne(['percent', 'fraction']);
  m.opt('percent')?.int(0, 100);
  const fraction = m.opt('fraction');
  if (fraction?.object()) {
    const numerator = fraction.req('numerator')?.int(0, 2 ** 31 - 1);
    const denominator = fraction.opt('denominator')?.int(1, 2 ** 31 - 1) ?? 100;
    if (numerator !== undefined && numerator > denominator) fraction.error('numerator must be less than or equal to denominator');
  }
}

// ---- HTTPRoute rule-level CEL rules ----

function httpRouteRule(rule: Field): void {
  const filters = Array.isArray(rule.at('filters').value) ? (rule.at('filters').value as unknown[]) : [];
  const backends = rule.at('backendRefs').value;
  if (Array.isArray(backends) && backends.length > 0 && filters.some((f) => isObj(f) && f.type === 'RequestRedirect')) {
    rule.at('backendRefs').error('must be empty when the rule has a RequestRedirect filter');
  }
  const prefixRewrite = filters.some((f) => {
    if (!isObj(f)) return false;
    const holder = f.type === 'URLRewrite' ? f.urlRewrite : f.type === 'RequestRedirect' ? f.requestRedirect : undefined;
    return isObj(holder) && isObj(holder.path) && holder.path.type === 'ReplacePrefixMatch';
  });
  if (prefixRewrite) {
    const matches = rule.at('matches').value;
    const only = Array.isArray(matches) && matches.length === 1 ? matches[0] : undefined;
    const pathType = isObj(only) && isObj(only.path) ? (only.path.type ?? 'PathPrefix') : isObj(only) ? 'PathPrefix' : undefined;
    if (pathType !== 'PathPrefix') {
      rule.at('matches').error('ReplacePrefixMatch needs exactly one match, of type PathPrefix');
    }
  }
  const timeouts = rule.opt('timeouts');
  if (timeouts?.object()) {
    const request = timeouts.opt('request')?.gatewayDuration();
    const backend = timeouts.opt('backendRequest')?.gatewayDuration();
    if (request !== undefined && backend !== undefined && request !== 0 && backend > request) {
      timeouts.at('backendRequest').error('must not be longer than the request timeout');
    }
  }
  const retry = rule.opt('retry');
  if (retry?.object()) {
    retry.opt('codes')?.list((c) => c.int(400, 599));
    retry.opt('attempts')?.int(0, 2 ** 31 - 1);
    retry.opt('backoff')?.gatewayDuration();
  }
}

// ---- Gateway and ReferenceGrant ----

export function validateGateway(root: Field): void {
  const spec = root.req('spec');
  if (!spec?.object()) return;
  objectName(spec.req('gatewayClassName'));
  const listeners = spec.req('listeners');
  listeners?.list((l) => {
    if (!l.object()) return;
    sectionName(l.req('name'));
    l.opt('hostname')?.hostname();
    l.req('port')?.port();
    l.req('protocol')?.string({ min: 1, max: 255, pattern: LISTENER_PROTOCOL, patternHint: 'must be a protocol name such as HTTP, HTTPS or TLS' });
    const namespaces = l.opt('allowedRoutes')?.opt('namespaces');
    if (namespaces?.object()) {
      const from = namespaces.opt('from')?.oneOf(['All', 'Same', 'Selector'] as const);
      const selector = namespaces.opt('selector');
      if (from === 'Selector' && !selector) namespaces.at('selector').error('required when from is Selector');
      if (selector) labelSelector(selector);
    }
  }, { min: 1, max: 64 });
  listeners?.uniqueBy('name');
  spec.opt('addresses')?.list((a) => {
    if (!a.object()) return;
    a.opt('type')?.string({ min: 1, max: 253 });
    const value = a.req('value');
    if (a.at('type').value === undefined || a.at('type').value === 'IPAddress') value?.ip();
    else value?.string({ min: 1, max: 253 });
  }, { max: 16 });
}

export function validateReferenceGrant(root: Field): void {
  const spec = root.req('spec');
  if (!spec?.object()) return;
  spec.req('from')?.list((from) => {
    if (!from.object()) return;
    group(from.req('group'));
    kind(from.req('kind'));
    from.req('namespace')?.dnsLabel();
  }, { min: 1, max: 16 });
  spec.req('to')?.list((to) => {
    if (!to.object()) return;
    group(to.req('group'));
    kind(to.req('kind'));
    objectName(to.opt('name'));
  }, { min: 1, max: 16 });
}
