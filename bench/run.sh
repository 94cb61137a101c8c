#!/usr/bin/env bash
# Runs the entrypoint benchmarks (bench/entrypoint.bench.mjs) against the compiled binaries
# and prints their figures; BENCHMARKS.md records a run and the command. Needs root.
#   bash bench/run.sh                      all: working-copy, start, metadata, faults
#   bash bench/run.sh start metadata       just those
# The image benchmarks (bench/images.bench.mjs) and the soak (bench/soak.bench.ts) need a
# Docker engine and run separately.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x dist/claudeauth-entrypoint ] || [ ! -x dist/docker-claudeauth ]; then
  npm run --silent build
fi
exec node bench/entrypoint.bench.mjs "$@"
