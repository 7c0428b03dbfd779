// Label selectors and label sets: Kubernetes selector matching, the canonical form of a label set,
// and the identity labels of a pod as Cilium derives them (pod labels, namespace, service account,
// namespace labels).
import type { LabelSelector } from '../resources.js';
import { sortStrings } from './sorted.js';

export type Labels = Readonly<Record<string, string>>;

/** The label carrying a pod's namespace in identity labels (Cilium's name for it). */
export const NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const SERVICE_ACCOUNT_LABEL = 'io.cilium.k8s.policy.serviceaccount';
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';

/** Per-pod labels that would split one workload's identity into one per pod or per rollout. */
const PER_POD_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/controller-uid',
  'controller-uid',
  'batch.kubernetes.io/job-name',
  'job-name',
]);

/** Cilium label sources a selector key may carry (`k8s:app`, `any:app`). */
export function stripSource(key: string): string {
  const colon = key.indexOf(':');
  if (colon < 0) return key;
  const source = key.slice(0, colon);
  return source === 'k8s' || source === 'any' ? key.slice(colon + 1) : key;
}

/** True when `labels` satisfy `selector` (an empty selector matches everything). */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  const matchLabels = selector.matchLabels;
  for (const rawKey in matchLabels) {
    if (Object.hasOwn(matchLabels, rawKey) && labels[stripSource(rawKey)] !== matchLabels[rawKey]) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const value = labels[stripSource(requirement.key)];
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** True when `labels` contain every pair of a Service-style map selector. */
export function matchesMap(selector: Labels, labels: Labels): boolean {
  for (const key in selector) if (labels[key] !== selector[key]) return false;
  return true;
}

/** True when the selector names a key (with or without a `k8s:` source prefix). */
export function selectorUsesKey(selector: LabelSelector, key: string): boolean {
  if (Object.keys(selector.matchLabels ?? {}).some((k) => stripSource(k) === key)) return true;
  return (selector.matchExpressions ?? []).some((r) => stripSource(r.key) === key);
}

/** The smallest key of a label map (its first in sorted order), undefined when it has none. */
export function smallestKey(labels: Labels | undefined): string | undefined {
  let first: string | undefined;
  for (const key in labels) if (Object.hasOwn(labels, key) && (first === undefined || key < first)) first = key;
  return first;
}

/** A sorted copy of a label map (stable JSON output). */
export function sortedLabels(labels: Labels | undefined): Labels {
  const out: Record<string, string> = {};
  if (labels) for (const key of sortStrings(Object.keys(labels))) out[key] = labels[key] as string;
  return Object.freeze(out);
}

const prefixedCache = new WeakMap<Labels, readonly (readonly [string, string])[]>();

/** A namespace's labels as identity labels carry them, made once per label set (every pod of the namespace has them). */
function prefixedNamespaceLabels(namespaceLabels: Labels): readonly (readonly [string, string])[] {
  let prefixed = prefixedCache.get(namespaceLabels);
  if (!prefixed) {
    const pairs: [string, string][] = [];
    for (const key in namespaceLabels) pairs.push([NAMESPACE_LABELS_PREFIX + key, namespaceLabels[key] as string]);
    prefixed = pairs;
    prefixedCache.set(namespaceLabels, prefixed);
  }
  return prefixed;
}

/**
 * A pod's identity labels, and their canonical form `k=v,k=v` with keys sorted (equal label sets
 * give equal strings), both made with one sort of the keys.
 */
export interface IdentityLabelSet {
  readonly labels: Labels;
  readonly canonical: string;
}

/** The identity labels of a pod: what its numeric identity is allocated for. */
export function identityLabels(namespace: string, serviceAccount: string, podLabels: Labels, namespaceLabels: Labels): IdentityLabelSet {
  const out: Record<string, string> = {};
  for (const key in podLabels) if (!PER_POD_LABELS.has(key)) out[key] = podLabels[key] as string;
  for (const [key, value] of prefixedNamespaceLabels(namespaceLabels)) out[key] = value;
  out[NAMESPACE_LABEL] = namespace;
  out[SERVICE_ACCOUNT_LABEL] = serviceAccount;
  const sorted: Record<string, string> = {};
  let canonical = '';
  for (const key of sortStrings(Object.keys(out))) {
    const value = out[key] as string;
    sorted[key] = value;
    canonical += `${canonical === '' ? '' : ','}${key}=${value}`;
  }
  return { labels: Object.freeze(sorted), canonical };
}
