// What one stream knows about one type URL: the subscription, what was sent (a reference to the
// shared TypeSnapshot, not a copy), the nonce, what was ACKed, and the last NACK. A few hundred
// bytes per type however many resources the client holds.
import { EMPTY_NAMES, type NameSet } from './names.js';
import type { TypeSnapshot } from './snapshot.js';

export interface Nack {
  version: string;
  nonce: string;
  errorDetail: string;
  at: number;
}

export class TypeState {
  /** A request for this type was seen on the stream. */
  subscribed = false;
  /** The client named resources at least once (ends legacy wildcard). */
  everNamed = false;
  wildcard = false;
  sub: NameSet = EMPTY_NAMES;
  /** The TypeSnapshot the client's copy reflects, for the names of sentSub (or all when sentWildcard). */
  sent: TypeSnapshot | null = null;
  sentSub: NameSet = EMPTY_NAMES;
  sentWildcard = false;
  /** Delta reconnect: versions the client said it has (initial_resource_versions), until the first push. */
  known: Map<string, string> | null = null;
  version = '';
  nonce = '';
  sentAt = 0;
  acked = '';
  ackedAt = 0;
  /** The TypeSnapshot (a reference to the shared one, not a copy) and subscription the client last ACKed. */
  ackedSnapshot: TypeSnapshot | null = null;
  ackedSub: NameSet = EMPTY_NAMES;
  ackedWildcard = false;
  /** The nonce of the last response the client answered (ACK or NACK). */
  answeredNonce = '';
  nack: Nack | null = null;

  constructor(readonly typeUrl: string) {}

  /** Whether the name is in the current subscription. */
  inScope(name: string): boolean {
    return this.wildcard || this.sub.has(name);
  }

  /** Whether the name was in the subscription the last push answered. */
  wasInScope(name: string): boolean {
    return this.sentWildcard || this.sentSub.has(name);
  }

  /** Records that the client's copy now reflects `snapshot` for the current subscription. */
  markSent(snapshot: TypeSnapshot): void {
    this.sent = snapshot;
    this.sentSub = this.sub;
    this.sentWildcard = this.wildcard;
    this.known = null;
  }

  /** Records an ACK of the latest response: the client's copy is what was last sent. */
  markAcked(at: number): void {
    this.acked = this.version;
    this.ackedAt = at;
    this.ackedSnapshot = this.sent;
    this.ackedSub = this.sentSub;
    this.ackedWildcard = this.sentWildcard;
  }

  /** name → version of the resources of `snapshot` the subscription (names, wildcard) covers. */
  private static versions(snapshot: TypeSnapshot | null, sub: NameSet, wildcard: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    if (!snapshot) return out;
    if (wildcard) for (const [name, entry] of snapshot.entries) out[name] = entry.version;
    else
      for (const name of sub.list) {
        const entry = snapshot.entries.get(name);
        if (entry) out[name] = entry.version;
      }
    return out;
  }

  /** The key of the inputs a response depends on, for sharing response bytes between clients. */
  cacheKey(extra: string): string {
    return `${this.sent?.id ?? 0}:${this.sentSub.id}:${this.sentWildcard ? 1 : 0}:${this.sub.id}:${this.wildcard ? 1 : 0}:${extra}`;
  }

  /** The syncz view; with `current` (the class's TypeSnapshot now), what would be sent now and what was ACKed. */
  view(now: number, current?: TypeSnapshot): TypeStateView {
    return {
      typeUrl: this.typeUrl,
      wildcard: this.wildcard,
      names: [...this.sub.list],
      versionSent: this.version,
      versionAcked: this.acked,
      nonce: this.nonce,
      lastNack: this.nack
        ? { version: this.nack.version, nonce: this.nack.nonce, errorDetail: this.nack.errorDetail, at: new Date(this.nack.at).toISOString() }
        : null,
      sentNotAckedMs: this.nonce !== '' && this.nonce !== this.answeredNonce ? now - this.sentAt : null,
      ...(current ? { current: { version: current.version, resources: TypeState.versions(current, this.sub, this.wildcard) } } : {}),
      ackedResources: TypeState.versions(this.ackedSnapshot, this.ackedSub, this.ackedWildcard),
    };
  }
}

/** One type URL of one client in /debug/syncz. */
export interface TypeStateView {
  typeUrl: string;
  wildcard: boolean;
  /** Explicitly subscribed names (including names that do not exist yet). */
  names: string[];
  versionSent: string;
  versionAcked: string;
  nonce: string;
  lastNack: { version: string; nonce: string; errorDetail: string; at: string } | null;
  /** How long the last response has waited for its ACK/NACK (null when answered or nothing sent). */
  sentNotAckedMs: number | null;
  /** What the control plane would send this client now (its class's snapshot, its subscription): name → version. */
  current?: { version: string; resources: Record<string, string> };
  /** The resources of the version the client last ACKed: name → version. */
  ackedResources: Record<string, string>;
}
