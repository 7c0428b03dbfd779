/* Service load balancing: (VIP, port, proto) -> service -> slot (hash of the flow) -> backend, and
 * the address/port rewrites (DNAT, reverse NAT) with their L3/L4 checksum updates. */
#ifndef SKIFF_LB_H
#define SKIFF_LB_H

#include "maps.h"
#include "parse.h"

static __always_inline struct skf_svc_value *lb_lookup_service(const union skf_addr *addr,
							       __be16 port, __u8 proto,
							       __u8 family)
{
	struct skf_svc_key key = {};

	key.addr = *addr;
	key.port = port;
	key.proto = proto;
	key.family = family;
	return bpf_map_lookup_elem(&skf_services, &key);
}

static __always_inline struct skf_backend *lb_backend(__u32 backend_id)
{
	return bpf_map_lookup_elem(&skf_backends, &backend_id);
}

/* Whether an established service flow's backend (its SERVICE entry's nat_addr:nat_port, taken
 * from backend_id) is still there. skf_backends is asked at most every CT_BACKEND_RECHECK, and
 * an entry that was never checked (opened before the entry carried its backend) is filled from
 * it. 0: the backend is gone, or its id now names another address (the flow must be
 * re-balanced). now: the packet's clock (ct_now). */
static __always_inline int lb_backend_current(struct skf_ct_value *svc_ct, __u64 now)
{
	struct skf_backend *b;

	if (svc_ct->backend_checked && now - svc_ct->backend_checked < CT_BACKEND_RECHECK)
		return 1;
	b = lb_backend(svc_ct->backend_id);
	if (!b)
		return 0;
	if (!svc_ct->backend_checked) {
		svc_ct->nat_addr = b->addr;
		svc_ct->nat_port = b->port;
	} else if (b->port != svc_ct->nat_port || b->addr.v6[0] != svc_ct->nat_addr.v6[0] ||
		   b->addr.v6[1] != svc_ct->nat_addr.v6[1] || b->addr.v6[2] != svc_ct->nat_addr.v6[2] ||
		   b->addr.v6[3] != svc_ct->nat_addr.v6[3]) {
		return 0;
	}
	svc_ct->backend_checked = now;
	return 1;
}

/* The backend of slot hash % count, or NULL when the service has none. */
static __always_inline struct skf_backend *lb_select(const struct skf_svc_value *svc, __u32 hash,
						     __u32 *backend_id)
{
	struct skf_slot_key key = {};
	__u32 *id;

	if (!svc->count)
		return NULL;
	key.rev_nat_id = svc->rev_nat_id;
	key.slot = hash % svc->count;
	id = bpf_map_lookup_elem(&skf_lb_slots, &key);
	if (!id)
		return NULL;
	*backend_id = *id;
	return lb_backend(*id);
}

/* Rewrites the destination (dst != 0) or the source address and port of the packet p describes,
 * fixing the IPv4 header checksum and the L4 checksum (pseudo header included). */
static __always_inline int nat_rewrite(struct __sk_buff *skb, const struct skf_pkt *p, int dst,
				       const union skf_addr *to_addr, __be16 to_port)
{
	const union skf_addr *from_addr = dst ? &p->t.daddr : &p->t.saddr;
	__be16 from_port = dst ? p->t.dport : p->t.sport;
	__u32 l4_csum = p->l4_off + p->csum_off;
	__u64 mangled = p->t.proto == IPPROTO_UDP_ ? BPF_F_MARK_MANGLED_0 : 0;
	int has_l4_csum = p->csum_off && p->l4_csum_pseudo;

	if (p->t.family == SKF_AF_INET) {
		__u32 off = p->l3_off + (dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr));

		if (bpf_l3_csum_replace(skb, p->l3_off + offsetof(struct iphdr, check), from_addr->v4,
					to_addr->v4, 4) < 0)
			return -1;
		if (has_l4_csum && bpf_l4_csum_replace(skb, l4_csum, from_addr->v4, to_addr->v4,
						       BPF_F_PSEUDO_HDR | mangled | 4) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, off, &to_addr->v4, 4, 0) < 0)
			return -1;
	} else {
		__u32 off = p->l3_off + (dst ? offsetof(struct ipv6hdr, daddr) : offsetof(struct ipv6hdr, saddr));
		__s64 diff = bpf_csum_diff((__be32 *)from_addr->v6, 16, (__be32 *)to_addr->v6, 16, 0);

		if (has_l4_csum && bpf_l4_csum_replace(skb, l4_csum, 0, diff,
						       BPF_F_PSEUDO_HDR | mangled) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, off, to_addr->bytes, 16, 0) < 0)
			return -1;
	}
	if (from_port == to_port || (p->t.proto != IPPROTO_TCP_ && p->t.proto != IPPROTO_UDP_))
		return 0;
	if (bpf_l4_csum_replace(skb, l4_csum, from_port, to_port, mangled | 2) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, p->l4_off + (dst ? 2 : 0), &to_port, 2, 0);
}

#endif
