// skf_events (ring buffer) records: struct skf_flow_event (120 bytes), one per new connection
// (FORWARDED or TRANSLATED), per drop (DROPPED with a reason) and per redirect to the proxy
// (REDIRECTED). skf_ev_lost (per-CPU array, key 0, u64) counts records the full ring refused.
import { EventSource, nameOf, Reason, Verdict } from './constants.js';
import { readTuple, TUPLE_SIZE } from './tuple.js';

export const MAP_NAME = 'skf_events';
export const LOST_MAP_NAME = 'skf_ev_lost';
export const RECORD_SIZE = 120;
/** Ring size in bytes (a power of two, a multiple of the page size). */
export const DEFAULT_MAX_ENTRIES = 1 << 20;

export interface FlowEvent {
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
  timestampNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  ifindex: number;
  endpointId: number;
  verdict: number;
  verdictName: string;
  reason: number;
  reasonName: string;
  /** EventSource: which program saw it. */
  source: number;
  sourceName: string;
  tcpFlags: number;
  proxyPort: number;
  revNatId: number;
  /** The tuple as the pod sent it (for ICMP errors: the quoted flow). */
  orig: ReturnType<typeof readTuple>;
  /** The tuple after DNAT (equal to orig when not translated). */
  xlated: ReturnType<typeof readTuple>;
}

export function decodeEvent(buf: Buffer): FlowEvent {
  if (buf.length < RECORD_SIZE) throw new Error(`flow event of ${buf.length} bytes, expected ${RECORD_SIZE}`);
  const verdict = buf.readUInt8(24);
  const reason = buf.readUInt8(25);
  const source = buf.readUInt8(26);
  return {
    timestampNs: buf.readBigUInt64LE(0),
    srcIdentity: buf.readUInt32LE(8),
    dstIdentity: buf.readUInt32LE(12),
    ifindex: buf.readUInt32LE(16),
    endpointId: buf.readUInt32LE(20),
    verdict,
    verdictName: nameOf(Verdict, verdict),
    reason,
    reasonName: nameOf(Reason, reason),
    source,
    sourceName: nameOf(EventSource, source),
    tcpFlags: buf.readUInt8(27),
    proxyPort: buf.readUInt16LE(28),
    revNatId: buf.readUInt32LE(32),
    orig: readTuple(buf, 40),
    xlated: readTuple(buf, 40 + TUPLE_SIZE),
  };
}

/** Sum of the per-CPU lost counters, given the per-CPU value buffers of key 0. */
export function sumLost(perCpu: Buffer[]): bigint {
  let total = 0n;
  for (const value of perCpu) total += value.readBigUInt64LE(0);
  return total;
}
