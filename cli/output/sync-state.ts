// The sync state of one xDS type of one client, as proxy-status shows it: SYNCED, NOT SENT,
// STALE (sent, not yet ACKed, with its age), NACKED (with the client's error), IGNORED (not asked).
import type { TypeStateDetail } from '../clients/control-plane.js';
import { formatAge } from './write.js';

export type SyncState = 'SYNCED' | 'NOT SENT' | 'STALE' | 'NACKED' | 'IGNORED';

export interface TypeSync {
  state: SyncState;
  /** The NACK's error, or the age of the unanswered response. */
  detail: string;
}

const ENVOY_SHORT: Record<string, string> = {
  'envoy.config.cluster.v3.Cluster': 'CDS',
  'envoy.config.listener.v3.Listener': 'LDS',
  'envoy.config.endpoint.v3.ClusterLoadAssignment': 'EDS',
  'envoy.config.route.v3.RouteConfiguration': 'RDS',
  'envoy.extensions.transport_sockets.tls.v3.Secret': 'SDS',
  'envoy.config.core.v3.TypedExtensionConfig': 'ECDS',
};

/** The Envoy types' columns, in istioctl's order (plus SDS). */
export const ENVOY_COLUMNS = ['CDS', 'LDS', 'EDS', 'RDS', 'SDS'] as const;

/** CDS/LDS/EDS/RDS/SDS/ECDS for Envoy's types, else the message name (e.g. Workload for skiff.v1alpha1.Workload). */
export function shortType(typeUrl: string): string {
  const message = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  return ENVOY_SHORT[message] ?? message.slice(message.lastIndexOf('.') + 1);
}

export function isEnvoyType(typeUrl: string): boolean {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1) in ENVOY_SHORT;
}

export function typeSync(t: TypeStateDetail | undefined): TypeSync {
  if (!t) return { state: 'IGNORED', detail: '' };
  if (t.nonce === '') return { state: 'NOT SENT', detail: '' };
  if (t.lastNack && t.lastNack.nonce === t.nonce) return { state: 'NACKED', detail: t.lastNack.errorDetail };
  if (t.sentNotAckedMs !== null) return { state: 'STALE', detail: formatAge(t.sentNotAckedMs) };
  return { state: 'SYNCED', detail: '' };
}

/** Whether a state is one scripts should hear about (exit code 1). */
export function isProblem(s: TypeSync): boolean {
  return s.state === 'NACKED' || s.state === 'STALE';
}

const RANK: Record<SyncState, number> = { IGNORED: 0, SYNCED: 1, 'NOT SENT': 2, STALE: 3, NACKED: 4 };

/** The worst of several states (e.g. skiff's own types in one column), naming the type when not SYNCED. */
export function worstSync(types: readonly TypeStateDetail[]): TypeSync & { type?: string } {
  let worst: TypeSync & { type?: string } = { state: 'IGNORED', detail: '' };
  for (const t of types) {
    const s = typeSync(t);
    if (RANK[s.state] > RANK[worst.state]) worst = { ...s, type: shortType(t.typeUrl) };
  }
  return worst;
}

/** A table cell: `STALE (3.2s)`, `NACKED (error…)` cut to maxDetail characters. */
export function syncCell(s: TypeSync & { type?: string }, maxDetail = Infinity): string {
  const parts = [s.state === 'SYNCED' ? '' : s.type, s.detail.length > maxDetail ? `${s.detail.slice(0, maxDetail - 1)}…` : s.detail].filter(Boolean);
  return parts.length > 0 ? `${s.state} (${parts.join(': ')})` : s.state;
}
