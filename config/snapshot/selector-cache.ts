// Which identities each policy selector matches, kept up to date as identities come and go
// (Cilium's selector cache): a selector is evaluated once over the identities carrying one of its
// label pairs (an index), then only against identities added or removed, and its users are told.
import type { LabelSelector } from '../resources.js';
import type { Labels } from './labels.js';
import { NAMESPACE_LABEL, NAMESPACE_LABELS_PREFIX, SERVICE_ACCOUNT_LABEL, matchesSelector, smallestKey, stripSource } from './labels.js';
import { LazyLabelPairIndex, SetIndex } from './set-index.js';
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

/** Istio regex matches compiled once per pattern (null: the pattern does not compile and matches nothing). */
const compiledRegexes = new Map<string, RegExp | null>();
/** Patterns come from config; past this many distinct ones the cache starts over rather than grow with every edit. */
const MAX_COMPILED_REGEXES = 10_000;

function compiledRegex(pattern: string): RegExp | null {
  let compiled = compiledRegexes.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = new RegExp(`^(?:${pattern})$`);
    } catch {
      compiled = null;
    }
    if (compiledRegexes.size >= MAX_COMPILED_REGEXES) compiledRegexes.clear();
    compiledRegexes.set(pattern, compiled);
  }
  return compiled;
}

function matchString(match: StringMatch, value: string): boolean {
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
      return compiledRegex(match.value)?.test(value) ?? false;
  }
}

function selectorMatches(selector: IdentitySelector, labels: Labels): boolean {
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

/** A label key and value. */
type Pair = readonly [key: string, value: string];

function pair(key: string, value: string): Pair {
  return [key, value];
}

/** The service account an exact SPIFFE principal names, if it is one. */
function principalAccount(match: StringMatch, trustDomain: string): Pair | undefined {
  if (match.type !== 'exact') return undefined;
  const prefix = `spiffe://${trustDomain}/ns/`;
  if (!match.value.startsWith(prefix)) return undefined;
  const parts = match.value.slice(prefix.length).split('/');
  return parts.length === 3 && parts[1] === 'sa' ? pair(SERVICE_ACCOUNT_LABEL, parts[2] as string) : undefined;
}

/**
 * Label pairs of which a matching identity must carry at least one (undefined: no such list,
 * every identity of the scope is a candidate). Used to look candidates up instead of scanning.
 */
function candidatePairs(selector: IdentitySelector): Pair[] | undefined {
  if (selector.kind === 'pods') {
    const labels = selector.podSelector?.matchLabels ?? {};
    const first = smallestKey(labels);
    if (first !== undefined) return [pair(stripSource(first), labels[first] as string)];
    return selector.namespace !== undefined ? [pair(NAMESPACE_LABEL, selector.namespace)] : undefined;
  }
  if (selector.principals.length > 0) {
    const accounts = selector.principals.map((m) => principalAccount(m, selector.trustDomain));
    if (accounts.every((a) => a !== undefined)) return accounts as Pair[];
  }
  if (selector.namespaces.length > 0 && selector.namespaces.every((m) => m.type === 'exact')) {
    return selector.namespaces.map((m) => pair(NAMESPACE_LABEL, m.value));
  }
  return undefined;
}

/** The characters the short selector keys are made with: a selector whose parts hold one is keyed by its JSON. */
const KEY_MARK = '\u0001';
const KEY_SEPARATOR = '\u0000';

/**
 * A selector's key in the cache: equal selectors get equal keys. Most select the pods of one
 * namespace by labels, and get a short key made of their parts (a mark first, then namespace,
 * label names and values, each after a separator), much cheaper to make and to look up than
 * JSON; any other selector, or one whose parts hold a mark, is keyed by its JSON (which starts
 * with '{', so the two kinds of keys never meet).
 */
function selectorKey(selector: IdentitySelector): string {
  if (selector.kind !== 'pods' || selector.namespace === undefined || selector.namespaceSelector !== undefined) return JSON.stringify(selector);
  let key = KEY_MARK + selector.namespace;
  let parts = selector.namespace;
  const podSelector = selector.podSelector;
  for (const field in podSelector) if (Object.hasOwn(podSelector, field) && field !== 'matchLabels') return JSON.stringify(selector);
  const labels = podSelector?.matchLabels;
  for (const name in labels) {
    if (!Object.hasOwn(labels, name)) continue;
    const value: unknown = labels[name];
    if (typeof value !== 'string') return JSON.stringify(selector);
    key += KEY_SEPARATOR + name + KEY_SEPARATOR + value;
    parts += name + value;
  }
  return parts.includes(KEY_MARK) || parts.includes(KEY_SEPARATOR) ? JSON.stringify(selector) : key;
}

interface Entry {
  /** The selector's key in the cache (selectorKey). */
  readonly key: string;
  readonly selector: IdentitySelector;
  readonly scope: string;
  /** The identities it matches, sorted, once asked for. */
  sorted?: readonly number[];
}

export class SelectorCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byScope = new Map<string, Set<Entry>>();
  /**
   * Selector key → the identities it matches, and → its users; user → the selector keys it
   * uses. Most selectors match one identity and have one user: indexes, not a Set each.
   */
  private readonly idsOf = new SetIndex<string, number>();
  private readonly usersOf = new SetIndex<string, string>();
  private readonly usedBy = new SetIndex<string, string>();
  /** The identities known, and an index of them by label pair (the keys selectors look up). */
  private readonly labels = new Map<number, Labels>();
  private readonly byPair = new LazyLabelPairIndex<number>((visit) => {
    this.labels.forEach((labels, id) => visit('', labels, id));
  });

  /** The identities `selector` matches now, sorted; `user` is told of later changes. */
  select(selector: IdentitySelector, user: string): readonly number[] {
    const key = selectorKey(selector);
    let entry = this.entries.get(key);
    if (!entry) {
      const scope = scopeOf(selector);
      entry = { key, selector, scope };
      const pairs = candidatePairs(selector);
      if (pairs) for (const [key, value] of pairs) this.matchAmong(entry, this.byPair.get('', key, value));
      else this.matchAmong(entry, this.labels.keys());
      this.entries.set(key, entry);
      const scoped = this.byScope.get(scope) ?? new Set();
      scoped.add(entry);
      this.byScope.set(scope, scoped);
    }
    this.usersOf.add(key, user);
    this.usedBy.add(user, key);
    if (!entry.sorted) entry.sorted = Object.freeze([...(this.idsOf.get(key) ?? [])].sort((a, b) => a - b));
    return entry.sorted;
  }

  private matchAmong(entry: Entry, candidates: Iterable<number> | undefined): void {
    for (const id of candidates ?? []) if (selectorMatches(entry.selector, this.labels.get(id) as Labels)) this.idsOf.add(entry.key, id);
  }

  /** Forgets what `user` selected (before it selects anew); unused selectors are dropped. */
  release(user: string): void {
    for (const key of this.usedBy.get(user) ?? []) {
      const entry = this.entries.get(key) as Entry;
      this.usersOf.delete(key, user);
      if (this.usersOf.get(key) !== undefined) continue;
      this.entries.delete(key);
      this.idsOf.clear(key);
      this.byScope.get(entry.scope)?.delete(entry);
    }
    this.usedBy.clear(user);
  }

  /** Records an identity that appeared or disappeared and updates every selector; adds the users affected. */
  identityChanged(id: number, labels: Labels, present: boolean, affected: Set<string>): void {
    if (present) {
      this.byPair.add('', labels, id);
      this.labels.set(id, labels);
    } else {
      this.byPair.delete('', labels, id);
      this.labels.delete(id);
    }
    const namespace = labels[NAMESPACE_LABEL] ?? '';
    for (const scope of [namespace, '*']) {
      for (const entry of this.byScope.get(scope) ?? []) {
        if (!selectorMatches(entry.selector, labels)) continue;
        if (present) this.idsOf.add(entry.key, id);
        else this.idsOf.delete(entry.key, id);
        entry.sorted = undefined;
        for (const user of this.usersOf.get(entry.key) ?? []) affected.add(user);
      }
    }
  }
}
