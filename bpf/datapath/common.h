/* Types and constants shared by every skiff datapath program. The TypeScript mirror of everything
 * here lives in bpf/maps/ (one module per map; constants in bpf/maps/constants.ts); test/bpf/datapath-layout.test.ts
 * checks the struct sizes and offsets against this object's BTF. */
#ifndef SKIFF_COMMON_H
#define SKIFF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

#define SKF_AF_INET 2
#define SKF_AF_INET6 10

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58

/* skb->mark conventions (the 0xf00 nibble is ours, as in Cilium):
 *   MARK_TO_PROXY   set by from_pod on packets steered to the proxy; the node has
 *                   `ip rule add fwmark 0x200/0xf00 lookup 100` and
 *                   `ip route add local 0.0.0.0/0 dev lo table 100` (and the -6 twins).
 *   MARK_FROM_PROXY set by the proxy (SO_MARK) on its upstream connections; the upper 16 bits may
 *                   carry the numeric identity of the original client. Never re-steered. */
#define MARK_MASK 0xf00
#define MARK_TO_PROXY 0x200
#define MARK_FROM_PROXY 0xb00

/* Reserved identities (the control plane allocates the others from 256 up). */
#define IDENTITY_UNKNOWN 0
#define IDENTITY_HOST 1
#define IDENTITY_WORLD 2

/* Flow event verdicts. */
#define VERDICT_FORWARDED 1
#define VERDICT_DROPPED 2
#define VERDICT_REDIRECTED 3
#define VERDICT_TRANSLATED 4

/* Drop reasons (0 = none). */
#define REASON_NONE 0
#define REASON_POLICY_DENIED 1
#define REASON_NO_BACKEND 2
#define REASON_INVALID_PACKET 3
#define REASON_PROXY_UNAVAILABLE 4
#define REASON_CT_INVALID 5
#define REASON_UNSUPPORTED_L4 6  /* needs L7 but not TCP: the proxy takes TCP only */
#define REASON_INVALID_SOURCE 7  /* a pod sent with another local pod's address */

/* Policy map: directions and verdicts. */
#define DIR_INGRESS 0
#define DIR_EGRESS 1
#define POLICY_ALLOW 1
#define POLICY_DENY 2

/* Endpoint flags: a NetworkPolicy selects this endpoint for that direction, so anything without
 * a matching allow entry is denied (default allow otherwise). */
#define EP_F_INGRESS_ENFORCED 0x1
#define EP_F_EGRESS_ENFORCED 0x2

/* Conntrack scopes (part of the key): which program created the entry. */
#define CT_SCOPE_EGRESS 0  /* from_pod: a flow the pod opened (tuple after DNAT) */
#define CT_SCOPE_INGRESS 1 /* to_pod: a flow that entered the pod */
#define CT_SCOPE_SERVICE 2 /* from_pod: client -> VIP tuple, remembers the backend */

/* Conntrack value flags. */
#define CT_F_DNAT 0x1       /* replies need reverse NAT to nat_addr:nat_port */
#define CT_F_REDIRECT 0x2   /* steered to the proxy; replies come back from the proxy */
#define CT_F_SEEN_REPLY 0x4
#define CT_F_CLOSING 0x8    /* FIN or RST seen */
#define CT_F_FROM_PROXY 0x10

/* Conntrack lifetimes, nanoseconds. */
#define CT_LIFETIME_TCP (21600ULL * 1000000000ULL)
#define CT_LIFETIME_SYN (60ULL * 1000000000ULL)
#define CT_LIFETIME_NONTCP (60ULL * 1000000000ULL)
#define CT_LIFETIME_CLOSING (10ULL * 1000000000ULL)
/* An established service flow confirms its backend in skf_backends at most this often: a flow
 * whose backend was removed is re-balanced (or dropped, NO_BACKEND) within this time of the
 * removal, and the packets in between skip the backend lookup. */
#define CT_BACKEND_RECHECK (50ULL * 1000000ULL)

/* Flow event sources. */
#define EV_FROM_POD 1
#define EV_TO_POD 2
#define EV_SOCK 3

/* An address of either family: IPv4 in the first 4 bytes, the rest zero. Network byte order. */
union skf_addr {
	__be32 v4;
	__be32 v6[4];
	__u8 bytes[16];
};

/* A flow's 5-tuple as seen on the wire; also the conntrack key (scope set). 40 bytes. */
struct skf_tuple {
	union skf_addr saddr;
	union skf_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 scope;
	__u8 pad;
};

/* config map (array, one entry). */
/* config map (array, one entry): where the node proxy listens. The port comes from the policy
 * entry (proxy_port); the address is looked up with that port. A zero address means "the
 * destination address of the packet", which finds a listener bound to 0.0.0.0 / ::. */
struct skf_config {
	__be32 proxy_addr4;
	__u32 flags;
	union skf_addr proxy_addr6;
	/* Host order. Nonzero (MeshConfig encryption: hbone): new TCP flows from a local pod to a
	 * pod of another node are steered to the HBONE outbound listener on this port (fail closed). */
	__u32 hbone_port;
};

/* services: (VIP, port, proto) -> service. */
struct skf_svc_key {
	union skf_addr addr;
	__be16 port;
	__u8 proto;
	__u8 family;
};

/* connect()/sendmsg() keep the VIP (no socket LB): set it on services whose flows need L7, so
 * from_pod steers the untranslated flow and the proxy sees the VIP. */
#define SVC_F_NO_SOCK_LB 0x1

struct skf_svc_value {
	__u32 rev_nat_id; /* the service id; also the slots' key and the conntrack rev-NAT id */
	__u16 count;      /* number of slots (0 = no backend: drop NO_BACKEND) */
	__u16 flags;
};

/* lb_slots: (rev_nat_id, slot) -> backend id. The loader fills slots 0..count-1 (a Maglev-like
 * table may repeat backend ids for weights). */
struct skf_slot_key {
	__u32 rev_nat_id;
	__u32 slot;
};

/* backends: backend id -> address. */
struct skf_backend {
	union skf_addr addr;
	__be16 port;
	__u8 proto;
	__u8 family;
	__u32 flags;
};

/* ipcache: LPM prefix -> identity. prefixlen counts the family byte pad too: key bits =
 * 32 (family word) + address prefix length. */
struct skf_ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	union skf_addr addr;
};

struct skf_ipcache_value {
	__u32 identity;
	__u32 flags;
};

/* endpoints: pod IP -> local endpoint. */
struct skf_ep_key {
	union skf_addr addr;
	__u8 family;
	__u8 pad[3];
};

struct skf_ep_value {
	__u32 endpoint_id;
	__u32 identity;
	__u32 ifindex; /* host-side veth in the node netns */
	__u32 flags;   /* EP_F_* */
};

/* policy: (endpoint, peer identity, dport, proto, direction) -> verdict. Lookups fall back to
 * dport 0 (any port of proto), identity 0 (any peer), and (identity 0, proto 0, port 0). */
struct skf_policy_key {
	__u32 endpoint_id;
	__u32 identity;
	__be16 dport;
	__u8 proto;
	__u8 direction;
};

struct skf_policy_value {
	__u8 verdict;     /* POLICY_ALLOW / POLICY_DENY */
	__u8 flags;
	__u16 proxy_port; /* host order; nonzero = needs L7: steer to the proxy listener on it */
};

/* conntrack: struct skf_tuple (with scope) -> entry. 72 bytes; the 64-byte layout before
 * backend_checked is migrated by the loader (bpf/maps/migrate.ts). */
struct skf_ct_value {
	__u64 expires;        /* bpf_ktime_get_ns() deadline */
	__u64 packets;
	__u64 bytes;
	/* EGRESS scope, CT_F_DNAT: the original destination (the VIP) replies are rewritten from.
	 * SERVICE scope: the backend the flow is translated to (backend_id's address and port), so
	 * established service flows need neither the service nor the backend map. */
	union skf_addr nat_addr;
	__be16 nat_port;
	__u16 proxy_port;
	__u32 rev_nat_id;
	__u32 backend_id;     /* SERVICE scope: the chosen backend */
	__u32 src_identity;
	__u32 dst_identity;
	__u16 flags;          /* CT_F_* */
	__u8 tcp_flags_orig;  /* TCP flags seen in the original direction */
	__u8 tcp_flags_reply;
	/* SERVICE scope: when backend_id was last found in skf_backends with the address in
	 * nat_addr (bpf_ktime_get_ns; 0 = never: nat_addr is not filled yet) */
	__u64 backend_checked;
};

/* sock_rnat: (socket cookie, backend address, port) -> the VIP the socket asked for, so that
 * getpeername()/recvmsg() of socket-balanced sockets report the VIP. IPv4. */
struct skf_sock_rnat_key {
	__u64 cookie;
	__be32 addr;
	__be16 port;
	__u16 pad;
};

struct skf_sock_rnat_value {
	__be32 addr;
	__be16 port;
	__u16 pad;
	__u32 rev_nat_id;
};

/* events ring buffer record. */
struct skf_flow_event {
	__u64 timestamp_ns;   /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 src_identity;
	__u32 dst_identity;
	__u32 ifindex;
	__u32 endpoint_id;
	__u8 verdict;
	__u8 reason;
	__u8 source;          /* EV_FROM_POD / EV_TO_POD / EV_SOCK */
	__u8 tcp_flags;
	__u16 proxy_port;
	__u16 pad;
	__u32 rev_nat_id;
	__u32 pad2;
	struct skf_tuple orig;
	struct skf_tuple xlated; /* after DNAT (equal to orig when untranslated) */
};

#endif
