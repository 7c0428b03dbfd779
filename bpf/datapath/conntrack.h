/* Connection tracking: one LRU map keyed by the wire tuple plus a scope (which program opened the
 * entry). A packet is "established" when its own tuple is found in its program's scope, a "reply"
 * when its reversed tuple is found in the opposite scope. Lifetimes follow TCP state. */
#ifndef SKIFF_CONNTRACK_H
#define SKIFF_CONNTRACK_H

#include "maps.h"
#include "parse.h"

static __always_inline void tuple_reverse(const struct skf_tuple *in, struct skf_tuple *out,
					  __u8 scope)
{
	out->saddr = in->daddr;
	out->daddr = in->saddr;
	out->sport = in->dport;
	out->dport = in->sport;
	out->proto = in->proto;
	out->family = in->family;
	out->scope = scope;
	out->pad = 0;
}

static __always_inline int tcp_opens(__u8 tcp_flags)
{
	return (tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}

/* bpf_ktime_get_ns(), read at most once per packet: *now keeps it (0: not read yet). The clock
 * is not free (tens of ns under a hypervisor), and a packet's lookups and updates share it. */
static __always_inline __u64 ct_now(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_ns();
	return *now;
}

/* The live entry for key, or NULL. An expired entry is removed; a closing TCP entry does not
 * match a fresh SYN (the tuple is being reused by a new connection). The clock is read (into
 * *now) only when an entry is found. */
static __always_inline struct skf_ct_value *ct_lookup_at(struct skf_tuple *key, __u8 tcp_flags,
							 __u64 *now)
{
	struct skf_ct_value *v = bpf_map_lookup_elem(&skf_ct, key);

	if (!v)
		return NULL;
	if (v->expires < ct_now(now) ||
	    (key->proto == IPPROTO_TCP_ && (v->flags & CT_F_CLOSING) && tcp_opens(tcp_flags))) {
		bpf_map_delete_elem(&skf_ct, key);
		return NULL;
	}
	return v;
}

static __always_inline __u64 ct_lifetime(__u8 proto, __u16 flags)
{
	if (proto != IPPROTO_TCP_)
		return CT_LIFETIME_NONTCP;
	if (flags & CT_F_CLOSING)
		return CT_LIFETIME_CLOSING;
	if (flags & CT_F_SEEN_REPLY)
		return CT_LIFETIME_TCP;
	return CT_LIFETIME_SYN;
}

/* Counts a packet of an existing entry, in the original direction or as a reply. */
static __always_inline void ct_account_at(struct skf_ct_value *v, const struct skf_pkt *p,
					  __u32 len, int reply, __u64 *now)
{
	__u16 was = v->flags;
	__u16 flags = was;

	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	if (reply) {
		flags |= CT_F_SEEN_REPLY;
		v->tcp_flags_reply |= p->tcp_flags;
	} else {
		v->tcp_flags_orig |= p->tcp_flags;
	}
	if (p->tcp_flags & (TCP_FIN | TCP_RST))
		flags |= CT_F_CLOSING;
	if (flags != was)
		v->flags = flags;
	/* a closing entry keeps the deadline set by the first FIN/RST */
	if (!(was & CT_F_CLOSING))
		v->expires = ct_now(now) + ct_lifetime(p->t.proto, flags);
}

/* A SERVICE entry lives as long as its flow's egress entry (which replies keep up to date too)
 * and closes with it, so a new connection on the same tuple chooses its backend afresh. */
static __always_inline void ct_follow(struct skf_ct_value *svc, const struct skf_ct_value *ct)
{
	svc->expires = ct->expires;
	if ((ct->flags & CT_F_CLOSING) && !(svc->flags & CT_F_CLOSING))
		svc->flags |= CT_F_CLOSING;
}

/* Opens an entry for key (scope set by the caller) from a template value. */
static __always_inline void ct_create(struct skf_tuple *key, struct skf_ct_value *v,
				      const struct skf_pkt *p, __u32 len)
{
	v->packets = 1;
	v->bytes = len;
	v->tcp_flags_orig = p->tcp_flags;
	if (p->tcp_flags & (TCP_FIN | TCP_RST))
		v->flags |= CT_F_CLOSING;
	v->expires = bpf_ktime_get_ns() + ct_lifetime(p->t.proto, v->flags);
	bpf_map_update_elem(&skf_ct, key, v, BPF_ANY);
}

/* An ICMP error is related when the flow it quotes is tracked: quoted as sent by the tracked
 * side (scope own) or as a reply to it (scope other). */
static __always_inline int ct_related(const struct skf_tuple *quoted, __u8 own, __u8 other)
{
	struct skf_tuple key = *quoted;

	key.scope = own;
	if (bpf_map_lookup_elem(&skf_ct, &key))
		return 1;
	tuple_reverse(quoted, &key, other);
	return bpf_map_lookup_elem(&skf_ct, &key) != NULL;
}

#endif
