// A small evaluator of Envoy's RBAC HTTP filter (envoy.extensions.filters.http.rbac.v3.RBAC),
// written from its documented semantics: a policy matches when any permission and any principal
// match; ALLOW lets through requests some policy matches, DENY rejects them.
import { re2Matches } from '../../xds/validate/re2.js';

type Obj = { [k: string]: unknown };

export interface RbacRequest {
  sourceIp: string;
  /** The peer's SPIFFE id when the connection is mutual TLS. */
  principal?: string;
  method: string;
  path: string;
  host?: string;
  headers?: Record<string, string>;
}

function ipInCidr(ip: string, prefix: string, len: number): boolean {
  const toInt = (a: string) => a.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(prefix) & mask) >>> 0);
}

function str(m: Obj, v: string | undefined): boolean {
  if (v === undefined) return false;
  if ('exact' in m) return v === m.exact;
  if ('prefix' in m) return v.startsWith(String(m.prefix));
  if ('suffix' in m) return v.endsWith(String(m.suffix));
  if ('safe_regex' in m) return re2Matches(`^(?:${String((m.safe_regex as Obj).regex)})$`, v);
  throw new Error(`rbac-eval: matcher ${JSON.stringify(m)}`);
}

function header(h: Obj, req: RbacRequest): boolean {
  const headers: Record<string, string> = { ':method': req.method, ':path': req.path, ':authority': req.host ?? '' };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  const value = headers[String(h.name)];
  const ok = h.present_match ? value !== undefined : str(h.string_match as Obj, value);
  return h.invert_match ? !ok : ok;
}

function cidr(c: Obj, ip: string): boolean {
  return ipInCidr(ip, String(c.address_prefix), Number((c.prefix_len as Obj | undefined)?.value ?? 32));
}

export function permissionMatches(p: Obj, req: RbacRequest): boolean {
  if (p.any) return true;
  if (p.and_rules) return ((p.and_rules as Obj).rules as Obj[]).every((r) => permissionMatches(r, req));
  if (p.or_rules) return ((p.or_rules as Obj).rules as Obj[]).some((r) => permissionMatches(r, req));
  if (p.not_rule) return !permissionMatches(p.not_rule as Obj, req);
  if (p.header) return header(p.header as Obj, req);
  if (p.url_path) return str((p.url_path as Obj).path as Obj, req.path.split('?')[0]);
  throw new Error(`rbac-eval: permission ${JSON.stringify(p)}`);
}

export function principalMatches(p: Obj, req: RbacRequest): boolean {
  if (p.any) return true;
  if (p.and_ids) return ((p.and_ids as Obj).ids as Obj[]).every((r) => principalMatches(r, req));
  if (p.or_ids) return ((p.or_ids as Obj).ids as Obj[]).some((r) => principalMatches(r, req));
  if (p.not_id) return !principalMatches(p.not_id as Obj, req);
  if (p.direct_remote_ip) return cidr(p.direct_remote_ip as Obj, req.sourceIp);
  if (p.remote_ip) return cidr(p.remote_ip as Obj, req.sourceIp);
  if (p.authenticated) return str((p.authenticated as Obj).principal_name as Obj, req.principal);
  if (p.header) return header(p.header as Obj, req);
  throw new Error(`rbac-eval: principal ${JSON.stringify(p)}`);
}

/** Whether every RBAC filter among `httpFilters` lets the request through. */
export function rbacAllows(httpFilters: readonly Obj[], req: RbacRequest): boolean {
  for (const f of httpFilters) {
    const config = f.typed_config as Obj;
    if (!String(config['@type']).endsWith('rbac.v3.RBAC')) continue;
    const rules = config.rules as Obj;
    const matched = Object.values((rules.policies as Obj) ?? {}).some((policy) => {
      const p = policy as Obj;
      return (p.permissions as Obj[]).some((x) => permissionMatches(x, req)) && (p.principals as Obj[]).some((x) => principalMatches(x, req));
    });
    if ((rules.action ?? 'ALLOW') === 'ALLOW' ? !matched : matched) return false;
  }
  return true;
}
