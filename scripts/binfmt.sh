#!/usr/bin/env bash
# Run foreign-architecture binaries here (tests and image builds for linux/arm64 on an amd64
# machine): Debian's qemu-user-static, binfmt_misc mounted, and its handler registered with the
# F flag (the interpreter is opened now, so it works inside containers and chroots too).
# Exits 1, saying why, where that cannot be done (no root, binfmt_misc not mountable).
#
# Usage: scripts/binfmt.sh [arm64]      (idempotent)
set -euo pipefail
ARCH=${1:-arm64}
[[ $ARCH == arm64 ]] || { echo "binfmt.sh: only arm64 is set up here" >&2; exit 1; }
QEMU=/usr/bin/qemu-aarch64-static
HANDLER=/proc/sys/fs/binfmt_misc/qemu-aarch64

if [[ ! -x $QEMU ]]; then
  echo "binfmt.sh: installing qemu-user-static" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null ||
    { echo "binfmt.sh: cannot mount binfmt_misc (not root, or not allowed in this container)" >&2; exit 1; }
fi
if [[ ! -e $HANDLER ]]; then
  # The magic and mask of an aarch64 ELF executable, as Debian's /usr/lib/binfmt.d/qemu-aarch64.conf has them.
  conf=$(grep -h '^:qemu-aarch64:' /usr/lib/binfmt.d/qemu-aarch64.conf /usr/share/binfmts/qemu-aarch64 2>/dev/null | head -n 1 || true)
  if [[ -z $conf ]]; then
    conf=':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$QEMU"':F'
  fi
  printf '%s' "$conf" >/proc/sys/fs/binfmt_misc/register 2>/dev/null ||
    { echo "binfmt.sh: cannot register the aarch64 handler in binfmt_misc" >&2; exit 1; }
fi
grep -q '^enabled' "$HANDLER" || { echo "binfmt.sh: the aarch64 handler is registered but disabled" >&2; exit 1; }
