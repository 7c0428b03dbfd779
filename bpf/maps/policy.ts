// skf_policy (hash): (endpoint id, peer identity, dport, proto, direction) -> verdict. Key struct
// skf_policy_key (12 bytes, dport in network order); value struct skf_policy_value (4 bytes,
// proxyPort in host order). Zero fields are wildcards; the datapath tries, first hit wins:
// (peer, proto, port), (peer, proto, any port), (peer, any), (any peer, proto, port),
// (any peer, proto, any port), (any peer, any). No hit: allow, unless the endpoint's flags say a
// policy selects it for that direction (then deny). A nonzero proxyPort on an allow entry means
// "needs L7": from_pod steers the flow to the proxy listener on that port (fail closed). ICMP is
// matched with dport 0.
import { Struct } from './struct.js';

export const MAP_NAME = 'skf_policy';
export const DEFAULT_MAX_ENTRIES = 262144;

export interface PolicyKey {
  endpointId: number;
  /** Peer identity; 0 = any peer. */
  identity: number;
  /** Destination port; 0 = any port. */
  dport: number;
  /** Proto; 0 = any protocol (then dport must be 0). */
  proto: number;
  /** Direction.INGRESS or Direction.EGRESS. */
  direction: number;
}

export interface PolicyValue {
  /** PolicyVerdict.ALLOW or PolicyVerdict.DENY. */
  verdict: number;
  flags: number;
  /** Nonzero: steer to the proxy listener on this port. */
  proxyPort: number;
}

export const KEY = new Struct<PolicyKey>('skf_policy_key', 12, [
  { name: 'endpointId', kind: 'u32', offset: 0 },
  { name: 'identity', kind: 'u32', offset: 4 },
  { name: 'dport', kind: 'be16', offset: 8 },
  { name: 'proto', kind: 'u8', offset: 10 },
  { name: 'direction', kind: 'u8', offset: 11 },
]);

export const VALUE = new Struct<PolicyValue>('skf_policy_value', 4, [
  { name: 'verdict', kind: 'u8', offset: 0 },
  { name: 'flags', kind: 'u8', offset: 1 },
  { name: 'proxyPort', kind: 'u16', offset: 2 },
]);

export const encodeKey = (k: PolicyKey): Buffer => KEY.encode(k);
export const decodeKey = (buf: Buffer): PolicyKey => KEY.decode(buf);
export const encodeValue = (v: PolicyValue): Buffer => VALUE.encode(v);
export const decodeValue = (buf: Buffer): PolicyValue => VALUE.decode(buf);
