// What both sides of the HBONE node tunnel share: the ports, what the tunnel must know of the mesh
// (HboneDirectory: workloads by IP, the certificates this node holds, authorization), the TLS
// settings (mutual TLS 1.3, ALPN h2, SPIFFE URI SAN checks) and the HTTP/2 window sizes.
//
// The client asks for the destination workload's certificate by SNI: sniFor(spiffeId), a hash of
// the SPIFFE ID under `.hbone.skiff` (SNI must be a DNS name; a hash keeps the identity out of the
// clear ClientHello).
import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export { HBONE_OUTBOUND_PORT, HBONE_PORT } from '../../config/ports.js';
/** Per-stream window (HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE) and per-session window: large enough
 * that one stream fills a fast link at a millisecond of RTT. */
export const STREAM_WINDOW = 16 << 20;
export const SESSION_WINDOW = 64 << 20;
/** HTTP/2 PING period on pooled connections. */
export const KEEPALIVE_MS = 30_000;

/** An SVID this node holds (WorkloadCertificate of identity.proto). */
export interface TunnelCertificate {
  spiffeId: string;
  /** Leaf, then intermediates. */
  certChainPem: string;
  privateKeyPem: string;
  rootCaPem: string;
  serial: string;
  notAfterMs: number;
}

/** Where a destination that uses a waypoint is sent instead: the waypoint's HBONE listener. */
export interface WaypointTarget {
  address: string;
  port: number;
  spiffeId: string;
}

/** A workload of the mesh as the tunnel needs it. */
export interface MeshWorkload {
  namespace: string;
  name: string;
  spiffeId: string;
  /** InternalIP of the node it runs on. */
  nodeAddress: string;
  waypoint?: WaypointTarget;
}

export interface Verdict {
  allowed: boolean;
  reason: string;
}

/** The tunnel's view of the mesh; the agent implements it from its xDS resources. */
export interface HboneDirectory {
  workloadByIp(ip: string): MeshWorkload | undefined;
  /** The certificate this node holds for a SPIFFE ID (its local workloads' identities). */
  certificate(spiffeId: string): TunnelCertificate | undefined;
  /** L4 authorization of a connection from client (SPIFFE ID) to a local workload's port. */
  authorize(clientSpiffeId: string, destination: MeshWorkload, port: number): Verdict;
}

export function sniFor(spiffeId: string): string {
  return `${createHash('sha256').update(spiffeId).digest('hex').slice(0, 40)}.hbone.skiff`;
}

/** The SPIFFE ID in a peer certificate's URI SAN, if it has exactly one. */
export function spiffeIdOf(cert: PeerCertificate | undefined): string | undefined {
  const uris = (cert?.subjectaltname ?? '')
    .split(', ')
    .filter((san) => san.startsWith('URI:spiffe://'))
    .map((san) => san.slice('URI:'.length));
  return uris.length === 1 ? uris[0] : undefined;
}

/** Mutual TLS 1.3 with ALPN h2, from one SVID. */
export function tlsOptions(cert: TunnelCertificate): { cert: string; key: string; ca: string; minVersion: 'TLSv1.3'; ALPNProtocols: string[] } {
  return { cert: cert.certChainPem, key: cert.privateKeyPem, ca: cert.rootCaPem, minVersion: 'TLSv1.3', ALPNProtocols: ['h2'] };
}

/** `host:port` with IPv6 hosts bracketed. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses `host:port` / `[v6]:port`; undefined when it is neither. */
export function parseHostPort(authority: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(authority) ?? /^([0-9.]+):(\d+)$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1] as string, port } : undefined;
}

/** An IPv4-mapped address as plain IPv4. */
export function plainIp(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}
