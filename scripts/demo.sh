#!/usr/bin/env bash
# The demo command of the README: installs what is needed, then runs `skiff demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
exec node dist/cli/main.js demo "$@"
