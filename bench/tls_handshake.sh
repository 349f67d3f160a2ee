#!/usr/bin/env bash
# TLS vs mTLS handshake benchmark for the Gatehouse gateway listener (not run in CI).
# See bench/README.md ("TLS handshake benchmark").
#
#   bench/tls_handshake.sh            # build, run, write bench/results/<date>-tls-handshakes.{md,json}
#   SKIP_BUILD=1 bench/tls_handshake.sh
#
# Tunables (environment): RUNS=3 DURATION=6 CONCURRENCY=32 WARMUP=2 (seconds; DURATION ≤ 60)
#   KX=default (tls-load --kx: default, x25519, p256, x25519mlkem768)
#   SUITE=default (tls-load --suite: default, aes128gcm, aes256gcm, chacha20)
#   ONLY="ka_tls ka_mtls" (a subset of the scenarios below, in that order)
#   RESULT_NAME=<date>-tls-handshakes (the results' file name, without .md/.json)
#   CARGO_TARGET_DIR (default: <repo>/target): where gatehouse, the backend and tls-load are built
#
# One gateway TLS listener (ECDSA P-256 server certificate from a throw-away CA, client
# certificates requested) in front of bench/upstream, three APIs on it:
#   /open/{name}  accept = ["none"]  (public)
#   /mtls/{name}  accept = ["mtls"]  (SPIFFE ID spiffe://bench.local/app/<client_id> → a
#                                     registered client with an approved grant; scopes checked)
#   /jwt/{name}   accept = ["bearer"] (same scopes; the keep-alive reference for "any auth")
# Scenarios, measured by bench/tls_load (a new TCP+TLS connection per request, resumption off,
# or keep-alive), interleaved run by run so drift hits every scenario alike:
#   hs_tls        handshake, public route, no client certificate (plain TLS)
#   hs_mtls       handshake, mTLS route, client certificate (full mTLS)
#   hs_mtls_open  handshake, public route, client certificate (the handshake's extra cost alone)
#   ka_tls / ka_mtls / ka_mtls_open   the same three over keep-alive connections
#   ka_bearer     keep-alive, bearer route, access token, no client certificate
#
# Everything stays on 127.0.0.1 (every listener binds port 0); the script kills only the PIDs it
# started. Each load run is bounded by its --duration and by `timeout`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-6}
CONCURRENCY=${CONCURRENCY:-32}
WARMUP=${WARMUP:-2}
KX=${KX:-default}
SUITE=${SUITE:-default}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/gatehouse
UPSTREAM_TARGET=$TARGET_DIR/bench-upstream
UPSTREAM_BIN=$UPSTREAM_TARGET/release/bench-upstream
LOAD_TARGET=$TARGET_DIR/bench-tls-load
LOAD_BIN=$LOAD_TARGET/release/tls-load
STAMP=$(date -u +%Y-%m-%d)
TRUST_DOMAIN=bench.local

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-tlsbench.XXXXXX")
PIDS=()
stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    [[ -n ${KEEP_WORK:-} ]] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

# Waits for `sed_expr` to print something from `file` while `pid` lives; prints the match.
wait_for_line() {
    local pid=$1 file=$2 sed_expr=$3 what=$4 out=""
    for _ in $(seq 600); do
        out=$(sed -n "$sed_expr" "$file" | head -n1)
        [[ -n $out ]] && { printf '%s\n' "$out"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$file" "${file%.out}.err" >&2 2>/dev/null; die "$what exited"; }
        sleep 0.1
    done
    die "$what did not print its address within 60 s"
}

git_rev() {
    local rev
    rev=$(git -C "$ROOT" rev-parse --short HEAD)
    [[ -n $(git -C "$ROOT" status --porcelain -- crates Cargo.toml Cargo.lock) ]] && rev+="+dirty"
    printf '%s\n' "$rev"
}

# user+system CPU seconds of a process so far (fields 14–15 of /proc/PID/stat, 1/100 s).
cpu_of() { awk '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / 100 }' "/proc/$1/stat"; }

# --- (a) build ------------------------------------------------------------------------------
cd "$ROOT"
GIT_REV=$(git_rev)
if [[ -z ${SKIP_BUILD:-} ]]; then
    log "building the release binary (several minutes on 2 cores), the bench upstream and tls-load"
    timeout 3600 nice -n 10 cargo build --release -p gatehouse --target-dir "$TARGET_DIR"
    timeout 1800 nice -n 10 cargo build --release --manifest-path bench/upstream/Cargo.toml \
        --target-dir "$UPSTREAM_TARGET"
    timeout 1800 nice -n 10 cargo build --release --manifest-path bench/tls_load/Cargo.toml \
        --target-dir "$LOAD_TARGET"
fi
for f in "$BIN" "$UPSTREAM_BIN" "$LOAD_BIN"; do
    [[ -x $f ]] || die "$f missing: run without SKIP_BUILD"
done
for tool in openssl curl jq python3; do command -v "$tool" >/dev/null || die "$tool not found"; done

# --- (b) certificates: ECDSA P-256 everywhere, a CA for the server and one for the clients -----
CERTS=$WORK/certs
mkdir -p "$CERTS"
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
new_ca() { # name, CN
    new_key "$CERTS/$1.key"
    openssl req -x509 -new -key "$CERTS/$1.key" -subj "/CN=$2" -days 7 -out "$CERTS/$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
new_leaf() { # name, CA name, CN, EKU, subjectAltName
    new_key "$CERTS/$1.key"
    openssl req -new -key "$CERTS/$1.key" -subj "/CN=$3" -out "$CERTS/$1.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=$4" "subjectAltName=$5" >"$CERTS/$1.ext"
    openssl x509 -req -in "$CERTS/$1.csr" -CA "$CERTS/$2.pem" -CAkey "$CERTS/$2.key" \
        -set_serial "0x$(openssl rand -hex 12)" -days 7 -extfile "$CERTS/$1.ext" \
        -out "$CERTS/$1.pem" 2>/dev/null
}
new_ca server-ca "bench gateway server CA"
new_ca clients-ca "bench service clients CA"
new_leaf server server-ca localhost serverAuth "DNS:localhost,IP:127.0.0.1"

# --- (c) backend and gatehouse with its TLS gateway listener ----------------------------------
"$UPSTREAM_BIN" >"$WORK/upstream.out" 2>"$WORK/upstream.err" &
UPSTREAM_PID=$!
PIDS+=("$UPSTREAM_PID")
UPSTREAM_ADDR=$(wait_for_line "${PIDS[-1]}" "$WORK/upstream.out" 's/^listening on \([0-9.:]*\)$/\1/p' upstream)
UPSTREAM=http://$UPSTREAM_ADDR
log "backend pid ${PIDS[-1]} at $UPSTREAM"

cat >"$WORK/gatehouse.toml" <<EOF
listen = "127.0.0.1:0"

[gateway]
listen = "127.0.0.1:0"
tls = { cert_file = "$CERTS/server.pem", key_file = "$CERTS/server.key" }

[[gateway.apis]]
api = "bench-open"
upstreams = ["$UPSTREAM"]
timeout = "30s"
accept = ["none"]

[[gateway.apis.routes]]
operation = "hello"
path = "/open/{name}"
methods = ["GET"]

[[gateway.apis]]
api = "bench-mtls"
upstreams = ["$UPSTREAM"]
timeout = "30s"
accept = ["mtls"]
scopes = ["bench:read"]
mtls = { ca_file = "$CERTS/clients-ca.pem", trust_domain = "$TRUST_DOMAIN" }

[[gateway.apis.routes]]
operation = "hello"
path = "/mtls/{name}"
methods = ["GET"]

[[gateway.apis]]
api = "bench-jwt"
upstreams = ["$UPSTREAM"]
timeout = "30s"
accept = ["bearer"]
scopes = ["bench:read"]
require_subscription = true

[[gateway.apis.routes]]
operation = "hello"
path = "/jwt/{name}"
methods = ["GET"]
EOF
DATA=$WORK/data
"$BIN" serve --config "$WORK/gatehouse.toml" --data-dir "$DATA" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
URL=$(wait_for_line "$SERVER_PID" "$WORK/server.out" 's/^gatehouse serving on \(http:\/\/[^ ]*\).*/\1/p' gatehouse)
GATEWAY_ADDR=$(wait_for_line "$SERVER_PID" "$WORK/server.out" 's/^ *gateway: *https\{0,1\}:\/\/\([0-9.:]*\).*/\1/p' gatehouse)
for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && break
    sleep 0.1
done
GATEWAY=https://localhost:${GATEWAY_ADDR##*:}
log "gatehouse pid $SERVER_PID at $URL, TLS gateway at $GATEWAY_ADDR"

gh() { "$BIN" --server "$URL" --admin-token-file "$DATA/admin-token" --json "$@"; }
gh api create --name bench-open --audience https://bench-open.example >/dev/null
gh api create --name bench-mtls --audience https://bench-mtls.example --scope bench:read >/dev/null
gh api create --name bench-jwt --audience https://bench-jwt.example --scope bench:read >/dev/null
gh client create --name bench-client >"$WORK/client.json"
CLIENT_ID=$(jq -er .client_id "$WORK/client.json")
CLIENT_SECRET=$(jq -er .client_secret "$WORK/client.json")
gh grant --client "$CLIENT_ID" --api bench-mtls --scope bench:read >/dev/null
gh grant --client "$CLIENT_ID" --api bench-jwt --scope bench:read >/dev/null
new_leaf client clients-ca "$CLIENT_ID" clientAuth "URI:spiffe://$TRUST_DOMAIN/app/$CLIENT_ID"
BASIC="Authorization: Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
TOKEN=$(curl -sS -H "$BASIC" -d 'grant_type=client_credentials&resource=https%3A%2F%2Fbench-jwt.example&scope=bench%3Aread' \
    "$URL/oauth2/token" | jq -er .access_token) || die "token request failed"

# --- (d) each route answers as expected before any load ---------------------------------------
CURL_TLS=(curl -s --http1.1 --cacert "$CERTS/server-ca.pem" --resolve "localhost:${GATEWAY_ADDR##*:}:127.0.0.1")
CURL_MTLS=("${CURL_TLS[@]}" --cert "$CERTS/client.pem" --key "$CERTS/client.key")
check() { # want, curl args…
    local want=$1 code; shift
    code=$("$@" -o "$WORK/check.body" -w '%{http_code}') || true
    [[ $code == "$want" ]] || die "$* answered $code, want $want: $(cat "$WORK/check.body" 2>/dev/null)"
}
check 200 "${CURL_TLS[@]}" "$GATEWAY/open/hello"
check 200 "${CURL_MTLS[@]}" "$GATEWAY/open/hello"
check 200 "${CURL_MTLS[@]}" "$GATEWAY/mtls/hello"
grep -q '"ok":true' "$WORK/check.body" || die "gateway did not forward the mTLS request to the backend"
check 401 "${CURL_TLS[@]}" "$GATEWAY/mtls/hello"
check 200 "${CURL_TLS[@]}" -H "Authorization: Bearer $TOKEN" "$GATEWAY/jwt/hello"

# --- (e) load: a warm-up per scenario, then RUNS rounds, each running every scenario once ------
declare -A ARGS
CERT_ARGS="--cert $CERTS/client.pem --key $CERTS/client.key"
ARGS[hs_tls]="--mode handshake --path /open/hello"
ARGS[hs_mtls]="--mode handshake --path /mtls/hello $CERT_ARGS"
ARGS[hs_mtls_open]="--mode handshake --path /open/hello $CERT_ARGS"
ARGS[ka_tls]="--mode keep-alive --path /open/hello"
ARGS[ka_mtls]="--mode keep-alive --path /mtls/hello $CERT_ARGS"
ARGS[ka_mtls_open]="--mode keep-alive --path /open/hello $CERT_ARGS"
ARGS[ka_bearer]="--mode keep-alive --path /jwt/hello"
SCENARIOS=(hs_tls hs_mtls hs_mtls_open ka_tls ka_mtls ka_mtls_open ka_bearer)
if [[ -n ${ONLY:-} ]]; then
    read -r -a SCENARIOS <<<"$ONLY"
    for s in "${SCENARIOS[@]}"; do [[ -n ${ARGS[$s]:-} ]] || die "ONLY: unknown scenario $s"; done
fi
load() { # scenario, seconds, output file
    local extra=()
    [[ $1 == ka_bearer ]] && extra=(--header "Authorization: Bearer $TOKEN")
    # shellcheck disable=SC2086 # ARGS values are flag lists without spaces inside a value
    timeout 90 "$LOAD_BIN" --addr "$GATEWAY_ADDR" --server-name localhost --ca "$CERTS/server-ca.pem" \
        --concurrency "$CONCURRENCY" --duration "$2" --kx "$KX" --suite "$SUITE" ${ARGS[$1]} "${extra[@]}" >"$3"
}

sleep 2
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${SCENARIOS[@]}"; do
    log "$s: warm-up ${WARMUP}s"
    load "$s" "$WARMUP" "$WORK/warmup-$s.json"
done
for i in $(seq "$RUNS"); do
    for s in "${SCENARIOS[@]}"; do
        log "$s run $i/$RUNS: ${DURATION}s at concurrency $CONCURRENCY"
        srv0=$(cpu_of "$SERVER_PID") up0=$(cpu_of "$UPSTREAM_PID")
        load "$s" "$DURATION" "$WORK/$s-$i.json"
        srv1=$(cpu_of "$SERVER_PID") up1=$(cpu_of "$UPSTREAM_PID")
        jq --argjson srv "$(awk -v a="$srv0" -v b="$srv1" 'BEGIN { printf "%.2f", b - a }')" \
            --argjson up "$(awk -v a="$up0" -v b="$up1" 'BEGIN { printf "%.2f", b - a }')" \
            '. + {server_cpu_s: $srv, upstream_cpu_s: $up}' "$WORK/$s-$i.json" >"$WORK/$s-$i.tmp"
        mv "$WORK/$s-$i.tmp" "$WORK/$s-$i.json"
        log "  $(jq -r '"\(.requests_per_s) req/s, p50 \(.latency_ms.p50) ms, p99 \(.latency_ms.p99) ms, errors \(.errors), CPU s: gatehouse \(.server_cpu_s), client \(.client_cpu_s), backend \(.upstream_cpu_s)"' "$WORK/$s-$i.json")"
    done
done
LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
SERVER_RSS_KB=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$SERVER_PID/status")

# --- (f) stop what we started, then the summary -------------------------------------------------
for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
PIDS=()

mkdir -p "$RESULTS_DIR"
export RESULT_NAME=${RESULT_NAME:-$STAMP-tls-handshakes}
export WORK RUNS DURATION CONCURRENCY WARMUP KX SUITE STAMP RESULTS_DIR LOADAVG_BEFORE LOADAVG_AFTER SERVER_RSS_KB
export SCENARIO_LIST="${SCENARIOS[*]}"
export RUSTC_VERSION=$(rustc --version)
export OPENSSL_VERSION=$(openssl version)
export GIT_REV
export GIT_REV_AFTER=$(git_rev)
export CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
python3 "$ROOT/bench/summarize_tls.py"
