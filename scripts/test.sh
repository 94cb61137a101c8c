#!/usr/bin/env bash
# The one test command (npm test): build the binaries, make sure a Docker engine and the
# base image exist, run vitest and bats, and end with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache

# Parts of the suite run as unprivileged users (the host user the plugin runs as, the
# workload's uid): they run binaries and scripts of this checkout, so they must be able to
# pass through every directory above it. A checkout in a 0700 directory (mktemp -d, /root)
# gets the search bit (o+x: through, not read) on those directories, said once each.
if [ "$(id -u)" = 0 ]; then
  dir=$PWD
  while [ "$dir" != / ]; do
    if [ "$(( 0$(stat -c %a "$dir") & 1 ))" = 0 ]; then
      chmod o+x "$dir" && echo "test.sh: $dir is now o+x, so the tests' unprivileged users can reach this checkout" >&2
    fi
    dir=$(dirname "$dir")
  done
fi

# The k8s:// store tests need a real API server (scripts/k8s-apiserver.sh); the first run on a
# machine builds it from source (minutes), so it starts now, alongside the build and the engine.
# Its tests wait for it: the script takes a lock, and a second call finds it running.
bash scripts/k8s-apiserver.sh >/dev/null 2>.cache/k8s-apiserver.log &

npm run --silent build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/engine.sh || { echo "no Docker engine"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/base-image.sh || { echo "no base image"; echo "0 passed, 1 failed"; exit 1; }

# Reports of an earlier run must never stand in for this one (a killed vitest writes none).
report=.cache/vitest-report.json
bats_out=.cache/bats.tap
rm -f "$report" "$bats_out"
since=$(date +%s%3N)

npx vitest run "$@"
vitest_status=$?

bats_args=()
if compgen -G "test/bats/*.bats" >/dev/null; then
  bats=node_modules/bats/bin/bats
  if [ -x "$bats" ]; then
    PATH="$PWD/dist:$PATH" "$bats" --tap test/bats | tee "$bats_out"
    bats_status=${PIPESTATUS[0]}
  else
    echo "no bats at $bats: run npm ci"; bats_status=127
  fi
  bats_args=(--bats-tap "$bats_out" --bats-status "$bats_status")
fi

# The closing line and the exit status come from one place, so they always agree.
summary=$(node scripts/test-summary.mjs --vitest-report "$report" --vitest-status "$vitest_status" --since "$since" "${bats_args[@]}")
summary_status=$?
echo "$summary"
if ! tail -n 1 <<<"$summary" | grep -qE '^[0-9]+ passed, [0-9]+ failed'; then
  echo "0 passed, 1 failed"; exit 1 # the summary itself crashed
fi
exit "$summary_status"
