// validateObject: one raw Kubernetes-shaped object (from a YAML document or an API server) → a
// MeshObject or the issues that keep it out. Unknown kinds are a warning and ignored; wrong types
// anywhere are issues, never exceptions. The object is kept as written (unknown fields included),
// except that a namespaced object without a namespace gets `default`, as kubectl gives it.
import { API_VERSIONS, isNamespaced, type MeshKind, type MeshObject } from '../resources.js';
import type { ConfigIssue } from '../source.js';
import { validateEndpointSlice, validateNamespace, validateNode, validatePod, validateService } from './core.js';
import { isPlainlyValidMetadata } from './fast-accept.js';
import { Field, isObj, Report, type FieldPath, type NameRule } from './fields.js';
import { validateGateway, validateGRPCRoute, validateHTTPRoute, validateReferenceGrant } from './gateway.js';
import { validateNetworkPolicy } from './network-policy.js';
import { validateCiliumNetworkPolicy } from './cilium.js';
import { validateAuthorizationPolicy } from './istio.js';
import { validateMeshConfig } from './mesh-config.js';

export interface ValidationOrigin {
  source: string;
  line?: number;
  lineOf?: (path: (string | number)[]) => number | undefined;
}

export interface ValidationResult {
  object?: MeshObject;
  issues: ConfigIssue[];
}


const VALIDATORS: Record<MeshKind, (root: Field) => void> = {
  Namespace: validateNamespace,
  Node: validateNode,
  Service: validateService,
  Pod: validatePod,
  EndpointSlice: validateEndpointSlice,
  Gateway: validateGateway,
  HTTPRoute: validateHTTPRoute,
  GRPCRoute: validateGRPCRoute,
  ReferenceGrant: validateReferenceGrant,
  NetworkPolicy: validateNetworkPolicy,
  CiliumNetworkPolicy: validateCiliumNetworkPolicy,
  AuthorizationPolicy: validateAuthorizationPolicy,
  MeshConfig: validateMeshConfig,
};

/** metadata.name rules that differ from the usual DNS subdomain. */
const NAME_RULES: Partial<Record<MeshKind, NameRule>> = { Namespace: 'dnsLabel', Service: 'dns1035Label' };

/** Total size of metadata.annotations Kubernetes accepts. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export function validateObject(raw: unknown, origin: ValidationOrigin): ValidationResult {
  const report = new Report(origin.source, origin.line, origin.lineOf);
  try {
    return check(raw, report);
  } catch (err) {
    // A validator bug must not take the source down: report it against the object.
    report.add([], `internal validation error: ${err instanceof Error ? err.message : String(err)}`);
    return { issues: report.issues };
  }
}

function check(raw: unknown, report: Report): ValidationResult {
  const root = Field.root(report, raw);
  if (!isObj(raw)) {
    root.error(`a document must be an object with apiVersion and kind, not ${Array.isArray(raw) ? 'a list' : typeof raw}`);
    return { issues: report.issues };
  }
  const kind = typeof raw.kind === 'string' && raw.kind !== '' ? raw.kind : undefined;
  const known = kind !== undefined && Object.prototype.hasOwnProperty.call(VALIDATORS, kind) ? (kind as MeshKind) : undefined;
  const meta = isObj(raw.metadata) ? raw.metadata : {};
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
  if (kind !== undefined) report.object = objectLabel(kind, known && !isNamespaced(known) ? undefined : namespace, name);

  const apiVersion = root.req('apiVersion')?.string({ min: 1 });
  root.req('kind')?.string({ min: 1 });
  const metadata = root.req('metadata');
  if (metadata?.object()) metadata.req('name')?.string({ min: 1 });
  if (apiVersion === undefined || kind === undefined) return { issues: report.issues };

  if (!known || !API_VERSIONS[known].includes(apiVersion)) {
    root.warn(`unknown kind ${apiVersion}/${kind}: ignored (skiff reads ${Object.keys(VALIDATORS).join(', ')})`);
    return { issues: report.issues.filter((i) => i.severity === 'warning') };
  }
  const nameRule = NAME_RULES[known] ?? 'dnsSubdomain';
  if (metadata && !isPlainlyValidMetadata(metadata.value, nameRule, isNamespaced(known))) checkMetadata(metadata, nameRule, isNamespaced(known));
  VALIDATORS[known](root);
  if (report.hasErrors()) return { issues: report.issues };
  return { object: withNamespace(raw, known), issues: report.issues };
}

/** Walks metadata field by field (what isPlainlyValidMetadata does not accept). */
export function checkMetadata(meta: Field, nameRule: NameRule, namespaced: boolean): void {
  const name = meta.at('name');
  if (typeof name.value === 'string' && name.value !== '') name[nameRule]();
  const namespace = meta.opt('namespace');
  if (namespace && !namespaced) namespace.warn('ignored: this kind is not namespaced');
  else namespace?.dnsLabel();
  meta.opt('labels')?.labels();
  const annotations = meta.opt('annotations')?.map((_key, value) => value.string());
  if (annotations && JSON.stringify(annotations).length > MAX_ANNOTATIONS_BYTES) {
    meta.at('annotations').error(`must total at most ${MAX_ANNOTATIONS_BYTES} bytes`);
  }
  meta.opt('generation')?.int(0, Number.MAX_SAFE_INTEGER);
}

/** `Kind/namespace/name` for namespaced kinds, `Kind/name` for cluster-scoped ones. */
function objectLabel(kind: string, namespace: string | undefined, name: string | undefined): string {
  const shown = name ?? '(unnamed)';
  return namespace === undefined ? `${kind}/${shown}` : `${kind}/${namespace}/${shown}`;
}

/** The object as written, with metadata.namespace defaulted (namespaced kinds) or dropped (others). */
function withNamespace(raw: Record<string, unknown>, kind: MeshKind): MeshObject {
  const meta = raw.metadata as Record<string, unknown>;
  const namespace = isNamespaced(kind) ? ((meta.namespace as string | undefined) ?? 'default') : undefined;
  if (namespace === meta.namespace) return raw as unknown as MeshObject;
  const fixed: Record<string, unknown> = { ...meta };
  if (namespace === undefined) delete fixed.namespace;
  else fixed.namespace = namespace;
  return { ...raw, metadata: fixed } as unknown as MeshObject;
}

export type { FieldPath };
