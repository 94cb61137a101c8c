#!/usr/bin/env bash
# Test-engine bootstrap for CI and developers: make sure a Docker engine answers.
# Idempotent: installs the test tools it lacks, then exits 0 silently when `docker info` already works.
#
# The engine is started without a bridge and without iptables rules, so containers never get
# private-range addresses: tests run containers with `--network none` (or `--network host`).
set -euo pipefail

LOG=/var/log/claudeauth-dockerd.log
PIDFILE=/var/run/docker.pid
WAIT_SECONDS=60

engine_up() { docker info >/dev/null 2>&1; }

install_missing() {
  ((${#missing[@]})) || return 0
  echo "engine.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The encrypted-store tests (test/e2e/helper-store.test.ts) use Debian's pass through its
# Docker credential helper: needed whether or not the engine is up already.
missing=()
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
command -v pass >/dev/null 2>&1 || missing+=(pass)
command -v docker-credential-pass >/dev/null 2>&1 || missing+=(golang-docker-credential-helpers)
install_missing

engine_up && exit 0

missing=()
{ command -v dockerd && command -v docker; } >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)   # scripts/base-image.sh
command -v tmux >/dev/null 2>&1 || missing+=(tmux)                 # terminal tests
# linux/arm64: strip for the arm64 Node (scripts/build.mjs), qemu for the arm64 tests (scripts/binfmt.sh)
command -v aarch64-linux-gnu-strip >/dev/null 2>&1 || missing+=(binutils-aarch64-linux-gnu)
command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)          # examples/compose.yaml
install_missing

# The default engine is the one whose pid file names a live dockerd: other dockerds (a test's
# swarm nodes, a second engine with its own socket) do not count.
if ! { [[ -s $PIDFILE ]] && [[ $(cat "/proc/$(cat "$PIDFILE")/comm" 2>/dev/null) == dockerd ]]; }; then
  # A killed dockerd leaves its pid file behind and the next one refuses to start.
  rm -f "$PIDFILE"
  echo "engine.sh: starting dockerd (log: $LOG)" >&2
  # setsid + nohup: the daemon must outlive this script and its terminal; without TMPDIR: a
  # test run's TMPDIR goes when the run ends, and runc keeps its exec specs there.
  env -u TMPDIR setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false \
    >>"$LOG" 2>&1 </dev/null &
  daemon=$!
fi

for ((i = 0; i < WAIT_SECONDS; i++)); do
  engine_up && exit 0
  # Stop waiting early if the daemon we started has already died.
  if [[ -n ${daemon:-} ]] && ! kill -0 "$daemon" 2>/dev/null; then break; fi
  sleep 1
done

echo "engine.sh: docker engine did not answer; last lines of $LOG:" >&2
tail -n 30 "$LOG" >&2 2>/dev/null || true
exit 1
