#!/usr/bin/env bash
# Opt-in Kubernetes API tier for brgvc (BRGVC_K8S_TIER=1).
#
# Builds kube-apiserver, kube-controller-manager and kubectl from Debian's own `kubernetes`
# source package (1.20.2, Go from Debian), with the vendored reflect2/json-iterator replaced
# by Debian's newer packages (the vendored reflect2 1.0.1 crashes under Go >= 1.18 on the first
# custom-resource write), and starts etcd + kube-apiserver (+ kube-controller-manager) on
# 127.0.0.1 only. Nothing runs in pods: there is no kubelet and no container runtime.
#
# The build is cached OUTSIDE the repository (default /var/cache/brgvc-k8s, about 4 GB with
# the Go cache; ~11-13 min on 2 cores the first time, seconds afterwards).
#
# Usage:
#   cluster/tier/k8s-apiserver.sh build            # apt packages + build (idempotent)
#   cluster/tier/k8s-apiserver.sh start STATE_DIR  # etcd, kube-apiserver, controller-manager
#   cluster/tier/k8s-apiserver.sh stop STATE_DIR   # stops exactly the PIDs `start` recorded
#   cluster/tier/k8s-apiserver.sh bin              # prints the folder holding the binaries
#
# Environment: BRGVC_K8S_CACHE (cache folder), BRGVC_K8S_PORT_BASE (default 23790: etcd client
# port; peer +10, metrics +20) and BRGVC_K8S_API_PORT (default 16443).
set -euo pipefail

CACHE=${BRGVC_K8S_CACHE:-/var/cache/brgvc-k8s}
BIN=$CACHE/bin
BASE=${BRGVC_K8S_PORT_BASE:-23790}
API_PORT=${BRGVC_K8S_API_PORT:-16443}
BINARIES=(kube-apiserver kube-controller-manager kubectl)

log() { printf '[k8s-apiserver.sh] %s\n' "$*" >&2; }

have_binaries() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x $BIN/$b && -s $BIN/$b ]] || return 1; done
}

apt_install() {
  local missing=()
  local p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
      || { apt-get update && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y --no-install-recommends "${missing[@]}"; }
  fi
}

build() {
  apt_install etcd-server etcd-client openssl
  if have_binaries; then
    log "cached binaries in $BIN"
    return 0
  fi
  apt_install golang-go dpkg-dev rsync make \
    golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev
  mkdir -p "$CACHE/apt/lists/partial" "$CACHE/src" "$BIN"
  # A private apt configuration with deb-src lines: the system's sources stay untouched.
  cat >"$CACHE/apt/sources.list" <<SRC
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
SRC
  local aptopts=(-o "Dir::Etc::SourceList=$CACHE/apt/sources.list" -o "Dir::Etc::SourceParts=-"
                 -o "Dir::State::Lists=$CACHE/apt/lists")
  local tree
  tree=$(find "$CACHE/src" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
  if [[ -z $tree ]]; then
    apt-get "${aptopts[@]}" update
    (cd "$CACHE/src" && apt-get "${aptopts[@]}" source --download-only kubernetes)
    local dsc
    dsc=$(ls "$CACHE"/src/kubernetes_*.dsc | head -n1)
    (cd "$CACHE/src" && dpkg-source --no-check -x "$dsc")
    tree=$(find "$CACHE/src" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
  fi
  log "source tree $tree"
  # The vendored reflect2 1.0.1 faults under Go >= 1.18; use Debian's 1.0.2 / 1.1.12.
  rsync -a --delete /usr/share/gocode/src/github.com/modern-go/reflect2/ \
    "$tree/vendor/github.com/modern-go/reflect2/"
  rsync -a --delete /usr/share/gocode/src/github.com/json-iterator/go/ \
    "$tree/vendor/github.com/json-iterator/go/"
  mkdir -p "$tree/.go/src/k8s.io"
  ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
  cat >"$tree/.brgvc-version" <<VER
KUBE_GIT_COMMIT='0000000000000000000000000000000000000000'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='v1.20.2'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
VER
  log "make (this takes ~11-13 min on 2 cores the first time)"
  (cd "$tree/.go/src/k8s.io/kubernetes" &&
    GOPATH=$tree/.go GOPROXY=off GOFLAGS=-mod=vendor GO111MODULE=on CGO_ENABLED=0 \
    GOCACHE=$CACHE/gocache KUBE_GIT_VERSION_FILE=$tree/.brgvc-version \
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kubectl")
  local b out
  for b in "${BINARIES[@]}"; do
    out=$(find "$tree/_output" -type f -name "$b" -perm -u+x | head -n1)
    [[ -n $out && -s $out ]] || { log "build produced no $b"; exit 1; }
    install -m 0755 "$out" "$BIN/$b"
  done
  "$BIN/kube-apiserver" --version
}

wait_ready() {
  local state=$1 i
  for i in $(seq 1 120); do
    if "$BIN/kubectl" --kubeconfig "$state/kubeconfig" get --raw /readyz >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  log "kube-apiserver not ready after 60 s; see $state/*.log"
  return 1
}

start() {
  local state=${1:?usage: start STATE_DIR}
  have_binaries || { log "no binaries in $BIN: run '$0 build' first"; exit 1; }
  mkdir -p "$state/etcd" "$state/certs"
  state=$(cd "$state" && pwd)
  # Service-account signing key; the serving certificate is self-signed by kube-apiserver.
  [[ -f $state/sa.key ]] || openssl genrsa -out "$state/sa.key" 2048 2>/dev/null
  openssl rsa -in "$state/sa.key" -pubout -out "$state/sa.pub" 2>/dev/null
  local token
  token=$(openssl rand -hex 16)
  echo "$token,admin,1,system:masters" >"$state/tokens.csv"
  chmod 600 "$state/tokens.csv" "$state/sa.key"
  cat >"$state/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: brgvc-tier
  cluster: {server: "https://127.0.0.1:$API_PORT", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: "$token"}
contexts:
- name: brgvc-tier
  context: {cluster: brgvc-tier, user: admin, namespace: default}
current-context: brgvc-tier
KC
  chmod 600 "$state/kubeconfig"
  local etcd=/usr/bin/etcd
  [[ -x $etcd ]] || etcd=$(command -v etcd)
  setsid "$etcd" --name brgvc --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$BASE" --advertise-client-urls "http://127.0.0.1:$BASE" \
    --listen-peer-urls "http://127.0.0.1:$((BASE + 10))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 10))" \
    --initial-cluster "brgvc=http://127.0.0.1:$((BASE + 10))" \
    --listen-metrics-urls "http://127.0.0.1:$((BASE + 20))" \
    >"$state/etcd.log" 2>&1 </dev/null &
  echo $! >"$state/etcd.pid"
  setsid "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$BASE" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --insecure-port 0 --cert-dir "$state/certs" --token-auth-file "$state/tokens.csv" \
    --authorization-mode RBAC --service-account-key-file "$state/sa.pub" \
    --service-account-signing-key-file "$state/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 10.96.0.0/24 --disable-admission-plugins ServiceAccount \
    >"$state/kube-apiserver.log" 2>&1 </dev/null &
  echo $! >"$state/kube-apiserver.pid"
  wait_ready "$state"
  # No serving ports at all (--port 0 --secure-port 0): it only talks to the API server.
  setsid "$BIN/kube-controller-manager" --kubeconfig "$state/kubeconfig" \
    --controllers cronjob,job,deployment,replicaset,serviceaccount,garbagecollector \
    --leader-elect=false --port 0 --secure-port 0 --use-service-account-credentials=false \
    >"$state/kube-controller-manager.log" 2>&1 </dev/null &
  echo $! >"$state/kube-controller-manager.pid"
  log "ready: KUBECONFIG=$state/kubeconfig"
}

stop() {
  local state=${1:?usage: stop STATE_DIR} name pid i
  for name in kube-controller-manager kube-apiserver etcd; do
    [[ -f $state/$name.pid ]] || continue
    pid=$(cat "$state/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$state/$name.pid"
  done
}

case ${1:-build} in
  build) build ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  bin) echo "$BIN" ;;
  *) echo "usage: $0 {build|start STATE_DIR|stop STATE_DIR|bin}" >&2; exit 2 ;;
esac
