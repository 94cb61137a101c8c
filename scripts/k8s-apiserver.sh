#!/usr/bin/env bash
# A real Kubernetes API server for the tests of the k8s:// store: etcd + kube-apiserver on
# 127.0.0.1, token authentication and RBAC, no kubelet, no controller-manager.
# Prints the path of an admin kubeconfig on stdout; everything else goes to stderr.
#
# Idempotent: when the server already answers, it prints the kubeconfig and exits. The built
# binaries are cached in /var/cache/claudeauth/k8s-v1.20.2, so only the first run on a machine
# builds (~5 min on two idle cores, far longer on a busy machine); a lock makes parallel callers
# wait for that one build and one start.
#
# Where the binaries come from (nothing here downloads anything but Debian packages):
#   etcd            Debian's etcd-server
#   kube-apiserver  Debian bookworm has no binary package, so it is built from Debian's
#                   `kubernetes` SOURCE package (v1.20.2; a deb-src line is added for it) with
#                   Debian's Go 1.19 in GOPATH mode (GO111MODULE=off): `make gen_openapi` first
#                   (it needs rsync), and the vendored modern-go/reflect2 1.0.1 replaced by
#                   Debian's golang-github-modern-go-reflect2-dev 1.0.2 (1.0.1 crashes in
#                   reflect.mapiterinit under Go 1.19 on every JSON response)
#   kubectl         Debian's kubernetes-client (same v1.20.2), unpacked into the cache rather than
#                   installed, so it never fights another kubectl on the machine
#
# Usage: scripts/k8s-apiserver.sh [start|stop|kubectl ARGS…]
#   start    (default) make sure it runs; print the admin kubeconfig path
#   stop     stop etcd and the apiserver this script started (the state dir is kept)
#   kubectl  run the cached kubectl against the admin kubeconfig
# CLAUDEAUTH_K8S_INSTANCE=N (default 0) runs another, separate cluster (own etcd, ports and
# state): a test that stops its API server mid-run does not disturb the others.
set -euo pipefail

VERSION=v1.20.2
CACHE=/var/cache/claudeauth/k8s-$VERSION
INSTANCE=${CLAUDEAUTH_K8S_INSTANCE:-0}
[[ $INSTANCE =~ ^[0-9]$ ]] || { echo "k8s-apiserver.sh: CLAUDEAUTH_K8S_INSTANCE must be 0-9" >&2; exit 1; }
STATE=/var/lib/claudeauth-k8s-$INSTANCE
ETCD_PORT=$((23790 + 10 * INSTANCE))
ETCD_PEER_PORT=$((23791 + 10 * INSTANCE))
API_PORT=$((16443 + INSTANCE))
KUBECONFIG_PATH=$STATE/admin.kubeconfig
WAIT_SECONDS=60

log() { echo "k8s-apiserver.sh: $*" >&2; }
die() { log "$*"; exit 1; }

api_up() {
  [[ -s $KUBECONFIG_PATH ]] &&
    curl -sf --max-time 2 --cacert "$STATE/ca.crt" -H "Authorization: Bearer $(cat "$STATE/admin.token")" \
      "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1
}

apt_install() {
  local missing=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  # Other jobs on the machine may be installing too: wait for dpkg's lock instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The deb-src line for the mirror the machine already uses (bookworm main).
add_deb_src() {
  local list=/etc/apt/sources.list.d/claudeauth-deb-src.sources
  [[ -f $list ]] && return 0
  cat >"$list" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get -o DPkg::Lock::Timeout=600 update -qq
}

# The build resumes where an interrupted one stopped (a killed CI job, a timeout): the source,
# the generated OpenAPI code and Go's build cache stay in $CACHE/build until a binary is made.
build_apiserver() {
  [[ -x $CACHE/kube-apiserver ]] && return 0
  log "building kube-apiserver $VERSION from Debian's kubernetes source package (first run only, ~5 min on 2 idle cores)"
  apt_install golang-go rsync dpkg-dev golang-github-modern-go-reflect2-dev make
  add_deb_src
  local work=$CACHE/build
  mkdir -p "$work"
  (
    cd "$work"
    local src
    src=$(find "$work" -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
    if [[ -z $src ]]; then
      apt-get source -qq kubernetes >/dev/null 2>&1 || die "apt-get source kubernetes failed (is the deb-src line reachable?)"
      src=$(find "$work" -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
      [[ -n $src ]] || die "the kubernetes source package did not unpack"
      rm -rf "$src/vendor/github.com/modern-go/reflect2"
      cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$src/vendor/github.com/modern-go/reflect2"
    fi
    export GOPATH=$work/gopath GO111MODULE=off GOPROXY=off CGO_ENABLED=0 GOFLAGS= HOME=$work GOCACHE=$work/go-cache
    mkdir -p "$GOPATH/src/k8s.io"
    [[ -L $GOPATH/src/k8s.io/kubernetes ]] || ln -s "$src" "$GOPATH/src/k8s.io/kubernetes"
    cd "$GOPATH/src/k8s.io/kubernetes"
    if [[ ! -s pkg/generated/openapi/zz_generated.openapi.go ]]; then
      make gen_openapi >"$work/gen_openapi.log" 2>&1 || { tail -n 30 "$work/gen_openapi.log" >&2; die "make gen_openapi failed"; }
    fi
    local v=k8s.io/kubernetes/vendor/k8s.io/component-base/version
    # More compile jobs than cores: on a machine shared with other jobs they get a fairer share.
    go build -p "$(($(nproc) * 4))" -o "$work/kube-apiserver" \
      -ldflags "-s -w -X $v.gitVersion=$VERSION -X $v.gitMajor=1 -X $v.gitMinor=20" \
      ./cmd/kube-apiserver >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; die "go build kube-apiserver failed"; }
  )
  mv "$work/kube-apiserver" "$CACHE/kube-apiserver.tmp" && mv "$CACHE/kube-apiserver.tmp" "$CACHE/kube-apiserver"
  rm -rf "$work"
  log "cached $CACHE/kube-apiserver"
}

fetch_kubectl() {
  [[ -x $CACHE/kubectl ]] && return 0
  local work deb
  work=$(mktemp -d /var/tmp/claudeauth-kubectl.XXXXXX)
  (cd "$work" && apt-get download -qq kubernetes-client >/dev/null 2>&1) || die "apt-get download kubernetes-client failed"
  deb=$(find "$work" -name 'kubernetes-client_*.deb' | head -n 1)
  dpkg-deb -x "$deb" "$work/root"
  mkdir -p "$CACHE"
  install -m 0755 "$work/root/usr/bin/kubectl" "$CACHE/kubectl"
  rm -rf "$work"
}

# A CA, a serving certificate for 127.0.0.1, the service-account signing key and an admin token.
make_state() {
  [[ -s $STATE/admin.token ]] && return 0
  mkdir -p "$STATE" && chmod 0700 "$STATE"
  (
    cd "$STATE"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=claudeauth-test-ca \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' >san.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile san.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >admin.token.tmp
    printf '%s,admin,admin,"system:masters"\n' "$(cat admin.token.tmp)" >tokens.csv
    mv admin.token.tmp admin.token
    chmod 0600 ./*
  )
}

write_kubeconfig() {
  local tmp=$KUBECONFIG_PATH.tmp
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: claudeauth-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$STATE/ca.crt")
users:
- name: admin
  user:
    token: $(cat "$STATE/admin.token")
contexts:
- name: claudeauth-test
  context: {cluster: claudeauth-test, user: admin}
current-context: claudeauth-test
EOF
  chmod 0600 "$tmp" && mv "$tmp" "$KUBECONFIG_PATH"
}

running() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_etcd() {
  running "$STATE/etcd.pid" && return 0
  log "starting etcd on 127.0.0.1:$ETCD_PORT (log: $STATE/etcd.log)"
  env -u TMPDIR setsid nohup etcd --name claudeauth --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "claudeauth=http://127.0.0.1:$ETCD_PEER_PORT" \
    >>"$STATE/etcd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/etcd.pid"
}

start_apiserver() {
  running "$STATE/apiserver.pid" && return 0
  log "starting kube-apiserver on 127.0.0.1:$API_PORT (log: $STATE/apiserver.log)"
  env -u TMPDIR setsid nohup "$CACHE/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$STATE/apiserver.crt" --tls-private-key-file "$STATE/apiserver.key" \
    --client-ca-file "$STATE/ca.crt" \
    --token-auth-file "$STATE/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$STATE/sa.pub" --service-account-signing-key-file "$STATE/sa.key" \
    --service-cluster-ip-range 198.18.0.0/24 \
    >>"$STATE/apiserver.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/apiserver.pid"
}

stop_all() {
  local name pid
  for name in apiserver etcd; do
    running "$STATE/$name.pid" || continue
    pid=$(cat "$STATE/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$STATE/$name.pid"
  done
}

start() {
  api_up && { echo "$KUBECONFIG_PATH"; return 0; }
  mkdir -p "$(dirname "$CACHE")"
  exec 9>"$(dirname "$CACHE")/k8s-apiserver.lock"
  flock 9
  api_up && { echo "$KUBECONFIG_PATH"; return 0; }
  apt_install etcd-server openssl curl ca-certificates
  build_apiserver
  fetch_kubectl
  make_state
  write_kubeconfig
  start_etcd
  start_apiserver
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    api_up && { echo "$KUBECONFIG_PATH"; return 0; }
    running "$STATE/apiserver.pid" || break
    sleep 0.5
  done
  log "the apiserver did not become ready; last lines of $STATE/apiserver.log:"
  tail -n 20 "$STATE/apiserver.log" >&2 || true
  exit 1
}

case ${1:-start} in
  start) start ;;
  stop) stop_all ;;
  kubectl) shift; start >/dev/null; exec "$CACHE/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@" ;;
  *) die "usage: $0 [start|stop|kubectl ARGS…]" ;;
esac
