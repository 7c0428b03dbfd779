#!/usr/bin/env bash
# Builds the eBPF side of skiff: every bpf/**/*.bpf.c into bpf/build/NAME.bpf.o (clang, CO-RE
# against a vmlinux.h dumped from the running kernel's BTF), and the libbpf N-API addon
# (bpf/native) into bpf/build/skiff_bpf.node. Offline: node-gyp uses the headers in /usr/include/node.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bpf/build
mkdir -p "$out"

if [[ ! -s $out/vmlinux.h ]]; then
  bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$out/vmlinux.h.tmp"
  mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
fi

arch=$(uname -m)
case $arch in
  x86_64) target_arch=x86 ;;
  aarch64) target_arch=arm64 ;;
  *) target_arch=$arch ;;
esac

while IFS= read -r -d '' src; do
  obj="$out/$(basename "${src%.bpf.c}").bpf.o"
  if [[ ! -e $obj || $src -nt $obj || -n $(find "$(dirname "$src")" -name '*.h' -newer "$obj" -print -quit) ]]; then
    clang -O2 -g -target bpf "-D__TARGET_ARCH_$target_arch" -Wall -Wno-compare-distinct-pointer-types \
      -I "$out" -I /usr/include -I "/usr/include/$(gcc -dumpmachine 2>/dev/null || echo "$arch-linux-gnu")" \
      -I "$(dirname "$src")" -c "$src" -o "$obj"
  fi
done < <(find bpf -path bpf/build -prune -o -name '*.bpf.c' -print0)

addon="$out/skiff_bpf.node"
if [[ ! -e $addon || bpf/native/skiff_bpf.c -nt $addon || bpf/native/binding.gyp -nt $addon ]]; then
  gyp="$(npm prefix -g 2>/dev/null)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  [[ -e $gyp ]] || gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  (cd bpf/native && node "$gyp" rebuild --nodedir=/usr --loglevel=warn)
  cp bpf/native/build/Release/skiff_bpf.node "$addon"
fi

# The node tunnel's transparent-socket helper (redirector/tunnel/native): a transparent listener and a
# non-blocking transparent connect (N-API; libuv's symbols come from the node binary).
tunnel_addon=redirector/tunnel/build/skiff_transparent.node
if [[ ! -e $tunnel_addon || redirector/tunnel/native/transparent.c -nt $tunnel_addon ]]; then
  mkdir -p redirector/tunnel/build
  clang -shared -fPIC -O2 -Wall -I /usr/include/node -o "$tunnel_addon" redirector/tunnel/native/transparent.c
fi
