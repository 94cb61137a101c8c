#!/usr/bin/env bash
# Quick start, step 1: build both binaries, build the setup and production images, then install
# the plugin for this user (last: a failed build leaves no half-installed plugin). Each step is
# skipped when what it makes is current, so a second run takes seconds.
# Behind a proxy that intercepts TLS: CLAUDEAUTH_CA_CERT=/path/ca.pem (image builds only).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

# 1. An engine. Starting one is the user's business (Docker Desktop, systemd, a context).
docker info >/dev/null 2>&1 ||
  die "no Docker engine answers: start Docker (or check \`docker context\` and DOCKER_HOST), then run this again"

# 2. Dependencies, when package-lock.json changed since the last npm ci.
if [[ ! node_modules/.package-lock.json -nt package-lock.json ]]; then
  say "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 3. The binaries, when a source is newer than the older of the two.
sources=(core entrypoint cli-plugin docker scripts/build.mjs scripts/node-binary.mjs package.json package-lock.json)
oldest=dist/docker-claudeauth
[[ dist/claudeauth-entrypoint -nt $oldest ]] || oldest=dist/claudeauth-entrypoint
if [[ ! -x dist/docker-claudeauth || ! -x dist/claudeauth-entrypoint ]] || [[ -n $(find "${sources[@]}" -newer "$oldest" -print -quit) ]]; then
  npm run --silent build
else
  say "dist/ is current: not rebuilt"
fi

# 4. The images, unless both carry this version and this entrypoint (their labels say).
plugin=dist/docker-claudeauth
build_args=(--if-changed)
# Builds use Docker's default network; an engine without a bridge (dockerd --bridge=none, as on
# some CI machines) has none that reaches the internet, so there the build uses the host's.
if ! docker network inspect bridge >/dev/null 2>&1; then build_args+=(--network host); fi
if [[ -n ${CLAUDEAUTH_CA_CERT:-} ]]; then
  build_args+=(--ca-cert "$CLAUDEAUTH_CA_CERT")
elif ! "$plugin" build --check >/dev/null 2>&1; then
  # Something is to be built, which downloads the Claude CLI: a proxy that intercepts TLS
  # fails that after minutes; find out now, with Node's own CAs, as npm in the build uses them.
  registry=$(npm config get registry)
  probe='require("https").get(process.argv[1], (r) => { r.resume(); process.exit(0); }).on("error", (e) => { console.log(e.code || e.message); process.exit(1); })'
  bundled=(env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS node --use-bundled-ca)
  if ! why=$("${bundled[@]}" -e "$probe" "$registry" 2>&1); then
    case $why in
      *CERT* | *SELF_SIGNED* | *UNABLE_TO_*)
        hint="CLAUDEAUTH_CA_CERT=/path/to/proxy-ca.pem bash scripts/install.sh"
        if env -u NODE_OPTIONS NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt node --use-bundled-ca -e "$probe" "$registry" >/dev/null 2>&1; then
          hint="CLAUDEAUTH_CA_CERT=/etc/ssl/certs/ca-certificates.crt bash scripts/install.sh (this machine's CA bundle trusts the proxy)"
        fi
        die "a proxy intercepts TLS to $registry ($why); the image builds download through it, so give them its CA: $hint" ;;
      *) say "warning: cannot reach $registry ($why); the image builds download the Claude CLI from it" ;;
    esac
  fi
fi
bash scripts/base-image.sh
"$plugin" build "${build_args[@]}"

# 5. The plugin, last.
"$plugin" install
say "ready: run 'docker claudeauth setup' to log in"
