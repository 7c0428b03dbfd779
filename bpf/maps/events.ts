// skf_events (ring buffer) records: struct skf_flow_event (120 bytes), one per new connection
// (FORWARDED or TRANSLATED), per drop (DROPPED with a reason) and per redirect to the proxy
// (REDIRECTED). skf_ev_lost (per-CPU array, key 0, u64) counts records the full ring refused.
import { EventSource, nameOf, Reason, Verdict } from './constants.js';
import { Struct } from './struct.js';
import { TUPLE, type Tuple } from './tuple.js';

export const MAP_NAME = 'skf_events';
export const LOST_MAP_NAME = 'skf_ev_lost';
/** Ring size in bytes (a power of two, a multiple of the page size). */
export const DEFAULT_MAX_ENTRIES = 1 << 20;

export interface FlowEventRecord {
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
  timestampNs: bigint;
  srcIdentity: number;
  dstIdentity: number;
  ifindex: number;
  endpointId: number;
  verdict: number;
  reason: number;
  /** EventSource: which program saw it. */
  source: number;
  tcpFlags: number;
  proxyPort: number;
  revNatId: number;
  /** The tuple as the pod sent it (for ICMP errors: the quoted flow). */
  orig: Tuple;
  /** The tuple after DNAT (equal to orig when not translated). */
  xlated: Tuple;
}

export interface FlowEvent extends FlowEventRecord {
  verdictName: string;
  reasonName: string;
  sourceName: string;
}

export const RECORD = new Struct<FlowEventRecord>('skf_flow_event', 120, [
  { name: 'timestampNs', kind: 'u64', offset: 0 },
  { name: 'srcIdentity', kind: 'u32', offset: 8 },
  { name: 'dstIdentity', kind: 'u32', offset: 12 },
  { name: 'ifindex', kind: 'u32', offset: 16 },
  { name: 'endpointId', kind: 'u32', offset: 20 },
  { name: 'verdict', kind: 'u8', offset: 24 },
  { name: 'reason', kind: 'u8', offset: 25 },
  { name: 'source', kind: 'u8', offset: 26 },
  { name: 'tcpFlags', kind: 'u8', offset: 27 },
  { name: 'proxyPort', kind: 'u16', offset: 28 },
  { name: 'revNatId', kind: 'u32', offset: 32 },
  { name: 'orig', kind: TUPLE, offset: 40 },
  { name: 'xlated', kind: TUPLE, offset: 80 },
]);

export function decodeEvent(buf: Buffer): FlowEvent {
  const record = RECORD.decode(buf);
  return {
    ...record,
    verdictName: nameOf(Verdict, record.verdict),
    reasonName: nameOf(Reason, record.reason),
    sourceName: nameOf(EventSource, record.source),
  };
}

/** Sum of the per-CPU lost counters, given the per-CPU value buffers of key 0. */
export function sumLost(perCpu: Buffer[]): bigint {
  let total = 0n;
  for (const value of perCpu) total += value.readBigUInt64LE(0);
  return total;
}
