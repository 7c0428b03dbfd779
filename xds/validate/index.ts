// Validation of generated Envoy resources against Envoy's own protos and their protoc-gen-validate
// rules: the checks Envoy makes when it ingests config, run before a resource is served.
import { typeForUrl } from './proto-root.js';
import { validateMessage, type Violation } from './pgv.js';

export { envoyRoot, lookupType, typeForUrl } from './proto-root.js';
export { validateMessage, type Violation } from './pgv.js';

/**
 * Every rule a resource breaks, by its type URL (`type.googleapis.com/envoy.config.cluster.v3.Cluster`).
 * The resource is its encoded bytes or a plain object in `fromObject` form (see pgv.ts); a leading
 * `'@type'` key, as in an Any's JSON form, must name the same type and is otherwise ignored.
 */
export function validateResource(typeUrl: string, resource: object | Uint8Array): Violation[] {
  const type = typeForUrl(typeUrl);
  if (!type) return [{ path: '', rule: 'any.type_url', message: `unknown resource type ${typeUrl}` }];
  if (resource instanceof Uint8Array || !('@type' in resource)) return validateMessage(type, resource);
  const { '@type': declared, ...fields } = resource as { '@type': unknown };
  if (typeof declared !== 'string' || typeForUrl(declared) !== type) {
    return [{ path: '@type', rule: 'any.type_url', message: `resource declares type ${String(declared)}, expected ${typeUrl}` }];
  }
  return validateMessage(type, fields);
}

/** One line per violation, `path: why [rule]`, for logs and NACK-style error strings. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.path || '(resource)'}: ${v.message} [${v.rule}]`).join('\n');
}
