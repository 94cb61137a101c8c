#!/usr/bin/env bats
# docker-claudeauth through the real docker CLI: discovery, help, version, Docker's global
# flags, usage errors, completion. Run with dist/ on PATH: PATH="$PWD/dist:$PATH" npx bats test/bats

load sandbox

setup_file() {
  make_sandbox
  VERSION="$("$PLUGIN_BIN" version --short)"
  export VERSION
  # A context whose engine does not exist: a call that reaches it shows --context was honoured.
  docker context create claudeauth-bats-missing --docker "host=unix://$SANDBOX/missing.sock" >/dev/null
}

teardown_file() {
  rm -rf "$SANDBOX"
}

@test "docker --help lists the claudeauth plugin" {
  run docker --help
  [ "$status" -eq 0 ]
  [[ "$output" =~ claudeauth\*?\ +Log\ in\ to\ the\ Claude\ CLI ]]
}

@test "docker info shows the plugin, its version and path" {
  run docker info
  [[ "$output" =~ claudeauth:\ Log\ in\ to\ the\ Claude\ CLI ]]
  [[ "$output" == *"Version:  $VERSION"* ]]
  [[ "$output" == *"Path:     $DOCKER_CONFIG/cli-plugins/docker-claudeauth"* ]]
  [[ "$output" != *"Invalid Plugins"*claudeauth* ]]
}

@test "docker claudeauth --help is Docker's layout" {
  run docker claudeauth --help
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Usage:  docker claudeauth [OPTIONS] COMMAND" ]
  [[ "$output" == *"Management Commands:"* ]]
  [[ "$output" == *"Run 'docker claudeauth COMMAND --help' for more information on a command."* ]]
}

@test "docker help claudeauth shows the same help" {
  run docker help claudeauth
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Usage:  docker claudeauth [OPTIONS] COMMAND" ]
  expected="$(docker claudeauth --help)"
  [ "$output" = "$expected" ]
}

@test "docker claudeauth COMMAND --help" {
  run docker claudeauth status --help
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Usage:  docker claudeauth status [OPTIONS]" ]
}

@test "version: line, --short, --format json" {
  run docker claudeauth version
  [ "$status" -eq 0 ]
  [[ "$output" == "docker-claudeauth version $VERSION "* ]]
  run docker claudeauth version --short
  [ "$output" = "$VERSION" ]
  run docker claudeauth version --format json
  [[ "$output" == "{\"version\":\"$VERSION\""* ]]
}

@test "the same binary run directly as docker-claudeauth" {
  run docker-claudeauth --help
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Usage:  docker claudeauth [OPTIONS] COMMAND" ]
  run docker-claudeauth docker-cli-plugin-metadata
  [ "$status" -eq 0 ]
  [[ "$output" == *'"SchemaVersion": "0.1.0"'* ]]
  [[ "$output" == *"\"Version\": \"$VERSION\""* ]]
}

@test "usage errors exit 125 (unknown command, unknown flag, missing value)" {
  run docker claudeauth bogus
  [ "$status" -eq 125 ]
  [[ "$output" == *'unknown command "bogus" for "docker claudeauth"'* ]]
  run docker claudeauth status --bogus
  [ "$status" -eq 125 ]
  [[ "$output" == *"unknown flag: --bogus"* ]]
  run docker claudeauth run --network
  [ "$status" -eq 125 ]
  run docker claudeauth status --profile ../etc
  [ "$status" -eq 125 ]
  [[ "$output" == *'invalid profile name "../etc"'* ]]
}

@test "the command's own exit code: status of a profile never set up exits 1" {
  run docker claudeauth status --profile nothing-here
  [ "$status" -eq 1 ]
  [[ "$output" == *"not set up"* ]]
}

@test "docker --context NAME claudeauth doctor reaches that context's engine (a missing socket: named)" {
  run docker --context claudeauth-bats-missing claudeauth doctor
  [ "$status" -eq 1 ]
  [[ "$output" == *"[fail] cannot reach the Docker engine (context claudeauth-bats-missing)"*"$SANDBOX/missing.sock"* ]]
  run docker --context default claudeauth doctor
  [[ "$output" == *"[ok]   Docker engine reachable (context default)"* ]]
}

@test "docker --context NAME claudeauth status --store-volume goes to that engine" {
  run docker --context claudeauth-bats-missing claudeauth status --store-volume claudeauth-bats-none
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot reach the Docker engine (context claudeauth-bats-missing)"* ]]
}

@test "docker -H unix:///missing.sock claudeauth doctor names that host" {
  run docker -H unix:///missing.sock claudeauth doctor
  [ "$status" -eq 1 ]
  [[ "$output" == *"[fail] cannot reach the Docker engine (host unix:///missing.sock): Cannot connect to the Docker daemon at unix:///missing.sock"* ]]
  run docker -H unix:///var/run/docker.sock claudeauth doctor
  [[ "$output" == *"[ok]   Docker engine reachable (host unix:///var/run/docker.sock)"* ]]
}

@test "docker --config DIR claudeauth: the plugin is found there and DIR is passed on" {
  unset DOCKER_CONFIG
  run docker --config "$SANDBOX/docker-config" --context claudeauth-bats-missing claudeauth doctor
  [[ "$output" == *"[fail] cannot reach the Docker engine (context claudeauth-bats-missing)"* ]]
  [[ "$output" == *"plugin installed: $SANDBOX/docker-config/cli-plugins/docker-claudeauth"* ]]
}

@test "docker -D (debug) and -l (log level) before the plugin name are accepted" {
  run docker -D -l error claudeauth version --short
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "$VERSION" ]
}

@test "shell completion through docker __complete" {
  run docker __complete claudeauth st
  [ "$status" -eq 0 ]
  [[ "$output" == *"status"* ]]
  [[ "$output" == *":4"* ]]
  run docker __complete claudeauth profile ""
  [[ "$output" == *"ls"* ]]
  [[ "$output" == *"rm"* ]]
}

@test "install copies the plugin into \$DOCKER_CONFIG/cli-plugins (0755); docker then finds it" {
  export DOCKER_CONFIG="$SANDBOX/fresh-config"
  run docker-claudeauth install
  [ "$status" -eq 0 ]
  [ -x "$DOCKER_CONFIG/cli-plugins/docker-claudeauth" ]
  [ "$(stat -c %a "$DOCKER_CONFIG/cli-plugins/docker-claudeauth")" = "755" ]
  run docker claudeauth version --short
  [ "$output" = "$VERSION" ]
}

@test "a plugin in cliPluginsExtraDirs is found too" {
  export DOCKER_CONFIG="$SANDBOX/extra-config"
  mkdir -p "$DOCKER_CONFIG" "$SANDBOX/extra-dir"
  cp "$PLUGIN_BIN" "$SANDBOX/extra-dir/docker-claudeauth"
  printf '{"cliPluginsExtraDirs":["%s"]}\n' "$SANDBOX/extra-dir" >"$DOCKER_CONFIG/config.json"
  run docker claudeauth version --short
  [ "$status" -eq 0 ]
  [ "$output" = "$VERSION" ]
}
