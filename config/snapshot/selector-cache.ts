// Which identities each policy selector matches, kept up to date as identities come and go
// (Cilium's selector cache): a selector is evaluated once over the identities of its namespace,
// then only against identities added or removed, and the policies using it are told.
import type { LabelSelector } from '../resources.js';
import type { Labels } from './labels.js';
import { NAMESPACE_LABEL, NAMESPACE_LABELS_PREFIX, SERVICE_ACCOUNT_LABEL, matchesSelector } from './labels.js';
import type { StringMatch } from './types.js';

/** What a policy may select identities by. */
export type IdentitySelector =
  | {
      readonly kind: 'pods';
      /** Only identities of this namespace (undefined = any namespace). */
      readonly namespace?: string;
      readonly namespaceSelector?: LabelSelector;
      readonly podSelector?: LabelSelector;
    }
  | {
      /** Istio sources: SPIFFE principals (without `spiffe://`) and namespaces; each non-empty list must match. */
      readonly kind: 'istio';
      readonly trustDomain: string;
      readonly principals: readonly StringMatch[];
      readonly namespaces: readonly StringMatch[];
    };

const namespaceLabelsCache = new WeakMap<Labels, Labels>();

/** The namespace's labels carried in an identity's labels. */
function namespaceLabels(labels: Labels): Labels {
  let cached = namespaceLabelsCache.get(labels);
  if (!cached) {
    const out: Record<string, string> = {};
    for (const key in labels) if (key.startsWith(NAMESPACE_LABELS_PREFIX)) out[key.slice(NAMESPACE_LABELS_PREFIX.length)] = labels[key] as string;
    cached = out;
    namespaceLabelsCache.set(labels, cached);
  }
  return cached;
}

export function matchString(match: StringMatch, value: string): boolean {
  switch (match.type) {
    case 'any':
      return true;
    case 'exact':
      return value === match.value;
    case 'prefix':
      return value.startsWith(match.value);
    case 'suffix':
      return value.endsWith(match.value);
    case 'regex':
      try {
        return new RegExp(`^(?:${match.value})$`).test(value);
      } catch {
        return false;
      }
  }
}

export function selectorMatches(selector: IdentitySelector, labels: Labels): boolean {
  const namespace = labels[NAMESPACE_LABEL] ?? '';
  if (selector.kind === 'pods') {
    if (selector.namespace !== undefined && namespace !== selector.namespace) return false;
    if (selector.namespaceSelector && !matchesSelector(selector.namespaceSelector, namespaceLabels(labels))) return false;
    return !selector.podSelector || matchesSelector(selector.podSelector, labels);
  }
  if (selector.namespaces.length > 0 && !selector.namespaces.some((m) => matchString(m, namespace))) return false;
  if (selector.principals.length === 0) return true;
  const principal = `spiffe://${selector.trustDomain}/ns/${namespace}/sa/${labels[SERVICE_ACCOUNT_LABEL] ?? 'default'}`;
  return selector.principals.some((m) => matchString(m, principal));
}

function scopeOf(selector: IdentitySelector): string {
  if (selector.kind === 'pods') return selector.namespace ?? '*';
  const exact = selector.namespaces.length === 1 && selector.namespaces[0]?.type === 'exact' ? selector.namespaces[0].value : undefined;
  return exact ?? '*';
}

interface Entry {
  readonly selector: IdentitySelector;
  readonly scope: string;
  readonly ids: Set<number>;
  readonly users: Set<string>;
  sorted?: readonly number[];
}

export interface IdentitySource {
  /** Identities of one namespace, or of all when namespace is '*'. */
  identities(namespace: string): Iterable<[number, Labels]>;
}

export class SelectorCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byScope = new Map<string, Set<Entry>>();
  private readonly usedBy = new Map<string, Set<string>>();

  constructor(private readonly source: IdentitySource) {}

  /** The identities `selector` matches now, sorted; `user` is told of later changes. */
  select(selector: IdentitySelector, user: string): readonly number[] {
    const key = JSON.stringify(selector);
    let entry = this.entries.get(key);
    if (!entry) {
      const scope = scopeOf(selector);
      entry = { selector, scope, ids: new Set(), users: new Set() };
      for (const [id, labels] of this.source.identities(scope)) if (selectorMatches(selector, labels)) entry.ids.add(id);
      this.entries.set(key, entry);
      const scoped = this.byScope.get(scope) ?? new Set();
      scoped.add(entry);
      this.byScope.set(scope, scoped);
    }
    entry.users.add(user);
    let used = this.usedBy.get(user);
    if (!used) this.usedBy.set(user, (used = new Set()));
    used.add(key);
    if (!entry.sorted) entry.sorted = Object.freeze([...entry.ids].sort((a, b) => a - b));
    return entry.sorted;
  }

  /** Forgets what `user` selected (before it selects anew); unused selectors are dropped. */
  release(user: string): void {
    for (const key of this.usedBy.get(user) ?? []) {
      const entry = this.entries.get(key) as Entry;
      entry.users.delete(user);
      if (entry.users.size > 0) continue;
      this.entries.delete(key);
      this.byScope.get(entry.scope)?.delete(entry);
    }
    this.usedBy.delete(user);
  }

  /** Updates every selector for an identity that appeared or disappeared; returns the users affected. */
  identityChanged(id: number, labels: Labels, present: boolean, affected: Set<string>): void {
    const namespace = labels[NAMESPACE_LABEL] ?? '';
    for (const scope of [namespace, '*']) {
      for (const entry of this.byScope.get(scope) ?? []) {
        if (!selectorMatches(entry.selector, labels)) continue;
        if (present) entry.ids.add(id);
        else entry.ids.delete(id);
        entry.sorted = undefined;
        for (const user of entry.users) affected.add(user);
      }
    }
  }
}
