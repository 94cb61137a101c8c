#!/usr/bin/env bash
# A Docker Swarm for the tests: a second dockerd in swarm mode (the manager, on 127.0.0.1)
# and, with --worker, a third one joined as a worker (on 127.0.0.2). The shared engine is
# never put into swarm mode. Idempotent: what already runs is left running.
#
#   bash scripts/swarm-engine.sh [--worker] [IMAGE...]
#
# prints `manager=unix:///...sock` (and `worker=unix:///...sock`), one per line. The images
# named are copied from the engine of $DOCKER_HOST (docker save | docker load) to every node
# that lacks that image id.
#
# Like the test engine: no bridge, no iptables, and no swarm networks: the `ingress` network and
# the `docker_gwbridge` bridge swarm init makes are removed (they would give containers
# private-range addresses). Services use --network host or no network, never an overlay.
set -euo pipefail

STATE=/var/lib/claudeauth-swarm
RUN=/run/claudeauth-swarm
WAIT_SECONDS=60
source_host=${DOCKER_HOST:-unix:///var/run/docker.sock}

worker=false
images=()
for arg in "$@"; do
  case $arg in
    --worker) worker=true ;;
    -*) echo "swarm-engine.sh: unknown option $arg" >&2; exit 2 ;;
    *) images+=("$arg") ;;
  esac
done

# A daemon started from a test run would inherit the run's TMPDIR, which the run removes at its
# end; runc keeps its exec specs there, so every later `docker exec` and health check of that
# daemon's containers would fail ("OCI runtime exec failed: open $TMPDIR/runc-process…"). So
# the daemons start without it, and one running with a TMPDIR that is gone is restarted.
lost_tmpdir() {
  local pid dir
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  dir=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^TMPDIR=//p')
  [[ -n $dir && ! -d $dir ]]
}

stop_dockerd() {
  local pid
  pid=$(cat "$RUN/$1.pid")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 2 * WAIT_SECONDS; i++)); do
    [[ -e /proc/$pid ]] || return 0
    sleep 0.5
  done
}

# start_dockerd NAME: a private dockerd with its own roots and socket (short paths: the
# containerd socket under the exec root must fit in a unix socket address).
start_dockerd() {
  local name=$1 sock=$RUN/$1.sock
  if DOCKER_HOST=unix://$sock docker info >/dev/null 2>&1; then
    lost_tmpdir "$name" || return 0
    echo "swarm-engine.sh: restarting dockerd $name: the TMPDIR it was started with is gone" >&2
    stop_dockerd "$name"
  fi
  mkdir -p "$STATE/$name" "$RUN/$name"
  rm -f "$RUN/$name.pid"
  env -u TMPDIR setsid nohup dockerd --data-root "$STATE/$name" --exec-root "$RUN/$name" --pidfile "$RUN/$name.pid" \
    -H "unix://$sock" --bridge=none --iptables=false --ip-masq=false \
    >>"/var/log/claudeauth-swarm-$name.log" 2>&1 </dev/null &
  for ((i = 0; i < WAIT_SECONDS; i++)); do
    DOCKER_HOST=unix://$sock docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  echo "swarm-engine.sh: dockerd $name did not answer; last lines of /var/log/claudeauth-swarm-$name.log:" >&2
  tail -n 20 "/var/log/claudeauth-swarm-$name.log" >&2 || true
  exit 1
}

swarm_state() { DOCKER_HOST=unix://$RUN/$1.sock docker info --format '{{.Swarm.LocalNodeState}}'; }

# No routing mesh and no gateway bridge: nothing of ours gets a private-range address.
remove_swarm_networks() {
  local host=unix://$RUN/$1.sock
  if DOCKER_HOST=$host docker network inspect ingress >/dev/null 2>&1; then
    DOCKER_HOST=$host docker network rm ingress <<<y >/dev/null 2>&1 || true
  fi
  # The ingress sandbox leaves the bridge a moment after the network is gone.
  for ((i = 0; i < 40; i++)); do
    DOCKER_HOST=$host docker network inspect docker_gwbridge >/dev/null 2>&1 || return 0
    DOCKER_HOST=$host docker network rm docker_gwbridge >/dev/null 2>&1 || sleep 0.25
  done
  echo "swarm-engine.sh: could not remove the docker_gwbridge network of $1" >&2
  exit 1
}

copy_images() {
  local host=unix://$RUN/$1.sock image want have
  for image in "${images[@]}"; do
    want=$(DOCKER_HOST=$source_host docker image inspect --format '{{.Id}}' "$image")
    have=$(DOCKER_HOST=$host docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    [[ $want == "$have" ]] && continue
    DOCKER_HOST=$source_host docker save "$image" | DOCKER_HOST=$host docker load >/dev/null
  done
}

mkdir -p "$STATE" "$RUN"
start_dockerd manager
if [[ $(swarm_state manager) != active ]]; then
  DOCKER_HOST=unix://$RUN/manager.sock docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
fi
remove_swarm_networks manager

if $worker; then
  start_dockerd worker
  if [[ $(swarm_state worker) != active ]]; then
    token=$(DOCKER_HOST=unix://$RUN/manager.sock docker swarm join-token -q worker)
    # A worker left from an earlier swarm (the manager's state was wiped) leaves first.
    DOCKER_HOST=unix://$RUN/worker.sock docker swarm leave --force >/dev/null 2>&1 || true
    DOCKER_HOST=unix://$RUN/worker.sock docker swarm join --token "$token" --advertise-addr 127.0.0.2 \
      --listen-addr 127.0.0.2:2377 127.0.0.1:2377 >/dev/null
  fi
  remove_swarm_networks worker
fi

# Both nodes load at once: a copy takes most of this script's time.
copy_images manager &
copier=$!
if $worker; then copy_images worker; fi
wait "$copier"
echo "manager=unix://$RUN/manager.sock"
if $worker; then echo "worker=unix://$RUN/worker.sock"; fi
