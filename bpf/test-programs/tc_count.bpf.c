// Test program for the libbpf binding (test/bpf/libbpf*.test.ts): counts the packets and bytes
// seen on a TC hook, per CPU too, and emits one ring buffer record per packet. Its other maps
// exist to exercise the binding's map API (pinning by name, batch ops with and without support).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* TCX_NEXT (and TC_ACT_UNSPEC for clsact): let the next program run; TCX_PASS (0) would end the chain. */
#define TCX_NEXT -1

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2); /* 0: packets, 1: bytes */
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} percpu_packets SEC(".maps");

struct packet_event {
  __u32 ifindex;
  __u32 len;
  __u32 protocol; /* skb->protocol, network byte order */
  __u32 seq;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Plain hash map for CRUD, iteration and batch tests; pinned by name under the object's pinRoot. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} table SEC(".maps");

struct lpm_key {
  __u32 prefixlen;
  __u32 addr;
};

/* LPM tries have no batch operations: the binding falls back to one element at a time. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 64);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct lpm_key);
  __type(value, __u32);
} prefixes SEC(".maps");

static __always_inline void add(__u32 index, __u64 n) {
  __u64 *v = bpf_map_lookup_elem(&counters, &index);
  if (v) __sync_fetch_and_add(v, n);
}

SEC("tc")
int count_packets(struct __sk_buff *skb) {
  add(0, 1);
  add(1, skb->len);
  __u32 zero = 0;
  __u64 *mine = bpf_map_lookup_elem(&percpu_packets, &zero);
  if (mine) *mine += 1;
  struct packet_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (e) {
    e->ifindex = skb->ifindex;
    e->len = skb->len;
    e->protocol = skb->protocol;
    e->seq = 0;
    bpf_ringbuf_submit(e, 0);
  }
  return TCX_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
