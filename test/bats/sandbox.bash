# Shared by the bats files: a sandbox with a DOCKER_CONFIG of its own (the plugin where docker
# looks for it) and a HOME of its own (so ~/.claude-hub starts empty). Exports PLUGIN_BIN,
# SANDBOX, DOCKER_CONFIG and HOME.
make_sandbox() {
  PLUGIN_BIN="$(command -v docker-claudeauth)" || {
    echo "docker-claudeauth is not on PATH: run with PATH=\"\$PWD/dist:\$PATH\"" >&2
    return 1
  }
  export PLUGIN_BIN
  SANDBOX="$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/claudeauth-bats.XXXXXX")"
  export SANDBOX
  export DOCKER_CONFIG="$SANDBOX/docker-config"
  export HOME="$SANDBOX/home"
  mkdir -p "$DOCKER_CONFIG/cli-plugins" "$HOME"
  cp "$PLUGIN_BIN" "$DOCKER_CONFIG/cli-plugins/docker-claudeauth"
  chmod 0755 "$DOCKER_CONFIG/cli-plugins/docker-claudeauth"
  echo '{}' >"$DOCKER_CONFIG/config.json"
}
