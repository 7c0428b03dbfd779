// Test program for the libbpf binding: a cgroup connect4 hook that rewrites one destination
// (address and port, as configured in its map) to another, like socket load balancing does.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct rewrite {
  __u32 from_addr; /* network byte order */
  __u32 from_port; /* network byte order, in the low 16 bits */
  __u32 to_addr;
  __u32 to_port;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct rewrite);
} rewrites SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} rewritten SEC(".maps");

SEC("cgroup/connect4")
int rewrite_connect4(struct bpf_sock_addr *ctx) {
  __u32 zero = 0;
  struct rewrite *r = bpf_map_lookup_elem(&rewrites, &zero);
  if (r && ctx->user_ip4 == r->from_addr && ctx->user_port == r->from_port) {
    ctx->user_ip4 = r->to_addr;
    ctx->user_port = r->to_port;
    __u64 *n = bpf_map_lookup_elem(&rewritten, &zero);
    if (n) __sync_fetch_and_add(n, 1);
  }
  return 1; /* allow the connect */
}

char LICENSE[] SEC("license") = "GPL";
