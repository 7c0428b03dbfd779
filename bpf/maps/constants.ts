// Constants of the datapath, mirrored from bpf/datapath/common.h (the one place on the C side):
// marks, reserved identities, flow verdicts and drop reasons, policy and endpoint flags,
// conntrack scopes and flags, and the names of the pinned maps and programs.

/** skb->mark nibble owned by skiff, and its two values. */
export const MARK_MASK = 0xf00;
/** Set by from_pod on packets steered to the proxy: `ip rule add fwmark 0x200/0xf00 lookup 100`. */
export const MARK_TO_PROXY = 0x200;
/** Set by the proxy (SO_MARK) on upstream connections; bits 16-31 may carry the client identity. */
export const MARK_FROM_PROXY = 0xb00;
/** Routing table the proxy mark leads to (`ip route add local 0.0.0.0/0 dev lo table 100`). */
export const PROXY_ROUTE_TABLE = 100;

/** The mark a proxy puts on its upstream sockets for a client of identity `identity`. */
export function proxyUpstreamMark(identity = 0): number {
  return ((identity & 0xffff) << 16 | MARK_FROM_PROXY) >>> 0;
}

export const Identity = { UNKNOWN: 0, HOST: 1, WORLD: 2 } as const;

export const AF_INET = 2;
export const AF_INET6 = 10;

export const Proto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;

export const Verdict = { FORWARDED: 1, DROPPED: 2, REDIRECTED: 3, TRANSLATED: 4 } as const;

export const Reason = {
  NONE: 0,
  POLICY_DENIED: 1,
  NO_BACKEND: 2,
  INVALID_PACKET: 3,
  PROXY_UNAVAILABLE: 4,
  CT_INVALID: 5,
  /** Needs L7 but is not TCP (the proxy takes TCP only): dropped, fail closed. */
  UNSUPPORTED_L4: 6,
  /** A pod sent with the address of another local pod (spoofing its identity). */
  INVALID_SOURCE: 7,
} as const;

/** Which program reported a flow event. */
export const EventSource = { FROM_POD: 1, TO_POD: 2, SOCK: 3 } as const;

export const Direction = { INGRESS: 0, EGRESS: 1 } as const;
export const PolicyVerdict = { ALLOW: 1, DENY: 2 } as const;

/** Endpoint flags: a policy selects the endpoint for that direction (default deny there). */
export const EndpointFlags = { INGRESS_ENFORCED: 0x1, EGRESS_ENFORCED: 0x2 } as const;

/** NO_SOCK_LB: connect()/sendmsg() keep the VIP (no socket load balancing); set it on services
 * whose flows need L7, so from_pod steers the untranslated flow and the proxy sees the VIP. */
export const ServiceFlags = { NO_SOCK_LB: 0x1 } as const;

/** Conntrack key scopes: which program opened the entry. */
export const CtScope = { EGRESS: 0, INGRESS: 1, SERVICE: 2 } as const;

export const CtFlags = {
  DNAT: 0x1,
  REDIRECT: 0x2,
  SEEN_REPLY: 0x4,
  CLOSING: 0x8,
  FROM_PROXY: 0x10,
} as const;

/** The name of a constant's value in one of the tables above (e.g. for flow logs). */
export function nameOf<T extends Record<string, number>>(table: T, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return String(value);
}

/** Names of the TC and cgroup programs in bpf/build/datapath.bpf.o. */
export const Programs = {
  FROM_POD: 'from_pod',
  TO_POD: 'to_pod',
  SOCK_CONNECT4: 'sock_connect4',
  SOCK_SENDMSG4: 'sock_sendmsg4',
  SOCK_RECVMSG4: 'sock_recvmsg4',
  SOCK_GETPEERNAME4: 'sock_getpeername4',
} as const;
