#!/usr/bin/env bash
# The one test command (npm test): build the binaries, make sure a Docker engine and the
# base image exist, run vitest and bats, and end with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache

npm run --silent build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/engine.sh || { echo "no Docker engine"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/base-image.sh || { echo "no base image"; echo "0 passed, 1 failed"; exit 1; }

npx vitest run "$@"
vitest_status=$?

bats_out=.cache/bats.tap
if compgen -G "test/bats/*.bats" >/dev/null; then
  PATH="$PWD/dist:$PATH" node_modules/bats/bin/bats --tap test/bats | tee "$bats_out"
  bats_status=${PIPESTATUS[0]}
else
  : >"$bats_out"; bats_status=0
fi

node scripts/test-summary.mjs .cache/vitest-report.json "$bats_out"
[ "$vitest_status" -eq 0 ] && [ "$bats_status" -eq 0 ]
