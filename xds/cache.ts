// The snapshot cache: one ResourceSnapshot per client class, set by the translator. A snapshot that
// fails its consistency check is refused (logged) and the previous one stays in force. Listeners
// (the xDS server) hear which class changed.
import type { Logger } from '../config/log.js';
import { logger } from '../config/log.js';
import { type ClientInfo, defaultClassKey } from './client-info.js';
import { type ResourceSnapshot, type SnapshotInput, SnapshotError, buildSnapshot } from './snapshot.js';

export interface SnapshotCacheOptions {
  /** Which class a client belongs to (default: defaultClassKey — per node, per waypoint, proxyless). */
  classOf?: (client: ClientInfo) => string;
  /** Called when a client connects whose class has no snapshot yet, so the translator can compute one. */
  onMissingClass?: (classKey: string, client: ClientInfo) => void;
  log?: Logger;
}

export class SnapshotCache {
  private readonly snapshots = new Map<string, ResourceSnapshot>();
  private readonly listeners = new Set<(classKey: string) => void>();
  private readonly log: Logger;
  /** Snapshots refused since start (inconsistent or not encodable). */
  rejected = 0;

  constructor(private readonly options: SnapshotCacheOptions = {}) {
    this.log = options.log ?? logger('xds-cache');
  }

  classOf(client: ClientInfo): string {
    return (this.options.classOf ?? defaultClassKey)(client);
  }

  /** Tells the translator (onMissingClass) about a client whose class has no snapshot yet. */
  requestClass(classKey: string, client: ClientInfo): void {
    if (!this.snapshots.has(classKey)) this.options.onMissingClass?.(classKey, client);
  }

  get(classKey: string): ResourceSnapshot | undefined {
    return this.snapshots.get(classKey);
  }

  classes(): string[] {
    return [...this.snapshots.keys()];
  }

  /**
   * Encodes, checks and serves a class's resources. Unchanged resources keep their version and
   * bytes. Returns the snapshot in force, or undefined (and logs why) when the input was refused.
   */
  update(classKey: string, input: SnapshotInput): ResourceSnapshot | undefined {
    let snapshot: ResourceSnapshot;
    try {
      snapshot = buildSnapshot(input, this.snapshots.get(classKey));
    } catch (error) {
      if (!(error instanceof SnapshotError)) throw error;
      this.rejected++;
      this.log.error({ class: classKey, problems: error.problems }, 'snapshot refused; the previous one stays in force');
      return undefined;
    }
    this.set(classKey, snapshot);
    return snapshot;
  }

  /** Serves an already-built snapshot (see buildSnapshot) to a class. */
  set(classKey: string, snapshot: ResourceSnapshot): void {
    if (this.snapshots.get(classKey) === snapshot) return;
    this.snapshots.set(classKey, snapshot);
    for (const listener of this.listeners) listener(classKey);
  }

  delete(classKey: string): void {
    if (this.snapshots.delete(classKey)) for (const listener of this.listeners) listener(classKey);
  }

  onChange(listener: (classKey: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
