/* Packet parsing: Ethernet + IPv4/IPv6 (extension headers skipped) + TCP/UDP/ICMP into a tuple.
 * ICMP errors yield the tuple of the packet they quote, so conntrack can relate them. Headers are
 * copied with bpf_skb_load_bytes, so no packet pointer survives a rewrite. */
#ifndef SKIFF_PARSE_H
#define SKIFF_PARSE_H

#include "common.h"

#define PARSE_OK 0
#define PARSE_PASS 1     /* not ours to judge: non-IP, ND/MLD, non-first fragments */
#define PARSE_INVALID -1 /* truncated or malformed */

struct skf_pkt {
	struct skf_tuple t;      /* the flow (for ICMP errors: the quoted packet's flow) */
	union skf_addr outer_daddr;
	__u32 l3_off;
	__u32 l4_off;
	__u32 csum_off;          /* L4 checksum offset from l4_off (0: none to fix) */
	__u8 tcp_flags;
	__u8 icmp_error;
	__u8 l4_csum_pseudo;     /* L4 checksum covers the pseudo header */
	__u8 pad;
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* Reads the ports (or ICMP id) of an L4 header at off into t. */
static __always_inline int parse_l4(struct __sk_buff *skb, __u32 off, struct skf_tuple *t,
				     __u8 *tcp_flags, __u8 *icmp_type)
{
	__u8 hdr[14];

	switch (t->proto) {
	case IPPROTO_TCP_:
		if (bpf_skb_load_bytes(skb, off, hdr, 14) < 0)
			return PARSE_INVALID;
		*tcp_flags = hdr[13];
		break;
	case IPPROTO_UDP_:
		if (bpf_skb_load_bytes(skb, off, hdr, 4) < 0)
			return PARSE_INVALID;
		break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: {
		if (bpf_skb_load_bytes(skb, off, hdr, 8) < 0)
			return PARSE_INVALID;
		*icmp_type = hdr[0];
		__be16 id = *(__be16 *)&hdr[4];
		/* echo request: id as dport; echo reply: id as sport, so they reverse each other */
		if (hdr[0] == 8 || hdr[0] == 128)
			t->dport = id;
		else if (hdr[0] == 0 || hdr[0] == 129)
			t->sport = id;
		return PARSE_OK;
	}
	default:
		return PARSE_OK;
	}
	t->sport = *(__be16 *)&hdr[0];
	t->dport = *(__be16 *)&hdr[2];
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, __u32 off, struct skf_tuple *t,
				       __u32 *l4_off)
{
	struct iphdr ip;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
		return PARSE_INVALID;
	if (ip.version != 4 || ip.ihl < 5)
		return PARSE_INVALID;
	if (ip.frag_off & bpf_htons(0x1fff))
		return PARSE_PASS;
	t->family = SKF_AF_INET;
	t->proto = ip.protocol;
	t->saddr.v4 = ip.saddr;
	t->daddr.v4 = ip.daddr;
	*l4_off = off + ip.ihl * 4;
	return PARSE_OK;
}

static __always_inline int is_ext_header(__u8 nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60;
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, __u32 off, struct skf_tuple *t,
				       __u32 *l4_off)
{
	struct ipv6hdr ip6;
	__u8 nh;

	if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0)
		return PARSE_INVALID;
	if (ip6.version != 6)
		return PARSE_INVALID;
	t->family = SKF_AF_INET6;
	__builtin_memcpy(t->saddr.bytes, &ip6.saddr, 16);
	__builtin_memcpy(t->daddr.bytes, &ip6.daddr, 16);
	nh = ip6.nexthdr;
	off += sizeof(ip6);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u8 ext[8];

		if (!is_ext_header(nh))
			break;
		if (bpf_skb_load_bytes(skb, off, ext, 8) < 0)
			return PARSE_INVALID;
		if (nh == 44) {
			if (*(__be16 *)&ext[2] & bpf_htons(0xfff8))
				return PARSE_PASS;
			off += 8;
		} else if (nh == 51) {
			off += (ext[1] + 2) * 4;
		} else {
			off += (ext[1] + 1) * 8;
		}
		nh = ext[0];
	}
	if (is_ext_header(nh))
		return PARSE_INVALID;
	t->proto = nh;
	*l4_off = off;
	return PARSE_OK;
}

static __always_inline int is_icmp_error(__u8 family, __u8 type)
{
	if (family == SKF_AF_INET)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* Neighbour discovery, router solicitation/advertisement and MLD travel untouched. */
static __always_inline int is_icmp6_control(__u8 type)
{
	return (type >= 130 && type <= 137) || type == 143;
}

static __always_inline int parse_packet(struct __sk_buff *skb, struct skf_pkt *p)
{
	__u8 icmp_type = 0;
	int ret;

	p->l3_off = ETH_HLEN;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		ret = parse_ipv4(skb, ETH_HLEN, &p->t, &p->l4_off);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		ret = parse_ipv6(skb, ETH_HLEN, &p->t, &p->l4_off);
	else
		return PARSE_PASS;
	if (ret != PARSE_OK)
		return ret;
	p->outer_daddr = p->t.daddr;
	ret = parse_l4(skb, p->l4_off, &p->t, &p->tcp_flags, &icmp_type);
	if (ret != PARSE_OK)
		return ret;

	switch (p->t.proto) {
	case IPPROTO_TCP_:
		p->csum_off = 16;
		p->l4_csum_pseudo = 1;
		return PARSE_OK;
	case IPPROTO_UDP_:
		p->csum_off = 6;
		p->l4_csum_pseudo = 1;
		return PARSE_OK;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		break;
	default:
		return PARSE_OK;
	}
	p->csum_off = 2;
	p->l4_csum_pseudo = p->t.proto == IPPROTO_ICMPV6_;
	if (p->t.family == SKF_AF_INET6 && is_icmp6_control(icmp_type))
		return PARSE_PASS;
	if (!is_icmp_error(p->t.family, icmp_type))
		return PARSE_OK;

	/* An ICMP error: the flow is the one of the quoted packet. */
	struct skf_tuple inner = {};
	__u32 inner_l4 = 0;

	p->icmp_error = 1;
	if (p->t.family == SKF_AF_INET)
		ret = parse_ipv4(skb, p->l4_off + 8, &inner, &inner_l4);
	else
		ret = parse_ipv6(skb, p->l4_off + 8, &inner, &inner_l4);
	if (ret != PARSE_OK)
		return PARSE_INVALID;
	if (inner.proto != IPPROTO_TCP_ && inner.proto != IPPROTO_UDP_)
		return PARSE_INVALID;
	/* the quoted header may be cut after 8 bytes of L4: read only the ports */
	if (bpf_skb_load_bytes(skb, inner_l4, &inner.sport, 4) < 0)
		return PARSE_INVALID;
	p->t = inner;
	return PARSE_OK;
}

#endif
