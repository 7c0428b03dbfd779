/* Replies of flows that a socket of this node opened into a local pod: the proxy's upstream
 * connections, and the HBONE inbound's, which come from the remote client pod's address
 * (IP_TRANSPARENT) so that the pod and its policy see the real client. Such a reply is addressed
 * to that client: routed, it would leave the node, in clear. It belongs to the node's socket
 * instead: found by the reply's tuple (bpf_skc_lookup_tcp), assigned to it (bpf_sk_assign; the
 * kernel never forwards a packet that carries a socket) and marked MARK_TO_PROXY, so the proxy
 * route delivers it locally. Fail closed: no socket, no delivery. */
#ifndef SKIFF_LOCAL_REPLY_H
#define SKIFF_LOCAL_REPLY_H

#include "proxy.h"

/* 0 when the TCP reply t now belongs to the node socket of its flow, -1 when there is none. */
static __always_inline int local_reply_assign(struct __sk_buff *skb, const struct skf_tuple *t)
{
	struct bpf_sock_tuple st = {};
	struct bpf_sock *sk = flow_skc_lookup(skb, t, &st);

	if (!sk)
		return -1;
	if (sk->state == BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return -1;
	}
	return assign_local(skb, sk);
}

#endif
