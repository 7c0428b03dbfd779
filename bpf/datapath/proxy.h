/* Steering to the node-local proxy without rewriting the packet: the flow's own socket if the
 * proxy already accepted it, else the proxy's transparent listener on proxy_port, assigned with
 * bpf_sk_assign; MARK_TO_PROXY makes the policy route deliver the packet locally. The proxy sees
 * the client's address as peer and the original destination (a VIP or a pod) as its local address
 * (getsockname), so it needs IP_TRANSPARENT on the listener. */
#ifndef SKIFF_PROXY_H
#define SKIFF_PROXY_H

#include "maps.h"

static __always_inline struct bpf_sock *proxy_skc_lookup(struct __sk_buff *skb,
							 struct bpf_sock_tuple *st, __u8 family)
{
	__u32 size = family == SKF_AF_INET ? sizeof(st->ipv4) : sizeof(st->ipv6);

	return bpf_skc_lookup_tcp(skb, st, size, BPF_F_CURRENT_NETNS, 0);
}

/* The socket of this node that the TCP packet t belongs to (st: t as a socket lookup tuple). */
static __always_inline struct bpf_sock *flow_skc_lookup(struct __sk_buff *skb,
							const struct skf_tuple *t,
							struct bpf_sock_tuple *st)
{
	if (t->family == SKF_AF_INET) {
		st->ipv4.saddr = t->saddr.v4;
		st->ipv4.daddr = t->daddr.v4;
		st->ipv4.sport = t->sport;
		st->ipv4.dport = t->dport;
	} else {
		__builtin_memcpy(st->ipv6.saddr, t->saddr.v6, 16);
		__builtin_memcpy(st->ipv6.daddr, t->daddr.v6, 16);
		st->ipv6.sport = t->sport;
		st->ipv6.dport = t->dport;
	}
	return proxy_skc_lookup(skb, st, t->family);
}

/* Gives the packet to sk (released here) and marks it for the local route: 0, or -1 when the
 * kernel refused the assignment. */
static __always_inline int assign_local(struct __sk_buff *skb, struct bpf_sock *sk)
{
	long err = bpf_sk_assign(skb, sk, 0);

	bpf_sk_release(sk);
	if (err)
		return -1;
	skb->mark = (skb->mark & ~MARK_MASK) | MARK_TO_PROXY;
	return 0;
}

/* 0 when the packet now belongs to the proxy, -1 when no proxy socket could take it. */
static __always_inline int proxy_steer(struct __sk_buff *skb, const struct skf_tuple *t,
				       __u16 proxy_port)
{
	struct bpf_sock_tuple st = {};
	struct bpf_sock *sk;
	struct skf_config *cfg;
	__u32 zero = 0;

	if (t->proto != IPPROTO_TCP_ || !proxy_port)
		return -1;
	sk = flow_skc_lookup(skb, t, &st);
	if (sk) {
		if (sk->state != BPF_TCP_LISTEN && sk->state != BPF_TCP_TIME_WAIT)
			return assign_local(skb, sk);
		bpf_sk_release(sk);
	}

	cfg = bpf_map_lookup_elem(&skf_config, &zero);
	if (t->family == SKF_AF_INET) {
		if (cfg && cfg->proxy_addr4)
			st.ipv4.daddr = cfg->proxy_addr4;
		st.ipv4.dport = bpf_htons(proxy_port);
	} else {
		if (cfg && (cfg->proxy_addr6.v6[0] | cfg->proxy_addr6.v6[1] |
			    cfg->proxy_addr6.v6[2] | cfg->proxy_addr6.v6[3]))
			__builtin_memcpy(st.ipv6.daddr, cfg->proxy_addr6.v6, 16);
		st.ipv6.dport = bpf_htons(proxy_port);
	}
	sk = proxy_skc_lookup(skb, &st, t->family);
	if (!sk)
		return -1;
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return -1;
	}
	return assign_local(skb, sk);
}

#endif
