// Test program for the libbpf binding: compiles, but the verifier must reject it (it dereferences
// a map value without checking for NULL), so the binding's error carries the verifier log.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} values SEC(".maps");

SEC("tc")
int unchecked_lookup(struct __sk_buff *skb) {
  __u32 zero = 0;
  __u64 *v = bpf_map_lookup_elem(&values, &zero);
  return (int)*v; /* no NULL check */
}

char LICENSE[] SEC("license") = "GPL";
