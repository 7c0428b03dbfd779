/* Flow events into the skf_events ring buffer; never waits. When the ring is full the event is
 * counted in skf_ev_lost instead. */
#ifndef SKIFF_EVENTS_H
#define SKIFF_EVENTS_H

#include "maps.h"

/* What a program knows about a flow when it decides; one per program run. */
struct skf_decision {
	struct skf_tuple xlated;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 endpoint_id;
	__u32 rev_nat_id;
	__u16 proxy_port;
	__u8 source;
	__u8 pad;
};

/* Built on the stack and copied with bpf_ringbuf_output (reserve + in-place writes lost stores
 * under clang 14's BPF backend in the cgroup programs). Not inlined: its prototype also puts struct
 * skf_flow_event into the object's BTF, where the layout test of bpf/maps/events.ts finds it. */
static __noinline void event_output(struct skf_flow_event *ev)
{
	if (bpf_ringbuf_output(&skf_events, ev, sizeof(*ev), 0) < 0) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&skf_ev_lost, &zero);

		if (lost)
			*lost += 1;
	}
}

static __always_inline void emit_event(__u32 ifindex, const struct skf_tuple *orig,
				       const struct skf_decision *d, __u8 tcp_flags, __u8 verdict,
				       __u8 reason)
{
	struct skf_flow_event ev = {};

	ev.timestamp_ns = bpf_ktime_get_ns();
	ev.src_identity = d->src_identity;
	ev.dst_identity = d->dst_identity;
	ev.ifindex = ifindex;
	ev.endpoint_id = d->endpoint_id;
	ev.verdict = verdict;
	ev.reason = reason;
	ev.source = d->source;
	ev.tcp_flags = tcp_flags;
	ev.proxy_port = d->proxy_port;
	ev.rev_nat_id = d->rev_nat_id;
	ev.orig = *orig;
	ev.orig.scope = 0;
	ev.xlated = d->xlated;
	ev.xlated.scope = 0;
	event_output(&ev);
}

#endif
