// The Gateway API patterns and rules read by both the Field walk (gateway.ts) and the fast accepts
// (fast-accept.ts), so that the two judge a value by one rule.
export const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
export const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
export const PATH_MATCH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'] as const;
/** Lengths the CRD schemas allow. */
export const MAX_PATH = 1024;
export const MAX_HEADER_VALUE = 4096;
export const MAX_QUERY_VALUE = 1024;
export const MAX_HTTP_MATCHES = 64;
export const MAX_LIST = 16;
export const MAX_PARENT_REFS = 32;
export const MAX_WEIGHT = 1_000_000;

/** What the walk's group() accepts. */
export function isGroup(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 253 && GROUP.test(value);
}

/** What the walk's kind() accepts. */
export function isKind(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 63 && KIND.test(value);
}

/** What the walk's objectName() accepts. */
export function isObjectName(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 253;
}

/** What the walk's sectionName() accepts. */
export function isSectionName(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 253 && SECTION_NAME.test(value);
}

/** Gateway API's CEL rules for Exact and PathPrefix path values (and rewrite/redirect paths): why `v` breaks them, if it does. */
export function pathValueProblem(v: string, what: string): string | undefined {
  if (!v.startsWith('/')) return `${what} must start with '/'`;
  if (v.includes('//')) return `${what} must not contain '//'`;
  if (/\/\.\.?(\/|$)/.test(v)) return `${what} must not contain '/./' or '/../' or end with '/.' or '/..'`;
  if (/%2f|#/i.test(v)) return `${what} must not contain '%2f', '%2F' or '#'`;
  return undefined;
}
