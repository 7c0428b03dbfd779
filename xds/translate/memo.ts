// The two caches that make translation incremental: a Memo reuses a Built while the snapshot views
// it was made from are the same objects (the snapshot shares unchanged views between versions),
// and a Family keeps one resource type's name → Built map as a LayeredMap (a new version shares
// structure with the last one), serving the last good version of a resource that fails its checks.
import { LayeredMap } from '../../config/snapshot/layered-map.js';
import type { Built } from './encode.js';
import type { TranslateIssue } from './types.js';

interface MemoEntry<T> {
  deps: readonly unknown[];
  value: T;
  round: number;
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Memo<T> {
  private readonly entries = new Map<string, MemoEntry<T>>();
  private round = 0;

  /** The cached value for `key` when `deps` are the same objects as last time, else a new build. */
  get(key: string, deps: readonly unknown[], build: () => T): T {
    const entry = this.entries.get(key);
    if (entry && sameDeps(entry.deps, deps)) {
      entry.round = this.round;
      return entry.value;
    }
    const value = build();
    this.entries.set(key, { deps, value, round: this.round });
    return value;
  }

  /** Ends a round: drops entries not asked for in it. */
  sweep(): void {
    for (const [key, entry] of this.entries) if (entry.round !== this.round) this.entries.delete(key);
    this.round++;
  }
}

/**
 * One resource type of one or more client classes, as served. Either round by round (begin, put
 * every resource, end: names not put are removed) or by explicit set/delete and commit.
 */
export class Family {
  /** The served map; a new object only when its content changed (structure shared with the last one). */
  map: LayeredMap<string, Built> = LayeredMap.empty();
  /** True when names were added or removed since the last reset (not only values changed). */
  namesChanged = false;
  /** Changes since the last commit: a Built sets a name, undefined removes it. */
  private readonly pending = new Map<string, Built | undefined>();
  private offered: Set<string> | undefined;
  private readonly problems = new Map<string, readonly TranslateIssue[]>();

  constructor(readonly typeUrl: string) {}

  begin(): void {
    this.offered = new Set();
  }

  /** Offers this round's Built for its name (round mode). */
  put(built: Built): void {
    this.offered?.add(built.name);
    this.set(built);
  }

  /** Serves a Built; an invalid one leaves the last good version served and records its issues. */
  set(built: Built): void {
    if (built.issues.length > 0) this.problems.set(built.name, built.issues);
    else if (this.problems.size > 0) this.problems.delete(built.name);
    if (built.invalid) return;
    const current = this.get(built.name);
    if (current === built) return;
    if (!current) this.namesChanged = true;
    this.pending.set(built.name, built);
  }

  delete(name: string): void {
    this.problems.delete(name);
    if (!this.has(name)) return;
    this.pending.set(name, undefined);
    this.namesChanged = true;
  }

  get(name: string): Built | undefined {
    return this.pending.has(name) ? this.pending.get(name) : this.map.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Ends a round (round mode): names not put in it are removed; then commits. */
  end(): void {
    const offered = this.offered;
    this.offered = undefined;
    if (offered) {
      for (const name of this.map.keys()) if (!offered.has(name)) this.delete(name);
    }
    this.commit();
  }

  /** Makes the changes since the last commit the served map. */
  commit(): void {
    if (this.pending.size === 0) return;
    this.map = this.map.update(this.pending);
    this.pending.clear();
  }

  /** Starts tracking name changes afresh. */
  resetNamesChanged(): void {
    this.namesChanged = false;
  }

  /** Issues of the resources of this family. */
  issues(): TranslateIssue[] {
    return [...this.problems.values()].flat();
  }
}
