#!/usr/bin/env bash
# Installs everything skiff needs on a fresh Debian machine (run as root): the Debian packages for
# the eBPF build and the network tests, the npm dependencies, then builds (TypeScript, eBPF objects,
# the libbpf addon). Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config bpftool iproute2 iptables
  sockperf iperf3 wireguard-tools wireguard-go tcpdump python3 zsh)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

echo "setup: build"
npm run --silent build
