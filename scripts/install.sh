#!/usr/bin/env bash
# Quick start, step 1: build both binaries, install the plugin for this user and build
# the setup and production images. Set CLAUDEAUTH_CA_CERT=/path/ca.pem behind a proxy
# that intercepts TLS (it is used for the image builds only).
set -euo pipefail
cd "$(dirname "$0")/.."
docker info >/dev/null 2>&1 || bash scripts/engine.sh
npm ci --no-audit --no-fund
npm run build
dist/docker-claudeauth install
bash scripts/base-image.sh
ca_args=()
if [ -n "${CLAUDEAUTH_CA_CERT:-}" ]; then ca_args=(--ca-cert "$CLAUDEAUTH_CA_CERT"); fi
docker claudeauth build "${ca_args[@]}"
echo "ready: run 'docker claudeauth setup' to log in"
