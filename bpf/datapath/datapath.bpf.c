// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* skiff's per-pod TC programs, attached to the host side of each pod veth:
 *   from_pod  ingress of the host veth: packets leaving the pod. Conntrack, service LB + DNAT,
 *             egress policy, then the fast path (redirect to a local pod's veth, else the stack)
 *             or, when the policy entry carries a proxy_port, steering to the node proxy.
 *   to_pod    egress of the host veth: packets entering the pod. Conntrack, reverse NAT of
 *             replies, ingress policy of the pod.
 *   sock_connect4, sock_sendmsg4, sock_recvmsg4, sock_getpeername4
 *             cgroup hooks for socket load balancing (optional; see sock_lb.h).
 * Every new flow, drop and redirect is reported to the skf_events ring buffer. */
#include "conntrack.h"
#include "lb.h"
#include "policy.h"
#include "proxy.h"
#include "events.h"
#include "sock_lb.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The fast path: straight to the veth of a local endpoint (its to_pod runs on the way), or to
 * the node's stack (routing, tunnels) for anything else. */
static __always_inline int forward(struct __sk_buff *skb, const union skf_addr *daddr,
				   __u8 family)
{
	struct skf_ep_value *ep = ep_lookup(daddr, family);

	if (ep && ep->ifindex && ep->ifindex != skb->ifindex)
		return bpf_redirect_neigh(ep->ifindex, NULL, 0, 0);
	return TC_ACT_OK;
}

static __always_inline int drop(struct __sk_buff *skb, const struct skf_pkt *p,
				const struct skf_decision *d, __u8 reason)
{
	emit_event(skb->ifindex, &p->t, d, p->tcp_flags, VERDICT_DROPPED, reason);
	return TC_ACT_SHOT;
}

static __always_inline int parse_or_drop(struct __sk_buff *skb, struct skf_pkt *p,
					 struct skf_decision *d, __u8 source)
{
	int ret = parse_packet(skb, p);

	d->source = source;
	if (ret == PARSE_PASS)
		return TC_ACT_OK;
	if (ret == PARSE_INVALID)
		return drop(skb, p, d, REASON_INVALID_PACKET);
	d->xlated = p->t;
	return -1;
}

SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	struct skf_pkt p = {};
	struct skf_decision d = {};
	struct skf_tuple key;
	struct skf_ct_value *ct;
	struct skf_ep_value *src_ep;
	struct skf_svc_value *svc;
	struct skf_backend *backend = NULL;
	__u32 backend_id = 0;
	int ret;

	ret = parse_or_drop(skb, &p, &d, EV_FROM_POD);
	if (ret >= 0)
		return ret;
	if (p.icmp_error) {
		/* sent by this pod about a packet it received */
		if (ct_related(&p.t, CT_SCOPE_INGRESS, CT_SCOPE_EGRESS))
			return forward(skb, &p.outer_daddr, p.t.family);
		return drop(skb, &p, &d, REASON_CT_INVALID);
	}

	/* a flow this pod opened (or one steered to the proxy) */
	key = p.t;
	key.scope = CT_SCOPE_EGRESS;
	ct = ct_lookup(&key, p.tcp_flags);
	if (ct) {
		ct_account(ct, &p, skb->len, 0);
		if (!(ct->flags & CT_F_REDIRECT))
			return forward(skb, &p.t.daddr, p.t.family);
		d.proxy_port = ct->proxy_port;
		if (proxy_steer(skb, &p.t, ct->proxy_port) < 0)
			return drop(skb, &p, &d, REASON_PROXY_UNAVAILABLE);
		return TC_ACT_OK;
	}
	/* a reply of a flow that entered this pod */
	tuple_reverse(&p.t, &key, CT_SCOPE_INGRESS);
	ct = ct_lookup(&key, 0);
	if (ct) {
		ct_account(ct, &p, skb->len, 1);
		return forward(skb, &p.t.daddr, p.t.family);
	}

	/* the source pod; an address of another local pod is a spoof of its identity, and an
	 * address we do not know gets the least trusted identity, never the ipcache's */
	src_ep = ep_lookup(&p.t.saddr, p.t.family);
	if (src_ep && src_ep->ifindex && src_ep->ifindex != skb->ifindex)
		return drop(skb, &p, &d, REASON_INVALID_SOURCE);
	if (src_ep) {
		d.src_identity = src_ep->identity;
		d.endpoint_id = src_ep->endpoint_id;
	} else {
		d.src_identity = IDENTITY_WORLD;
	}

	svc = lb_lookup_service(&p.t.daddr, p.t.dport, p.t.proto, p.t.family);
	if (svc) {
		d.rev_nat_id = svc->rev_nat_id;
		key = p.t;
		key.scope = CT_SCOPE_SERVICE;
		ct = ct_lookup(&key, p.tcp_flags);
		if (ct) {
			backend_id = ct->backend_id;
			backend = lb_backend(backend_id);
		}
		if (!backend) {
			/* new flow, or its backend is gone: pick by the flow hash */
			ct = NULL;
			backend = lb_select(svc, bpf_get_hash_recalc(skb), &backend_id);
		}
		if (!backend)
			return drop(skb, &p, &d, REASON_NO_BACKEND);
		d.xlated.daddr = backend->addr;
		d.xlated.dport = backend->port;
		if (ct) {
			/* an established service flow keeps its backend */
			key = d.xlated;
			key.scope = CT_SCOPE_EGRESS;
			ct = ct_lookup(&key, p.tcp_flags);
			if (ct) {
				ct_account(ct, &p, skb->len, 0);
				if (nat_rewrite(skb, &p, 1, &d.xlated.daddr, d.xlated.dport) < 0)
					return drop(skb, &p, &d, REASON_INVALID_PACKET);
				return forward(skb, &d.xlated.daddr, p.t.family);
			}
		}
	}

	/* a new flow: egress policy of the source against the (translated) destination */
	d.dst_identity = ipcache_identity(&d.xlated.daddr, p.t.family);
	if (!policy_allows(src_ep, d.dst_identity, d.xlated.dport, p.t.proto, DIR_EGRESS,
			   &d.proxy_port))
		return drop(skb, &p, &d, REASON_POLICY_DENIED);

	struct skf_ct_value nv = {};

	nv.src_identity = d.src_identity;
	nv.dst_identity = d.dst_identity;
	nv.rev_nat_id = d.rev_nat_id;
	if (d.proxy_port) {
		/* needs L7: the proxy gets the untranslated packet (it sees the VIP), fail closed */
		d.xlated = p.t;
		if (p.t.proto != IPPROTO_TCP_)
			return drop(skb, &p, &d, REASON_UNSUPPORTED_L4);
		if (proxy_steer(skb, &p.t, d.proxy_port) < 0)
			return drop(skb, &p, &d, REASON_PROXY_UNAVAILABLE);
		key = p.t;
		key.scope = CT_SCOPE_EGRESS;
		nv.flags = CT_F_REDIRECT;
		nv.proxy_port = d.proxy_port;
		ct_create(&key, &nv, &p, skb->len);
		emit_event(skb->ifindex, &p.t, &d, p.tcp_flags, VERDICT_REDIRECTED, REASON_NONE);
		return TC_ACT_OK;
	}
	if (!svc) {
		key = p.t;
		key.scope = CT_SCOPE_EGRESS;
		ct_create(&key, &nv, &p, skb->len);
		emit_event(skb->ifindex, &p.t, &d, p.tcp_flags, VERDICT_FORWARDED, REASON_NONE);
		return forward(skb, &p.t.daddr, p.t.family);
	}
	key = p.t;
	key.scope = CT_SCOPE_SERVICE;
	nv.backend_id = backend_id;
	ct_create(&key, &nv, &p, skb->len);
	key = d.xlated;
	key.scope = CT_SCOPE_EGRESS;
	nv.flags = CT_F_DNAT;
	nv.nat_addr = p.t.daddr;
	nv.nat_port = p.t.dport;
	ct_create(&key, &nv, &p, skb->len);
	if (nat_rewrite(skb, &p, 1, &d.xlated.daddr, d.xlated.dport) < 0)
		return drop(skb, &p, &d, REASON_INVALID_PACKET);
	emit_event(skb->ifindex, &p.t, &d, p.tcp_flags, VERDICT_TRANSLATED, REASON_NONE);
	return forward(skb, &d.xlated.daddr, p.t.family);
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	struct skf_pkt p = {};
	struct skf_decision d = {};
	struct skf_tuple key;
	struct skf_ct_value *ct;
	struct skf_ep_value *dst_ep;
	__u32 mark = skb->mark;
	int from_proxy = (mark & MARK_MASK) == MARK_FROM_PROXY;
	int ret;

	ret = parse_or_drop(skb, &p, &d, EV_TO_POD);
	if (ret >= 0)
		return ret;
	if (p.icmp_error) {
		/* about a packet this pod sent */
		if (ct_related(&p.t, CT_SCOPE_EGRESS, CT_SCOPE_INGRESS))
			return TC_ACT_OK;
		return drop(skb, &p, &d, REASON_CT_INVALID);
	}

	key = p.t;
	key.scope = CT_SCOPE_INGRESS;
	ct = ct_lookup(&key, p.tcp_flags);
	if (ct) {
		ct_account(ct, &p, skb->len, 0);
		return TC_ACT_OK;
	}
	/* a reply of a flow this pod opened: undo the DNAT (proxied flows were never translated) */
	tuple_reverse(&p.t, &key, CT_SCOPE_EGRESS);
	ct = ct_lookup(&key, 0);
	if (ct) {
		ct_account(ct, &p, skb->len, 1);
		if ((ct->flags & CT_F_DNAT) &&
		    nat_rewrite(skb, &p, 0, &ct->nat_addr, ct->nat_port) < 0)
			return drop(skb, &p, &d, REASON_INVALID_PACKET);
		return TC_ACT_OK;
	}

	/* a new flow into the pod: its ingress policy. The proxy's upstream connections carry the
	 * client's identity in the upper half of the mark; they are judged, never re-steered. */
	dst_ep = ep_lookup(&p.t.daddr, p.t.family);
	if (dst_ep) {
		d.dst_identity = dst_ep->identity;
		d.endpoint_id = dst_ep->endpoint_id;
	}
	if (from_proxy && (mark >> 16))
		d.src_identity = mark >> 16;
	else
		d.src_identity = ipcache_identity(&p.t.saddr, p.t.family);
	if (!policy_allows(dst_ep, d.src_identity, p.t.dport, p.t.proto, DIR_INGRESS,
			   &d.proxy_port))
		return drop(skb, &p, &d, REASON_POLICY_DENIED);

	struct skf_ct_value nv = {};

	nv.src_identity = d.src_identity;
	nv.dst_identity = d.dst_identity;
	nv.flags = from_proxy ? CT_F_FROM_PROXY : 0;
	key = p.t;
	key.scope = CT_SCOPE_INGRESS;
	ct_create(&key, &nv, &p, skb->len);
	/* L7 of inbound flows is enforced where they were steered (the client's node proxy) */
	d.proxy_port = 0;
	emit_event(skb->ifindex, &p.t, &d, p.tcp_flags, VERDICT_FORWARDED, REASON_NONE);
	return TC_ACT_OK;
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
