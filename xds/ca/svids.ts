// SVIDs cached per identity: one key and certificate per SPIFFE ID, re-issued only when its
// rotation time has come (at about half its lifetime, with jitter so a fleet does not rotate at
// once), never per request. The clock is injected, so tests move time instead of sleeping.
import type { CertificateAuthority, Clock, IssuedKeyPair } from './authority.js';

/** Rotation at this fraction of the lifetime, minus up to JITTER of it. */
export const ROTATE_AT = 0.5;
export const JITTER = 0.1;

export interface CachedSvid extends IssuedKeyPair {
  /** When the cache replaces this certificate (well before notAfter). */
  refreshAfter: Date;
}

export interface SvidCacheOptions {
  /** Lifetime of new certificates in milliseconds (MeshConfig certificateTTL; default 24h). */
  ttlMs?: number;
  clock?: Clock;
  /** Uniform random in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

export const DEFAULT_TTL_MS = 24 * 3600_000;

export class SvidCache {
  private readonly entries = new Map<string, CachedSvid>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private ttl: number;
  /** Certificates issued since start (a rotation is one issuance). */
  issued = 0;

  constructor(
    private readonly ca: CertificateAuthority,
    options: SvidCacheOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.ttl = options.ttlMs ?? DEFAULT_TTL_MS;
  }

  get ttlMs(): number {
    return this.ttl;
  }

  /** New certificates get this lifetime; cached ones keep theirs until they rotate. */
  set ttlMs(ms: number) {
    if (!(ms > 0)) throw new Error(`certificate lifetime must be positive, not ${ms} ms`);
    this.ttl = ms;
  }

  /** The current SVID of an identity: the cached one unless its refresh time has come. */
  get(spiffeId: string): CachedSvid {
    const cached = this.entries.get(spiffeId);
    if (cached && this.clock() < cached.refreshAfter.getTime()) return cached;
    return this.issue(spiffeId);
  }

  /** The cached SVID, if any, without issuing. */
  peek(spiffeId: string): CachedSvid | undefined {
    return this.entries.get(spiffeId);
  }

  private issue(spiffeId: string): CachedSvid {
    const svid = this.ca.issueWithKey(spiffeId, this.ttl);
    const lifetime = svid.notAfter.getTime() - this.clock();
    const fraction = ROTATE_AT - JITTER * this.random();
    const refreshAfter = new Date(this.clock() + Math.max(0, lifetime * fraction));
    const entry = { ...svid, refreshAfter };
    this.entries.set(spiffeId, entry);
    this.issued++;
    return entry;
  }

  /** Re-issues every cached SVID whose refresh time has come; returns their SPIFFE IDs. */
  rotateDue(): string[] {
    const now = this.clock();
    const rotated: string[] = [];
    for (const [id, entry] of this.entries) {
      if (now < entry.refreshAfter.getTime()) continue;
      this.issue(id);
      rotated.push(id);
    }
    return rotated;
  }

  /** The earliest refresh time of the cached SVIDs (ms since the epoch), or undefined when empty. */
  nextRefresh(): number | undefined {
    let next: number | undefined;
    for (const entry of this.entries.values()) next = Math.min(next ?? Infinity, entry.refreshAfter.getTime());
    return next;
  }

  /** Forgets identities that are no longer in use (their keys leave memory). */
  retain(inUse: ReadonlySet<string>): void {
    for (const id of this.entries.keys()) if (!inUse.has(id)) this.entries.delete(id);
  }

  /**
   * Rotates due SVIDs on a real timer (checked at the next refresh time, at least every
   * `maxWaitMs`), calling `onRotated` with the SPIFFE IDs re-issued. Returns a stop function.
   */
  startRotation(onRotated: (spiffeIds: string[]) => void, maxWaitMs = 10_000): () => void {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const next = this.nextRefresh();
      const wait = next === undefined ? maxWaitMs : Math.min(maxWaitMs, Math.max(100, next - this.clock()));
      timer = setTimeout(() => {
        const rotated = this.rotateDue();
        if (rotated.length > 0) onRotated(rotated);
        arm();
      }, wait);
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  }

  get size(): number {
    return this.entries.size;
  }
}
