// A small evaluator of Envoy RouteConfigurations, written from Envoy's route-matching semantics
// (not from skiff's translator): pick the virtual host by domain, take the first route whose match
// holds (path specifier on the path without query, all header matchers, all query parameter
// matchers), and report its action — clusters and weights, redirect Location and status, direct
// response, header mutations, rewrites, timeouts, retries, mirrors. Regexes are RE2 full matches.
import { re2Matches } from '../../xds/validate/re2.js';

type Obj = { [k: string]: unknown };

export interface EvalRequest {
  method?: string;
  /** Path with optional query string. */
  path: string;
  host?: string;
  scheme?: 'http' | 'https';
  headers?: Record<string, string>;
}

export interface HeaderMutations {
  /** Headers after the route's (and the cluster's) mutations, lower-case names; repeated values joined by ','. */
  result: Record<string, string>;
}

export interface ClusterChoice {
  name: string;
  weight: number;
  /** The request headers sent when this cluster is picked. */
  requestHeaders: Record<string, string>;
}

export type RouteResult =
  | { kind: 'none'; status: 404 }
  | { kind: 'direct'; route: string; status: number }
  | { kind: 'redirect'; route: string; status: number; location: string; responseHeaders: (h: Record<string, string>) => Record<string, string> }
  | {
      kind: 'route';
      route: string;
      clusters: ClusterChoice[];
      /** 500 when a cluster is missing and the route says so, else 503. */
      clusterNotFoundStatus: number;
      /** The path (and query) forwarded upstream after rewrites. */
      path: string;
      /** The :authority forwarded upstream. */
      host: string;
      responseHeaders: (upstream: Record<string, string>) => Record<string, string>;
      timeoutMs?: number;
      perTryTimeoutMs?: number;
      retry?: { retryOn: string; numRetries: number; statusCodes: number[]; backoffBaseMs?: number };
      mirrors: { cluster: string; fraction: number }[];
    };

function durationMs(d: unknown): number | undefined {
  if (!d) return undefined;
  const o = d as { seconds?: number; nanos?: number };
  return (o.seconds ?? 0) * 1000 + (o.nanos ?? 0) / 1e6;
}

function fullMatch(pattern: string, text: string): boolean {
  return re2Matches(`^(?:${pattern})$`, text);
}

function stringMatches(m: Obj, value: string): boolean {
  const ignoreCase = m.ignore_case === true;
  const v = ignoreCase ? value.toLowerCase() : value;
  const lc = (s: unknown) => (ignoreCase ? String(s).toLowerCase() : String(s));
  if ('exact' in m) return v === lc(m.exact);
  if ('prefix' in m) return v.startsWith(lc(m.prefix));
  if ('suffix' in m) return v.endsWith(lc(m.suffix));
  if ('contains' in m) return v.includes(lc(m.contains));
  if ('safe_regex' in m) return fullMatch(String((m.safe_regex as Obj).regex), value);
  throw new Error(`route-eval: unsupported string matcher ${JSON.stringify(m)}`);
}

function splitPath(path: string): { path: string; query: string } {
  const i = path.indexOf('?');
  return i < 0 ? { path, query: '' } : { path: path.slice(0, i), query: path.slice(i + 1) };
}

function requestHeaders(req: EvalRequest): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) h[k.toLowerCase()] = v;
  h[':method'] = req.method ?? 'GET';
  h[':path'] = req.path;
  h[':authority'] = req.host ?? 'example.com';
  h[':scheme'] = req.scheme ?? 'http';
  return h;
}

function headerMatches(m: Obj, headers: Record<string, string>): boolean {
  const value = headers[String(m.name).toLowerCase()];
  let ok: boolean;
  if (m.present_match !== undefined) ok = (value !== undefined) === Boolean(m.present_match);
  else if (value === undefined) ok = false;
  else if (m.string_match) ok = stringMatches(m.string_match as Obj, value);
  else if ('exact_match' in m) ok = value === m.exact_match;
  else ok = true;
  return m.invert_match === true ? !ok : ok;
}

function queryMatches(m: Obj, query: string): boolean {
  const params = new URLSearchParams(query);
  const value = params.get(String(m.name));
  if (m.present_match) return value !== null;
  if (value === null) return false;
  return m.string_match ? stringMatches(m.string_match as Obj, value) : true;
}

/** Whether the path specifier holds, and the prefix it matched (for prefix_rewrite). */
function pathMatch(match: Obj, path: string): { ok: boolean; matched: string } {
  const ci = (match.case_sensitive as { value?: boolean } | undefined)?.value === false;
  const p = ci ? path.toLowerCase() : path;
  const norm = (s: unknown) => (ci ? String(s).toLowerCase() : String(s));
  if ('prefix' in match) return { ok: p.startsWith(norm(match.prefix)), matched: String(match.prefix) };
  if ('path' in match) return { ok: p === norm(match.path), matched: path };
  if ('path_separated_prefix' in match) {
    const prefix = norm(match.path_separated_prefix);
    return { ok: p === prefix || p.startsWith(`${prefix}/`), matched: String(match.path_separated_prefix) };
  }
  if ('safe_regex' in match) return { ok: fullMatch(String((match.safe_regex as Obj).regex), path), matched: path };
  if ('connect_matcher' in match) return { ok: false, matched: '' };
  throw new Error(`route-eval: unsupported path specifier ${JSON.stringify(match)}`);
}

function routeMatches(match: Obj, req: EvalRequest, headers: Record<string, string>): { ok: boolean; matched: string } {
  const { path, query } = splitPath(req.path);
  const pm = pathMatch(match, path);
  if (!pm.ok) return pm;
  for (const h of (match.headers as Obj[] | undefined) ?? []) if (!headerMatches(h, headers)) return { ok: false, matched: '' };
  for (const q of (match.query_parameters as Obj[] | undefined) ?? []) if (!queryMatches(q, query)) return { ok: false, matched: '' };
  return pm;
}

/** Applies header_to_add / headers_to_remove (removals first, as Envoy's header parser does). */
function mutate(headers: Record<string, string>, add: unknown, remove: unknown): Record<string, string> {
  const out = { ...headers };
  for (const name of (remove as string[] | undefined) ?? []) delete out[name.toLowerCase()];
  for (const option of (add as Obj[] | undefined) ?? []) {
    const header = option.header as { key: string; value: string };
    const key = header.key.toLowerCase();
    const action = option.append_action ?? 'APPEND_IF_EXISTS_OR_ADD';
    if (action === 'OVERWRITE_IF_EXISTS_OR_ADD' || out[key] === undefined) out[key] = header.value;
    else if (action === 'APPEND_IF_EXISTS_OR_ADD') out[key] = `${out[key]},${header.value}`;
    else if (action === 'OVERWRITE_IF_EXISTS') out[key] = header.value;
  }
  return out;
}

function vhostFor(rc: Obj, host: string): Obj | undefined {
  const vhosts = (rc.virtual_hosts as Obj[] | undefined) ?? [];
  const bare = host.replace(/:\d+$/, '');
  return (
    vhosts.find((v) => (v.domains as string[]).some((d) => d === host || d === bare)) ??
    vhosts.find((v) => (v.domains as string[]).some((d) => d.startsWith('*') && d !== '*' && host.endsWith(d.slice(1)))) ??
    vhosts.find((v) => (v.domains as string[]).includes('*'))
  );
}

function rewritePath(action: Obj, path: string, matched: string): string {
  const { path: p, query } = splitPath(path);
  let out = p;
  if (typeof action.prefix_rewrite === 'string') out = action.prefix_rewrite + p.slice(matched.length);
  else if (action.regex_rewrite) {
    const rr = action.regex_rewrite as { pattern: { regex: string }; substitution: string };
    out = p.replace(new RegExp(rr.pattern.regex, 'g'), rr.substitution.replace(/\\(\d)/g, '$$$1'));
  }
  return query ? `${out}?${query}` : out;
}

const REDIRECT_STATUS: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function redirectLocation(r: Obj, req: EvalRequest, matched: string): string {
  const scheme = (r.scheme_redirect as string | undefined) ?? (r.https_redirect ? 'https' : (req.scheme ?? 'http'));
  const original = req.host ?? 'example.com';
  const originalPort = /:(\d+)$/.exec(original)?.[1];
  const host = (r.host_redirect as string | undefined) ?? original.replace(/:\d+$/, '');
  let port = r.port_redirect ? String(r.port_redirect) : scheme !== (req.scheme ?? 'http') ? undefined : originalPort;
  if ((scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')) port = undefined;
  let path = req.path;
  if (typeof r.path_redirect === 'string') path = r.path_redirect;
  else path = rewritePath(r, req.path, matched);
  return `${scheme}://${host}${port ? `:${port}` : ''}${path}`;
}

/** What Envoy does with `req` under route configuration `rc`. */
export function evaluateRoute(rc: Obj, req: EvalRequest): RouteResult {
  const headers = requestHeaders(req);
  const vhost = vhostFor(rc, req.host ?? 'example.com');
  if (!vhost) return { kind: 'none', status: 404 };
  for (const route of (vhost.routes as Obj[] | undefined) ?? []) {
    const m = routeMatches(route.match as Obj, req, headers);
    if (!m.ok) continue;
    const name = String(route.name ?? '');
    const responseHeaders = (upstream: Record<string, string>) => mutate(upstream, route.response_headers_to_add, route.response_headers_to_remove);
    if (route.direct_response) return { kind: 'direct', route: name, status: Number((route.direct_response as Obj).status) };
    if (route.redirect) {
      const r = route.redirect as Obj;
      return { kind: 'redirect', route: name, status: REDIRECT_STATUS[String(r.response_code ?? 'MOVED_PERMANENTLY')] ?? 301, location: redirectLocation(r, req, m.matched), responseHeaders };
    }
    const action = route.route as Obj;
    const base = mutate(headers, route.request_headers_to_add, route.request_headers_to_remove);
    const clusters: ClusterChoice[] = action.cluster
      ? [{ name: String(action.cluster), weight: 1, requestHeaders: base }]
      : ((action.weighted_clusters as Obj).clusters as Obj[]).map((c) => ({
          name: String(c.name),
          weight: Number((c.weight as { value: number } | undefined)?.value ?? 0),
          requestHeaders: mutate(base, c.request_headers_to_add, c.request_headers_to_remove),
        }));
    const retry = action.retry_policy as Obj | undefined;
    const result: RouteResult = {
      kind: 'route',
      route: name,
      clusters,
      clusterNotFoundStatus: action.cluster_not_found_response_code === 'INTERNAL_SERVER_ERROR' ? 500 : 503,
      path: rewritePath(action, req.path, m.matched),
      host: typeof action.host_rewrite_literal === 'string' ? action.host_rewrite_literal : headers[':authority'] as string,
      responseHeaders,
      mirrors: ((action.request_mirror_policies as Obj[] | undefined) ?? []).map((p) => {
        const f = (p.runtime_fraction as Obj | undefined)?.default_value as { numerator?: number; denominator?: string } | undefined;
        const denominator = f?.denominator === 'MILLION' ? 1e6 : f?.denominator === 'TEN_THOUSAND' ? 1e4 : 100;
        return { cluster: String(p.cluster), fraction: f ? (f.numerator ?? 0) / denominator : 1 };
      }),
    };
    const timeout = durationMs(action.timeout);
    if (timeout !== undefined) result.timeoutMs = timeout;
    if (retry) {
      const perTry = durationMs(retry.per_try_timeout);
      if (perTry !== undefined) result.perTryTimeoutMs = perTry;
      const backoff = durationMs((retry.retry_back_off as Obj | undefined)?.base_interval);
      result.retry = {
        retryOn: String(retry.retry_on ?? ''),
        numRetries: Number((retry.num_retries as { value: number } | undefined)?.value ?? 1),
        statusCodes: (retry.retriable_status_codes as number[] | undefined) ?? [],
        ...(backoff !== undefined ? { backoffBaseMs: backoff } : {}),
      };
    }
    return result;
  }
  return { kind: 'none', status: 404 };
}

/** Each cluster's share of the traffic (weights normalized), for weighted routes. */
export function shares(result: RouteResult): Record<string, number> {
  if (result.kind !== 'route') return {};
  const total = result.clusters.reduce((s, c) => s + c.weight, 0);
  return Object.fromEntries(result.clusters.map((c) => [c.name, total === 0 ? 0 : c.weight / total]));
}
