/* Socket load balancing (cgroup sock_addr hooks, IPv4): connect() and sendmsg() to a VIP go
 * straight to a backend chosen per socket (hash of the socket cookie), so the packets leave the pod
 * already addressed to the backend and need no DNAT; getpeername() and recvmsg() map the backend
 * back to the VIP through skf_sock_rnat, so applications see the address they asked for. */
#ifndef SKIFF_SOCK_LB_H
#define SKIFF_SOCK_LB_H

#include "lb.h"
#include "events.h"
#include "policy.h"

#define SOCK_ALLOW 1

static __always_inline __u8 sock_proto(struct bpf_sock_addr *ctx)
{
	return ctx->type == 2 /* SOCK_DGRAM */ ? IPPROTO_UDP_ : IPPROTO_TCP_;
}

/* Rewrites the destination of ctx when it is a VIP; records the reverse mapping. connect()
 * reports a TRANSLATED event (sendmsg() does not: one per datagram would flood the ring). */
static __always_inline int sock_lb_forward(struct bpf_sock_addr *ctx, int report)
{
	union skf_addr vip = {};
	struct skf_svc_value *svc;
	struct skf_backend *backend;
	__u32 backend_id = 0;
	__u8 proto = sock_proto(ctx);
	__be16 vport = (__be16)ctx->user_port;
	__u64 cookie = bpf_get_socket_cookie(ctx);

	vip.v4 = ctx->user_ip4;
	svc = lb_lookup_service(&vip, vport, proto, SKF_AF_INET);
	if (!svc || (svc->flags & SVC_F_NO_SOCK_LB))
		return SOCK_ALLOW;
	/* no backend: leave it to from_pod, which drops and reports NO_BACKEND */
	backend = lb_select(svc, (__u32)(cookie ^ (cookie >> 32)), &backend_id);
	if (!backend || backend->family != SKF_AF_INET)
		return SOCK_ALLOW;

	struct skf_sock_rnat_key key = {};
	struct skf_sock_rnat_value rv = {};

	key.cookie = cookie;
	key.addr = backend->addr.v4;
	key.port = backend->port;
	rv.addr = vip.v4;
	rv.port = vport;
	rv.rev_nat_id = svc->rev_nat_id;
	bpf_map_update_elem(&skf_sock_rnat, &key, &rv, BPF_ANY);
	ctx->user_ip4 = backend->addr.v4;
	ctx->user_port = backend->port;
	if (report) {
		struct skf_decision d = {};

		d.source = EV_SOCK;
		d.rev_nat_id = svc->rev_nat_id;
		d.dst_identity = ipcache_identity(&backend->addr, SKF_AF_INET);
		d.xlated.family = SKF_AF_INET;
		d.xlated.proto = proto;
		d.xlated.daddr = backend->addr;
		d.xlated.dport = backend->port;
		struct skf_tuple orig = d.xlated;

		orig.daddr = vip;
		orig.dport = vport;
		emit_event(0, &orig, &d, 0, VERDICT_TRANSLATED, REASON_NONE);
	}
	return SOCK_ALLOW;
}

/* Puts the VIP back where the kernel reports the backend. */
static __always_inline int sock_lb_reverse(struct bpf_sock_addr *ctx)
{
	struct skf_sock_rnat_key key = {};
	struct skf_sock_rnat_value *rv;

	key.cookie = bpf_get_socket_cookie(ctx);
	key.addr = ctx->user_ip4;
	key.port = (__be16)ctx->user_port;
	rv = bpf_map_lookup_elem(&skf_sock_rnat, &key);
	if (rv) {
		ctx->user_ip4 = rv->addr;
		ctx->user_port = rv->port;
	}
	return SOCK_ALLOW;
}

#endif
