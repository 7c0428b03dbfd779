#!/usr/bin/env bash
# The test command of the README: installs what is needed, lints, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm run --silent lint
node scripts/run-tests.mjs "$@"
