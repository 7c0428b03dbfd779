// MeshStore: the one place the sources' objects meet. It merges every ConfigSource (a later
// source wins a key both hold, and the conflict is reported), gathers bursts of changes for a
// debounce window, folds them into a new MeshSnapshot incrementally, and tells its listeners. Bad
// input never throws out of it: a failed build is reported and the last snapshot stays current.
import { performance } from 'node:perf_hooks';
import { logger, type Logger } from './log.js';
import type { MeshObject } from './resources.js';
import { LayeredMap } from './snapshot/layered-map.js';
import { buildSnapshot } from './snapshot/build.js';
import type { MeshSnapshot } from './snapshot/types.js';
import type { ConfigIssue, ConfigSource } from './source.js';

export interface MeshStoreOptions {
  /** How long changes are gathered before a snapshot is built, ms (default 50). */
  debounceMs?: number;
  /** A burst never delays a snapshot longer than this, ms (default 10 × debounceMs). */
  maxDelayMs?: number;
  logger?: Logger;
}

export type SnapshotListener = (snapshot: MeshSnapshot) => void;

export class MeshStore {
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly log: Logger;
  /**
   * What each source held at the last build (a copy), to find the keys that changed; with one
   * source the merged map serves, and this holds the source's map only while merging.
   */
  private readonly seen: ReadonlyMap<string, MeshObject>[];
  private readonly changedSources = new Set<number>();
  private merged = LayeredMap.empty<string, MeshObject>();
  /** Keys held by more than one source → the conflict issue. */
  private readonly conflicts = new Map<string, ConfigIssue>();
  private snapshot: MeshSnapshot;
  private readonly listeners: SnapshotListener[] = [];
  private timer: NodeJS.Timeout | undefined;
  private firstPendingAt = 0;
  private buildIssue: ConfigIssue | undefined;
  private running = false;

  constructor(
    private readonly sources: readonly ConfigSource[],
    options: MeshStoreOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? this.debounceMs * 10;
    this.log = options.logger ?? logger('config.store');
    this.seen = sources.map(() => new Map());
    this.snapshot = buildSnapshot(new Map());
    sources.forEach((source, index) => source.onChange(() => this.changed(index)));
  }

  /** Starts every source, then builds the first snapshot from their initial state. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const results = await Promise.allSettled(this.sources.map((s) => s.start()));
    results.forEach((result, index) => {
      if (result.status === 'rejected') {
        this.log.error({ source: this.sources[index]?.name, err: String(result.reason) }, 'source failed to start');
      }
    });
    this.sources.forEach((_, index) => this.changedSources.add(index));
    this.flush();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled(this.sources.map((s) => s.stop()));
  }

  current(): MeshSnapshot {
    return this.snapshot;
  }

  /** Calls `listener` with every new snapshot; returns a function that stops it. */
  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /** The sources' problems, the conflicts between them, and the current snapshot's. */
  issues(): ConfigIssue[] {
    const out: ConfigIssue[] = [];
    for (const source of this.sources) {
      try {
        out.push(...source.issues());
      } catch (err) {
        out.push({ severity: 'error', source: source.name, message: `issues() failed: ${String(err)}` });
      }
    }
    out.push(...this.conflicts.values());
    if (this.buildIssue) out.push(this.buildIssue);
    out.push(...this.snapshot.issues);
    return out;
  }

  /** Builds a snapshot now from the changes pending (if any) and returns the current one. */
  flush(): MeshSnapshot {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.changedSources.size === 0) return this.snapshot;
    const started = performance.now();
    try {
      const changed = this.merge();
      if (changed !== 'all' && changed.size === 0) return this.snapshot;
      this.snapshot = buildSnapshot(this.merged, this.snapshot, changed === 'all' ? {} : { changedKeys: changed });
      this.buildIssue = undefined;
    } catch (err) {
      this.buildIssue = { severity: 'error', source: 'store', message: `snapshot build failed, the last snapshot stays in force: ${String(err)}` };
      this.log.error({ err: String(err) }, 'snapshot build failed');
      return this.snapshot;
    }
    this.announce(performance.now() - started);
    return this.snapshot;
  }

  private changed(index: number): void {
    this.changedSources.add(index);
    if (!this.running) return;
    const now = performance.now();
    if (!this.timer) this.firstPendingAt = now;
    else clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPendingAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /**
   * Folds the changed sources into the merged map; returns the keys whose winner changed, or
   * 'all' when every object is new (the first objects of a single source).
   */
  private merge(): Set<string> | 'all' {
    if (this.sources.length === 1 && this.merged.size === 0) return this.mergeFirst();
    // With one source the merged map is what it held at the last build: no copy of its own is kept.
    const single = this.sources.length === 1;
    const candidates = new Set<string>();
    for (const index of this.changedSources) {
      const now = this.objectsOf(index);
      if (!now) continue;
      const before = single ? this.merged : (this.seen[index] as ReadonlyMap<string, MeshObject>);
      if (before.size === 0) {
        for (const key of now.keys()) candidates.add(key);
      } else {
        for (const [key, object] of now) if (before.get(key) !== object) candidates.add(key);
        for (const key of before.keys()) if (!now.has(key)) candidates.add(key);
      }
      // Several sources: a copy, as sources may change their map in place (the Kubernetes
      // informers do). One source: its map itself, read only until this merge returns.
      this.seen[index] = single ? now : new Map(now);
    }
    this.changedSources.clear();
    const updates = new Map<string, MeshObject | undefined>();
    for (const key of candidates) {
      const winner = this.winnerOf(key);
      if (!single) this.noteConflict(key, this.holdersOf(key));
      if (this.merged.get(key) !== winner) updates.set(key, winner);
    }
    this.merged = this.merged.update(updates);
    return candidates.size === updates.size ? candidates : new Set(updates.keys());
  }

  /**
   * One source and nothing merged yet: every object it holds is new, and the merged map is one
   * copy of its map (no per-key comparison, no map of changes; the build starts from scratch).
   */
  private mergeFirst(): Set<string> | 'all' {
    this.changedSources.clear();
    const now = this.objectsOf(0);
    if (!now || now.size === 0) return new Set();
    this.seen[0] = now;
    this.merged = LayeredMap.of(now);
    return 'all';
  }

  /** A source's objects, or undefined (reported) when it fails to give them. */
  private objectsOf(index: number): ReadonlyMap<string, MeshObject> | undefined {
    const source = this.sources[index] as ConfigSource;
    try {
      return source.objects();
    } catch (err) {
      this.log.error({ source: source.name, err: String(err) }, 'source objects() failed; keeping its last objects');
      return undefined;
    }
  }

  /** The object in force for a key: the one of the last source holding it. */
  private winnerOf(key: string): MeshObject | undefined {
    for (let index = this.seen.length - 1; index >= 0; index--) {
      const object = (this.seen[index] as ReadonlyMap<string, MeshObject>).get(key);
      if (object !== undefined) return object;
    }
    return undefined;
  }

  /** The indexes of the sources holding a key. */
  private holdersOf(key: string): number[] {
    const holders: number[] = [];
    this.seen.forEach((objects, index) => {
      if (objects.has(key)) holders.push(index);
    });
    return holders;
  }

  private noteConflict(key: string, holders: number[]): void {
    if (holders.length < 2) {
      this.conflicts.delete(key);
      return;
    }
    const names = holders.map((i) => this.sources[i]?.name ?? String(i));
    this.conflicts.set(key, {
      severity: 'warning',
      source: names[names.length - 1] as string,
      object: key,
      message: `defined by ${names.join(' and ')}; the one from ${names[names.length - 1]} is in force`,
    });
  }

  private announce(buildMs: number): void {
    const s = this.snapshot;
    let endpoints = 0;
    for (const service of s.services.values()) for (const port of service.ports) endpoints += port.endpoints.length;
    this.log.info(
      {
        version: s.version,
        services: s.services.size,
        endpoints,
        workloads: s.workloads.size,
        routes: s.routes.size,
        policies: s.policies.size,
        l7: s.l7.size,
        issues: s.issues.length,
        buildMs: Math.round(buildMs * 100) / 100,
      },
      'new mesh snapshot',
    );
    for (const listener of [...this.listeners]) {
      try {
        listener(s);
      } catch (err) {
        this.log.error({ err: String(err) }, 'snapshot listener failed');
      }
    }
  }
}
