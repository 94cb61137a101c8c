#!/usr/bin/env bash
# Runs the entrypoint benchmarks (bench/entrypoint.bench.mjs, with tsx: it shares the tests' fault judge) against the compiled binaries
# and prints their figures; BENCHMARKS.md records a run and the command. Needs root.
#   bash bench/run.sh                      all: working-copy, start, metadata, faults
#   bash bench/run.sh start metadata       just those
# With a Docker engine: `bash bench/run.sh all` also runs the plugin (and its start-up against a bare
# Node start), image, Swarm and soak benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x dist/claudeauth-entrypoint ] || [ ! -x dist/docker-claudeauth ]; then
  npm run --silent build
fi
if [ "${1:-}" = all ]; then
  node --import tsx bench/entrypoint.bench.mjs
  node bench/plugin.bench.mjs
  node bench/startup.bench.mjs
  node bench/images.bench.mjs
  node bench/swarm.bench.mjs
  npx vitest run --config bench/vitest.config.mts bench/soak.bench.ts
else
  exec node --import tsx bench/entrypoint.bench.mjs "$@"
fi
