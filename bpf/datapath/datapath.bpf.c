// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* skiff's per-pod TC programs, attached to the host side of each pod veth:
 *   from_pod  ingress of the host veth: packets leaving the pod. Conntrack, service LB + DNAT,
 *             egress policy, then the fast path or, when the policy entry carries a proxy_port,
 *             steering to the node proxy. The fast path to a local pod runs that pod's ingress
 *             side (to_endpoint) here and enters its netns with bpf_redirect_peer; anything else
 *             goes to the node's stack.
 *   to_pod    egress of the host veth: packets reaching the pod through the stack (other nodes,
 *             the proxy, the node). Conntrack, reverse NAT of replies, ingress policy of the pod
 *             (to_endpoint).
 *   sock_connect4, sock_sendmsg4, sock_recvmsg4, sock_getpeername4
 *             cgroup hooks for socket load balancing (optional; see sock_lb.h).
 * Every new flow, drop and redirect is reported to the skf_events ring buffer. */
#include "conntrack.h"
#include "lb.h"
#include "policy.h"
#include "proxy.h"
#include "local_reply.h"
#include "events.h"
#include "sock_lb.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int drop(__u32 ifindex, const struct skf_pkt *p,
				const struct skf_decision *d, __u8 reason)
{
	emit_event(ifindex, &p->t, d, p->tcp_flags, VERDICT_DROPPED, reason);
	return TC_ACT_SHOT;
}

/* What happens to a packet entering a local pod, whose host veth is ifindex: conntrack, reverse
 * NAT of replies, the pod's ingress policy. to_pod runs it for packets from the stack (other
 * nodes, the proxy, the host); from_pod runs it inline for packets it hands straight to a local
 * pod, which skip the host veth's egress. dst_ep: the pod's endpoint when known (else looked up
 * for new flows only). TC_ACT_OK: deliver; TC_ACT_SHOT: dropped (event emitted). */
static __noinline int to_endpoint(struct __sk_buff *skb, const struct skf_pkt *p, __u32 ifindex,
				       const struct skf_ep_value *dst_ep, __u32 mark)
{
	struct skf_decision d = {};
	struct skf_tuple key;
	struct skf_ct_value *ct;
	int from_proxy = (mark & MARK_MASK) == MARK_FROM_PROXY;
	__u64 now = 0;

	d.source = EV_TO_POD;
	d.xlated = p->t;
	if (p->icmp_error) {
		/* about a packet this pod sent */
		if (ct_related(&p->t, CT_SCOPE_EGRESS, CT_SCOPE_INGRESS))
			return TC_ACT_OK;
		return drop(ifindex, p, &d, REASON_CT_INVALID);
	}

	key = p->t;
	key.scope = CT_SCOPE_INGRESS;
	ct = ct_lookup_at(&key, p->tcp_flags, &now);
	if (ct) {
		ct_account_at(ct, p, skb->len, 0, &now);
		return TC_ACT_OK;
	}
	/* a reply of a flow this pod opened: undo the DNAT (proxied flows were never translated) */
	tuple_reverse(&p->t, &key, CT_SCOPE_EGRESS);
	ct = ct_lookup_at(&key, 0, &now);
	if (ct) {
		ct_account_at(ct, p, skb->len, 1, &now);
		if ((ct->flags & CT_F_DNAT) &&
		    nat_rewrite(skb, p, 0, &ct->nat_addr, ct->nat_port) < 0)
			return drop(ifindex, p, &d, REASON_INVALID_PACKET);
		return TC_ACT_OK;
	}

	/* a new flow into the pod: its ingress policy. The proxy's upstream connections carry the
	 * client's identity in the upper half of the mark; they are judged, never re-steered. */
	if (!dst_ep)
		dst_ep = ep_lookup(&p->t.daddr, p->t.family);
	if (dst_ep) {
		d.dst_identity = dst_ep->identity;
		d.endpoint_id = dst_ep->endpoint_id;
	}
	if (from_proxy && (mark >> 16))
		d.src_identity = mark >> 16;
	else
		d.src_identity = ipcache_identity(&p->t.saddr, p->t.family);
	if (!policy_allows(dst_ep, d.src_identity, p->t.dport, p->t.proto, DIR_INGRESS,
			   &d.proxy_port))
		return drop(ifindex, p, &d, REASON_POLICY_DENIED);

	struct skf_ct_value nv = {};

	nv.src_identity = d.src_identity;
	nv.dst_identity = d.dst_identity;
	nv.flags = from_proxy ? CT_F_FROM_PROXY : 0;
	key = p->t;
	key.scope = CT_SCOPE_INGRESS;
	ct_create(&key, &nv, p, skb->len);
	/* L7 of inbound flows is enforced where they were steered (the client's node proxy) */
	d.proxy_port = 0;
	emit_event(ifindex, &p->t, &d, p->tcp_flags, VERDICT_FORWARDED, REASON_NONE);
	return TC_ACT_OK;
}

/* Where the fast path takes a packet to daddr: FWD_LOCAL (dst filled) for a local endpoint, whose
 * ingress side then runs in from_pod, else TC_ACT_OK, the node's stack (routing, tunnels). A
 * packet for the pod it came from (hairpin) goes to the stack too. */
#define FWD_LOCAL 100

static __always_inline int forward(__u32 ifindex, const struct skf_pkt *p,
				   const union skf_addr *daddr, struct skf_ep_value *dst)
{
	struct skf_ep_value *ep = ep_lookup(daddr, p->t.family);

	if (!ep || !ep->ifindex || ep->ifindex == ifindex)
		return TC_ACT_OK;
	*dst = *ep;
	return FWD_LOCAL;
}

/* After a DNAT to xlated, p describes the packet as it now is. */
static __always_inline void translated(struct skf_pkt *p, const struct skf_tuple *xlated)
{
	p->t.daddr = xlated->daddr;
	p->t.dport = xlated->dport;
}

/* Parses the packet into p: -1 when it is ours to judge, else the TC verdict (invalid packets
 * dropped with an event of source). Its own BPF function, beside the programs' others. */
static __noinline int parse_or_drop(struct __sk_buff *skb, struct skf_pkt *p, __u8 source)
{
	struct skf_decision d = {};
	int ret = parse_packet(skb, p);

	if (ret == PARSE_PASS)
		return TC_ACT_OK;
	if (ret == PARSE_INVALID) {
		d.source = source;
		return drop(skb->ifindex, p, &d, REASON_INVALID_PACKET);
	}
	return -1;
}

/* The HBONE outbound port for a new TCP flow to daddr, a workload (not a reserved identity) that
 * is not a local endpoint, when the node tunnels with HBONE; else 0. For a service flow daddr is
 * the chosen backend: the flow is translated to it before it is steered, so the tunnel sees the
 * backend as the original destination (socket LB does the same at connect() where it applies). */
static __always_inline __u16 hbone_steer_port(const struct skf_pkt *p, const union skf_addr *daddr,
					      __u32 dst_identity)
{
	struct skf_config *cfg;
	__u32 zero = 0;

	if (p->t.proto != IPPROTO_TCP_ || dst_identity <= IDENTITY_WORLD)
		return 0;
	cfg = bpf_map_lookup_elem(&skf_config, &zero);
	if (!cfg || !cfg->hbone_port || ep_lookup(daddr, p->t.family))
		return 0;
	return cfg->hbone_port;
}

/* The egress side of a packet (parsed into p) leaving a pod: conntrack, service LB + DNAT, egress
 * policy, proxy steering. A TC verdict, or FWD_LOCAL with p translated and dst the local endpoint
 * it goes to. Its own BPF function, as are to_endpoint and parse_or_drop: from_pod calls them one
 * after the other, so their stack frames never add up past the verifier's 512 bytes. */
static __noinline int from_endpoint(struct __sk_buff *skb, struct skf_pkt *p,
				    struct skf_ep_value *dst)
{
	__u32 ifindex = skb->ifindex;
	struct skf_decision d = {};
	struct skf_tuple key;
	struct skf_ct_value *ct;
	struct skf_ep_value *src_ep;
	struct skf_svc_value *svc;
	struct skf_ct_value *svc_ct;
	__u32 backend_id = 0;
	__u64 now = 0;

	d.source = EV_FROM_POD;
	d.xlated = p->t;
	if (p->icmp_error) {
		/* sent by this pod about a packet it received */
		if (ct_related(&p->t, CT_SCOPE_INGRESS, CT_SCOPE_EGRESS))
			return forward(ifindex, p, &p->outer_daddr, dst);
		return drop(ifindex, p, &d, REASON_CT_INVALID);
	}

	/* a flow this pod opened (or one steered to the proxy) */
	key = p->t;
	key.scope = CT_SCOPE_EGRESS;
	ct = ct_lookup_at(&key, p->tcp_flags, &now);
	if (ct) {
		ct_account_at(ct, p, skb->len, 0, &now);
		if (!(ct->flags & CT_F_REDIRECT))
			return forward(ifindex, p, &p->t.daddr, dst);
		d.proxy_port = ct->proxy_port;
		if (proxy_steer(skb, &p->t, ct->proxy_port) < 0)
			return drop(ifindex, p, &d, REASON_PROXY_UNAVAILABLE);
		return TC_ACT_OK;
	}
	/* a reply of a flow that entered this pod; one a socket of this node opened (the proxy,
	 * the HBONE inbound from the client's address) goes to that socket, never off the node */
	tuple_reverse(&p->t, &key, CT_SCOPE_INGRESS);
	ct = ct_lookup_at(&key, 0, &now);
	if (ct) {
		ct_account_at(ct, p, skb->len, 1, &now);
		if (!(ct->flags & CT_F_FROM_PROXY) || p->t.proto != IPPROTO_TCP_)
			return forward(ifindex, p, &p->t.daddr, dst);
		if (local_reply_assign(skb, &p->t) < 0)
			return drop(ifindex, p, &d, REASON_PROXY_UNAVAILABLE);
		return TC_ACT_OK;
	}

	/* an established service flow: its SERVICE entry holds the backend, so neither the service
	 * nor the backend map is read (skf_backends confirms it every CT_BACKEND_RECHECK) */
	key = p->t;
	key.scope = CT_SCOPE_SERVICE;
	svc_ct = ct_lookup_at(&key, p->tcp_flags, &now);
	if (svc_ct && !lb_backend_current(svc_ct, now))
		svc_ct = NULL; /* its backend is gone: re-balanced below as a new flow */
	if (svc_ct) {
		d.rev_nat_id = svc_ct->rev_nat_id;
		d.xlated.daddr = svc_ct->nat_addr;
		d.xlated.dport = svc_ct->nat_port;
		key = d.xlated;
		key.scope = CT_SCOPE_EGRESS;
		ct = ct_lookup_at(&key, p->tcp_flags, &now);
		if (ct) {
			ct_account_at(ct, p, skb->len, 0, &now);
			ct_follow(svc_ct, ct);
			/* steered to the HBONE outbound listener, translated (its socket has the
			 * backend as local address) */
			d.proxy_port = ct->proxy_port;
			if ((ct->flags & CT_F_REDIRECT) && proxy_steer(skb, &key, ct->proxy_port) < 0)
				return drop(ifindex, p, &d, REASON_PROXY_UNAVAILABLE);
			if (nat_rewrite(skb, p, 1, &d.xlated.daddr, d.xlated.dport) < 0)
				return drop(ifindex, p, &d, REASON_INVALID_PACKET);
			if (ct->flags & CT_F_REDIRECT)
				return TC_ACT_OK;
			translated(p, &d.xlated);
			return forward(ifindex, p, &p->t.daddr, dst);
		}
		/* its egress entry is gone: judged again below, with the same backend */
		d.rev_nat_id = 0;
		d.xlated = p->t;
	}

	/* the source pod; an address of another local pod is a spoof of its identity, and an
	 * address we do not know gets the least trusted identity, never the ipcache's */
	src_ep = ep_lookup(&p->t.saddr, p->t.family);
	if (src_ep && src_ep->ifindex && src_ep->ifindex != ifindex)
		return drop(ifindex, p, &d, REASON_INVALID_SOURCE);
	if (src_ep) {
		d.src_identity = src_ep->identity;
		d.endpoint_id = src_ep->endpoint_id;
	} else {
		d.src_identity = IDENTITY_WORLD;
	}

	svc = lb_lookup_service(&p->t.daddr, p->t.dport, p->t.proto, p->t.family);
	if (svc) {
		d.rev_nat_id = svc->rev_nat_id;
		if (svc_ct) {
			/* an established service flow keeps its backend */
			backend_id = svc_ct->backend_id;
			d.xlated.daddr = svc_ct->nat_addr;
			d.xlated.dport = svc_ct->nat_port;
		} else {
			/* new flow, or its backend is gone: pick by the flow hash */
			struct skf_backend *backend = lb_select(svc, bpf_get_hash_recalc(skb), &backend_id);

			if (!backend)
				return drop(ifindex, p, &d, REASON_NO_BACKEND);
			d.xlated.daddr = backend->addr;
			d.xlated.dport = backend->port;
		}
	}

	/* a new flow: egress policy of the source against the (translated) destination */
	d.dst_identity = ipcache_identity(&d.xlated.daddr, p->t.family);
	if (!policy_allows(src_ep, d.dst_identity, d.xlated.dport, p->t.proto, DIR_EGRESS,
			   &d.proxy_port))
		return drop(ifindex, p, &d, REASON_POLICY_DENIED);

	struct skf_ct_value nv = {};

	nv.src_identity = d.src_identity;
	nv.dst_identity = d.dst_identity;
	nv.rev_nat_id = d.rev_nat_id;
	if (!d.proxy_port && !svc)
		d.proxy_port = hbone_steer_port(p, &p->t.daddr, d.dst_identity);
	if (d.proxy_port) {
		/* needs L7 (the proxy gets the untranslated packet: it sees the VIP), or a
		 * cross-node pod flow for the HBONE tunnel: fail closed */
		d.xlated = p->t;
		if (p->t.proto != IPPROTO_TCP_)
			return drop(ifindex, p, &d, REASON_UNSUPPORTED_L4);
		if (proxy_steer(skb, &p->t, d.proxy_port) < 0)
			return drop(ifindex, p, &d, REASON_PROXY_UNAVAILABLE);
		key = p->t;
		key.scope = CT_SCOPE_EGRESS;
		nv.flags = CT_F_REDIRECT;
		nv.proxy_port = d.proxy_port;
		ct_create(&key, &nv, p, skb->len);
		emit_event(ifindex, &p->t, &d, p->tcp_flags, VERDICT_REDIRECTED, REASON_NONE);
		return TC_ACT_OK;
	}
	if (!svc) {
		key = p->t;
		key.scope = CT_SCOPE_EGRESS;
		ct_create(&key, &nv, p, skb->len);
		emit_event(ifindex, &p->t, &d, p->tcp_flags, VERDICT_FORWARDED, REASON_NONE);
		return forward(ifindex, p, &p->t.daddr, dst);
	}
	/* a service flow to a backend on another node, when the node tunnels with HBONE (and socket
	 * LB did not apply: IPv6, or a process outside the pods' cgroup): translated, then steered
	 * to the HBONE outbound listener, fail closed; never in clear off the node */
	key = d.xlated;
	d.proxy_port = hbone_steer_port(p, &d.xlated.daddr, d.dst_identity);
	if (d.proxy_port && proxy_steer(skb, &key, d.proxy_port) < 0)
		return drop(ifindex, p, &d, REASON_PROXY_UNAVAILABLE);
	key = p->t;
	key.scope = CT_SCOPE_SERVICE;
	nv.backend_id = backend_id;
	nv.nat_addr = d.xlated.daddr;
	nv.nat_port = d.xlated.dport;
	nv.backend_checked = ct_now(&now);
	ct_create(&key, &nv, p, skb->len);
	key = d.xlated;
	key.scope = CT_SCOPE_EGRESS;
	nv.flags = d.proxy_port ? CT_F_DNAT | CT_F_REDIRECT : CT_F_DNAT;
	nv.proxy_port = d.proxy_port;
	nv.nat_addr = p->t.daddr;
	nv.nat_port = p->t.dport;
	nv.backend_checked = 0;
	ct_create(&key, &nv, p, skb->len);
	if (nat_rewrite(skb, p, 1, &d.xlated.daddr, d.xlated.dport) < 0)
		return drop(ifindex, p, &d, REASON_INVALID_PACKET);
	if (d.proxy_port) {
		emit_event(ifindex, &p->t, &d, p->tcp_flags, VERDICT_REDIRECTED, REASON_NONE);
		return TC_ACT_OK;
	}
	emit_event(ifindex, &p->t, &d, p->tcp_flags, VERDICT_TRANSLATED, REASON_NONE);
	translated(p, &d.xlated);
	return forward(ifindex, p, &p->t.daddr, dst);
}


/* The fast path to a local endpoint runs its ingress side (to_endpoint) here, then
 * bpf_redirect_peer puts the packet straight into the pod's netns, as Cilium does: no pass
 * through the host veth's egress (to_pod), no second trip through the backlog queue. */
SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	struct skf_pkt p = {};
	struct skf_ep_value dst;
	int ret;

	ret = parse_or_drop(skb, &p, EV_FROM_POD);
	if (ret >= 0)
		return ret;
	ret = from_endpoint(skb, &p, &dst);
	if (ret != FWD_LOCAL)
		return ret;
	ret = to_endpoint(skb, &p, dst.ifindex, &dst, 0);
	if (ret != TC_ACT_OK)
		return ret;
	return bpf_redirect_peer(dst.ifindex, 0);
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	struct skf_pkt p = {};
	int ret;

	ret = parse_or_drop(skb, &p, EV_TO_POD);
	if (ret >= 0)
		return ret;
	return to_endpoint(skb, &p, skb->ifindex, NULL, skb->mark);
}

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_lb_forward(ctx, 1);
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_lb_forward(ctx, 0);
}

SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock_lb_reverse(ctx);
}

SEC("cgroup/getpeername4")
int sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return sock_lb_reverse(ctx);
}
