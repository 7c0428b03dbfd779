/* Identity-based L3/L4 policy: the peer's identity from the LPM ipcache, then the endpoint's
 * policy entries from the most to the least specific key. Default allow, until a policy selects
 * the endpoint for that direction (endpoint flags), then default deny. */
#ifndef SKIFF_POLICY_H
#define SKIFF_POLICY_H

#include "maps.h"

static __always_inline struct skf_ep_value *ep_lookup(const union skf_addr *addr, __u8 family)
{
	struct skf_ep_key key = {};

	key.addr = *addr;
	key.family = family;
	return bpf_map_lookup_elem(&skf_endpoints, &key);
}

static __always_inline __u32 ipcache_identity(const union skf_addr *addr, __u8 family)
{
	struct skf_ipcache_key key = {};
	struct skf_ipcache_value *v;

	key.prefixlen = 32 + (family == SKF_AF_INET ? 32 : 128);
	key.family = family;
	key.addr = *addr;
	v = bpf_map_lookup_elem(&skf_ipcache, &key);
	return v ? v->identity : IDENTITY_WORLD;
}

/* Lookup order (first hit wins): (peer, proto, port), (peer, proto, any port), (peer, any),
 * (any peer, proto, port), (any peer, proto, any port), (any peer, any). */
static __always_inline struct skf_policy_value *policy_lookup(__u32 endpoint_id, __u32 identity,
							      __be16 dport, __u8 proto, __u8 dir)
{
	struct skf_policy_key key = {};
	struct skf_policy_value *v;

	key.endpoint_id = endpoint_id;
	key.direction = dir;
#pragma unroll
	for (int i = 0; i < 6; i++) {
		key.identity = i < 3 ? identity : 0;
		key.proto = (i % 3) == 2 ? 0 : proto;
		key.dport = (i % 3) == 0 ? dport : 0;
		v = bpf_map_lookup_elem(&skf_policy, &key);
		if (v)
			return v;
	}
	return NULL;
}

/* 1 when ep may talk to identity on (proto, dport) in direction dir; *proxy_port is set when the
 * allowing entry needs L7. ICMP is matched as port 0. */
static __always_inline int policy_allows(const struct skf_ep_value *ep, __u32 identity,
					 __be16 dport, __u8 proto, __u8 dir, __u16 *proxy_port)
{
	struct skf_policy_value *v;
	__u32 enforced = dir == DIR_INGRESS ? EP_F_INGRESS_ENFORCED : EP_F_EGRESS_ENFORCED;

	if (!ep)
		return 1;
	if (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_)
		dport = 0;
	v = policy_lookup(ep->endpoint_id, identity, dport, proto, dir);
	if (v) {
		if (v->verdict != POLICY_ALLOW)
			return 0;
		*proxy_port = v->proxy_port;
		return 1;
	}
	return !(ep->flags & enforced);
}

#endif
