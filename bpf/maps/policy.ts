// skf_policy (hash): (endpoint id, peer identity, dport, proto, direction) -> verdict. Key struct
// skf_policy_key (12 bytes, dport in network order); value struct skf_policy_value (4 bytes,
// proxyPort in host order). Zero fields are wildcards; the datapath tries, first hit wins:
// (peer, proto, port), (peer, proto, any port), (peer, any), (any peer, proto, port),
// (any peer, proto, any port), (any peer, any). No hit: allow, unless the endpoint's flags say a
// policy selects it for that direction (then deny). A nonzero proxyPort on an allow entry means
// "needs L7": from_pod steers the flow to the proxy listener on that port (fail closed).
export const MAP_NAME = 'skf_policy';
export const KEY_SIZE = 12;
export const VALUE_SIZE = 4;
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

export function encodeKey(k: PolicyKey): Buffer {
  const buf = Buffer.alloc(KEY_SIZE);
  buf.writeUInt32LE(k.endpointId, 0);
  buf.writeUInt32LE(k.identity, 4);
  buf.writeUInt16BE(k.dport, 8);
  buf.writeUInt8(k.proto, 10);
  buf.writeUInt8(k.direction, 11);
  return buf;
}

export function decodeKey(buf: Buffer): PolicyKey {
  return {
    endpointId: buf.readUInt32LE(0),
    identity: buf.readUInt32LE(4),
    dport: buf.readUInt16BE(8),
    proto: buf.readUInt8(10),
    direction: buf.readUInt8(11),
  };
}

export function encodeValue(v: PolicyValue): Buffer {
  const buf = Buffer.alloc(VALUE_SIZE);
  buf.writeUInt8(v.verdict, 0);
  buf.writeUInt8(v.flags, 1);
  buf.writeUInt16LE(v.proxyPort, 2);
  return buf;
}

export function decodeValue(buf: Buffer): PolicyValue {
  return { verdict: buf.readUInt8(0), flags: buf.readUInt8(1), proxyPort: buf.readUInt16LE(2) };
}
