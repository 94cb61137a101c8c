#!/usr/bin/env bats
# Docker's conventions, through the real docker CLI and the real images: -v is a bind mount,
# the store volume is --store-volume, --format on every command that prints data, -q, run
# stops at its COMMAND; status exit codes for monitors; a root host user. Containers get
# --network none. Run with dist/ on PATH: PATH="$PWD/dist:$PATH" npx bats test/bats

bats_require_minimum_version 1.5.0

load sandbox

setup_file() {
  make_sandbox
  chmod 0755 "$SANDBOX"
  export VOLUME="claudeauth-bats-$$"
  # A long-lived login in the default profile: runs need no network.
  printf 'sk-ant-oat01-%s\n' "$(head -c 45 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 60)" >"$SANDBOX/token"
  docker claudeauth setup --token-stdin <"$SANDBOX/token" >/dev/null
}

teardown_file() {
  docker volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$SANDBOX"
}

# An OAuth capture in profile $1: access token expiring in $2 ms (negative: expired).
oauth_store() {
  local dir="$HOME/.claude-hub/$1/captures/00000001" now
  now=$(($(date +%s) * 1000))
  mkdir -p "$dir"
  chmod 0700 "$HOME/.claude-hub" "$HOME/.claude-hub/$1" "$HOME/.claude-hub/$1/captures" "$dir"
  printf '{"claudeAiOauth":{"accessToken":"sk-ant-oat01-%s","refreshToken":"sk-ant-ort01-%s","expiresAt":%d,"scopes":["user:inference","user:profile"],"subscriptionType":"max"}}' \
    "$(printf 'A%.0s' {1..60})" "$3" $((now + $2)) >"$dir/.credentials.json"
  printf '{"schema":1,"capturedAt":"%s","source":"setup","mode":"oauth"}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/claudeauth.json"
  chmod 0600 "$dir"/*
}

@test "-v SRC:DST is a bind mount, as in docker run" {
  mkdir -p "$SANDBOX/data" && echo mounted >"$SANDBOX/data/file.txt"
  run docker claudeauth run --network none --no-workspace -v "$SANDBOX/data:/data:ro" cat /data/file.txt
  [ "$status" -eq 0 ]
  [ "$output" = "mounted" ]
  run docker claudeauth run --network none --no-workspace --volume "$SANDBOX/data:/data:ro" cat /data/file.txt
  [ "$output" = "mounted" ]
  # --ca-cert: the proxy's CA, mounted read-only and named by NODE_EXTRA_CA_CERTS.
  printf -- '-----BEGIN CERTIFICATE-----\n' >"$SANDBOX/data/ca.pem"
  run --separate-stderr docker claudeauth run --network none --no-workspace --ca-cert "$SANDBOX/data/ca.pem" sh -c 'echo "$NODE_EXTRA_CA_CERTS"; head -c 27 "$NODE_EXTRA_CA_CERTS"'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '/etc/claudeauth/ca.pem\n-----BEGIN CERTIFICATE-----')" ]
  for command in run setup test refresh; do
    run docker claudeauth "$command" --help
    [[ "$output" == *"-v, --volume list"*"Bind mount a volume (as docker run -v)"* ]]
    [[ "$output" == *"--store-volume string"* ]]
  done
}

@test "--store-volume NAME is the store volume; the old --volume NAME answers with a pointer" {
  run docker claudeauth setup --store-volume "$VOLUME" --token-stdin <"$SANDBOX/token"
  [ "$status" -eq 0 ]
  run docker claudeauth status --store-volume "$VOLUME" --format '{{.Store.Kind}} {{.State}} {{.Mode}}'
  [ "$status" -eq 0 ]
  [ "$output" = "volume ok long-lived" ]
  for command in status run setup doctor; do
    run docker claudeauth "$command" --volume "$VOLUME"
    [ "$status" -eq 125 ]
    [ "${lines[0]}" = "error: --volume is now a bind mount (as docker run -v SRC:DST); the store volume is --store-volume $VOLUME (see 'docker claudeauth $command --help')" ]
    [ "${#lines[@]}" -eq 1 ]
  done
}

@test "profile ls tells a host store from a volume of the same profile; JSON has no placeholder status" {
  docker claudeauth setup --store-volume "$VOLUME" --token-stdin <"$SANDBOX/token" >/dev/null
  run docker claudeauth profile ls
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^PROFILE\ +TYPE\ +STORE\ +MODE\ +STATUS\ +EXPIRES$ ]]
  [[ "$output" =~ default\ +dir\ +$HOME/.claude-hub/default\ +long-lived\ +healthy ]]
  [[ "$output" =~ default\ +volume\ +$VOLUME\ + ]]
  run docker claudeauth profile ls --format json
  [[ "$output" == *'"kind": "volume"'* ]]
  [[ "$output" == *'"status": null'* ]]
  [[ "$output" != *'"status": "-"'* ]]
  run docker claudeauth profile ls --format '{{.Kind}}:{{.Store}}'
  [[ "$output" == *"dir:$HOME/.claude-hub/default"* ]]
  [[ "$output" == *"volume:$VOLUME"* ]]
}

@test "--format json on every command that prints data (--json kept as its alias)" {
  run docker claudeauth status --format json
  [ "$status" -eq 0 ]
  [ "$(jq -r .mode <<<"$output")" = "long-lived" ]
  [ "$(docker claudeauth status --json | jq -r .mode)" = "long-lived" ]
  run docker claudeauth doctor --format json
  [ "$(jq -r '.checks | length > 0' <<<"$output")" = "true" ]
  run docker claudeauth profile ls --format json
  [ "$(jq -r '.[0].profile' <<<"$output")" = "default" ]
  run docker claudeauth version --format json
  [ "$(jq -r .version <<<"$output")" = "$(docker claudeauth version --short)" ]
  run docker claudeauth test --network none --timeout 60s --format json
  [ "$status" -eq 1 ]
  [ "$(jq -r .result <<<"$output")" = "network" ]
  run docker claudeauth status --format yaml
  [ "$status" -eq 125 ]
  [[ "$output" == *'unsupported --format "yaml": use table, json or a template like "{{.Field}}"'* ]]
  run docker claudeauth status --format '{{.Nope}}'
  [ "$status" -eq 125 ]
  [[ "$output" == *'unknown field "Nope" in --format'* ]]
}

@test "-q: status, test and refresh print nothing, the exit code speaks" {
  run docker claudeauth status -q
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  run docker claudeauth status -q --profile never-set-up
  [ "$status" -eq 1 ]
  [ "$output" = "" ]
  run --separate-stderr docker claudeauth refresh -q --network none
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
}

@test "run stops parsing its own flags at COMMAND: run claude --version, run echo hi; -- still works" {
  run --separate-stderr docker claudeauth run --network none --no-workspace claude --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^[0-9]+\.[0-9]+\.[0-9]+\ \(Claude\ Code\)$ ]]
  run --separate-stderr docker claudeauth run --network none --no-workspace echo hi
  [ "$status" -eq 0 ]
  [ "$output" = "hi" ]
  run --separate-stderr docker claudeauth run --network none --no-workspace -- echo hi --profile x
  [ "$output" = "hi --profile x" ]
  run --separate-stderr docker claudeauth run --network none --no-workspace sh -c 'echo "$0" "$1"' -- -h
  [ "$output" = "-- -h" ]
}

@test "build -q prints nothing but errors" {
  # The test run builds the images first (vitest's global setup), so they are current here.
  run docker claudeauth build --if-changed
  [ "$status" -eq 0 ]
  [[ "$output" == *"claudeauth/run:"*"is current"* ]]
  run docker claudeauth build -q --if-changed
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  run docker claudeauth build -q --ca-cert "$SANDBOX/missing-ca.pem"
  [ "$status" -ne 0 ]
  [[ "$output" == *"$SANDBOX/missing-ca.pem"* ]]
}

@test "status exit codes for monitors: 0 when a run would work, 1 when it would not" {
  oauth_store fresh $((4 * 3600 * 1000)) "$(printf 'F%.0s' {1..60})"
  oauth_store renewable $((-2 * 3600 * 1000)) "$(printf 'R%.0s' {1..60})"
  oauth_store dead $((-2 * 3600 * 1000)) "$(printf 'D%.0s' {1..60})"
  # The token endpoint refused this refresh token (invalid_grant): the store notes its digest.
  printf 'sk-ant-ort01-%s' "$(printf 'D%.0s' {1..60})" | sha256sum | cut -d' ' -f1 >"$HOME/.claude-hub/dead/rejected"
  mkdir -p "$HOME/.claude-hub/invalid/captures/00000001"
  echo '{"claudeAiOauth":' >"$HOME/.claude-hub/invalid/captures/00000001/.credentials.json"
  chmod -R go= "$HOME/.claude-hub/invalid"
  #        profile      exit  state      healthy renews
  while read -r profile code state healthy renews; do
    run docker claudeauth status --profile "$profile" --format '{{.State}} {{.Healthy}} {{.Renews}}'
    echo "$profile: $status $output"
    [ "$status" -eq "$code" ]
    [ "$output" = "$state $healthy $renews" ]
  done <<'TABLE'
fresh        0     ok         true    false
renewable    0     expired    true    true
dead         1     expired    false   false
no-store     1     missing    false   false
invalid      1     invalid    false   false
TABLE
  run docker claudeauth status --profile renewable
  [[ "$output" == *"note: the access token expired 2h"*"the refresh token renews it at the next run"* ]]
  run docker claudeauth status --profile dead --format json
  [ "$(jq -r '.refreshToken.rejected' <<<"$output")" = "true" ]
  [[ "$(jq -r '.problems[0].message' <<<"$output")" == *"the token endpoint rejected the refresh token: log in again"* ]]
}

@test "setup that captured nothing: the store it created is removed; an unreachable network gets the network hint" {
  run docker claudeauth setup --profile offline --no-tty --network none -- sh -c 'exit 1'
  [ "$status" -eq 1 ]
  [ ! -e "$HOME/.claude-hub/offline" ]
  [[ "$output" == *"the container could not reach Anthropic: check --network, pass -e HTTPS_PROXY behind a proxy, and --ca-cert FILE"* ]]
  [[ "$output" != *"/login"* ]]
  [ "$(grep -c 'could not reach' <<<"$output")" -eq 1 ]
  run docker claudeauth status --all --format '{{.Profile}}'
  [[ "$output" != *offline* ]]
}

@test "host user root: the workload runs as the workspace owner, never root; --user UID:GID overrides" {
  [ "$(id -u)" -eq 0 ] || skip "needs the plugin to run as root"
  work="$SANDBOX/checkout"
  mkdir -p "$work" && chown 1234:2345 "$work"
  run --separate-stderr docker claudeauth run --network none -w "$work" sh -c 'touch /workspace/out.txt && id -u'
  [ "$status" -eq 0 ]
  [ "$output" = "1234" ]
  [ "$(stat -c %u:%g "$work/out.txt")" = "1234:2345" ]
  chmod 0777 "$work" # another user may write it too
  run --separate-stderr docker claudeauth run --network none -w "$work" --user 1500:1600 sh -c 'touch /workspace/mine.txt; id -u'
  [ "$(stat -c %u:%g "$work/mine.txt")" = "1500:1600" ]
  run docker claudeauth run --network none -w "$work" --user 0 true
  [ "$status" -eq 125 ]
  [[ "$output" == *"the workload never runs as root"* ]]
  # A workspace root owns: the image's user, which cannot write it, and a warning that says so.
  mkdir -p "$SANDBOX/rootowned"
  run docker claudeauth run --network none -w "$SANDBOX/rootowned" sh -c 'id -u; touch /workspace/x 2>/dev/null || echo denied'
  [[ "$output" == *"warn: the workspace $SANDBOX/rootowned belongs to root"* ]]
  [[ "$output" == *"10001"*"denied"* ]]
  run docker claudeauth doctor
  [[ "$output" == *"you run as root"* ]]
}
