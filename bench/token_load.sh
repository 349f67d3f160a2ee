#!/usr/bin/env bash
# Client-credentials load benchmark for Gatehouse (not run in CI). See bench/README.md.
#
#   bench/token_load.sh            # build, run, write bench/results/<date>-token.{md,json}
#   SKIP_BUILD=1 bench/token_load.sh
#
# Tunables (environment): RUNS=3 DURATION=10s CONCURRENCY=32 WARMUP=3s
#
# Everything stays on 127.0.0.1: the server binds 127.0.0.1:0 and the script kills only the
# server PID it started. Each oha run is bounded by -z, and the script by `timeout`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
WARMUP=${WARMUP:-3s}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
BIN=$ROOT/target/release/gatehouse
AUDIENCE=https://bench.example
STAMP=$(date -u +%Y-%m-%d)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
SERVER_PID=""
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- (a) build ----------------------------------------------------------------------------
cd "$ROOT"
if [[ -z ${SKIP_BUILD:-} ]]; then
    log "building release binary and the jwt micro-benchmark (several minutes on 2 cores)"
    timeout 3600 cargo build --release -p gatehouse
    timeout 1800 cargo bench -p gatehouse-keys --bench jwt --no-run
fi
[[ -x $BIN ]] || die "$BIN missing: run without SKIP_BUILD"

# --- (b) load tool --------------------------------------------------------------------------
if ! command -v oha >/dev/null; then
    log "installing oha (cargo install oha --locked)"
    timeout 1800 cargo install oha --locked
fi
for tool in oha curl jq python3; do command -v "$tool" >/dev/null || die "$tool not found"; done
OHA_FLAGS=(-z "$DURATION" -c "$CONCURRENCY" --no-tui --output-format json)
# Without this, oha counts the requests in flight at the deadline as errors.
if oha --help | grep -q -- '--wait-ongoing-requests-after-deadline'; then
    OHA_FLAGS+=(--wait-ongoing-requests-after-deadline)
fi

# --- (c) server and fixtures ----------------------------------------------------------------
DATA=$WORK/data
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 600); do
    URL=$(sed -n 's/^gatehouse serving on \(http:\/\/[^ ]*\).*/\1/p' "$WORK/server.out" | head -n1)
    [[ -n $URL ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; die "server exited"; }
    sleep 0.1
done
[[ -n $URL ]] || die "server did not print its URL within 60 s"
for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && break
    sleep 0.1
done
log "server pid $SERVER_PID at $URL"
rss_kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$SERVER_PID/status"; }
RSS_START_KB=$(rss_kb VmRSS)

gh() { "$BIN" --server "$URL" --admin-token-file "$DATA/admin-token" --json "$@"; }
gh api create --name bench --audience "$AUDIENCE" --scope bench:read --scope bench:write >"$WORK/api.json"
gh client create --name bench-client >"$WORK/client.json"
CLIENT_ID=$(jq -er .client_id "$WORK/client.json")
CLIENT_SECRET=$(jq -er .client_secret "$WORK/client.json")
gh grant --client "$CLIENT_ID" --api bench --scope bench:read --scope bench:write >"$WORK/grant.json"
BASIC="Authorization: Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
FORM="grant_type=client_credentials&resource=https%3A%2F%2Fbench.example"
FORM_CT=application/x-www-form-urlencoded

# One request by hand first: the load numbers mean nothing if this is not a 200 with a token.
CHECK=$(curl -sS -H "$BASIC" -H "Content-Type: $FORM_CT" -d "$FORM" "$URL/oauth2/token")
jq -e '.access_token and .token_type == "Bearer"' <<<"$CHECK" >/dev/null \
    || die "token request failed: $CHECK"
sleep 2
RSS_IDLE_KB=$(rss_kb VmRSS)
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- (d, e) load: warm-up, token runs, then the trivial handler under the same settings ------
token_oha() { oha "$@" -m POST -H "$BASIC" -T "$FORM_CT" -d "$FORM" "$URL/oauth2/token"; }
log "warm-up $WARMUP"
token_oha -z "$WARMUP" -c "$CONCURRENCY" --no-tui --output-format json >/dev/null
for i in $(seq "$RUNS"); do
    log "token run $i/$RUNS: $DURATION at concurrency $CONCURRENCY"
    timeout 120 oha "${OHA_FLAGS[@]}" -m POST -H "$BASIC" -T "$FORM_CT" -d "$FORM" \
        "$URL/oauth2/token" >"$WORK/token-$i.json"
done
for i in $(seq "$RUNS"); do
    log "healthz run $i/$RUNS: $DURATION at concurrency $CONCURRENCY"
    timeout 120 oha "${OHA_FLAGS[@]}" "$URL/healthz" >"$WORK/healthz-$i.json"
done

# --- (f) memory after load, then stop the server we started ---------------------------------
RSS_AFTER_KB=$(rss_kb VmRSS)
RSS_PEAK_KB=$(rss_kb VmHWM)
LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

# --- (e) raw signing rate, with the server stopped -------------------------------------------
log "criterion: ES256 mint and raw sign (--quick)"
timeout 900 cargo bench -q -p gatehouse-keys --bench jwt -- --quick \
    '^(mint_at_jwt/ES256|raw_es256_sign_32_bytes)$' >"$WORK/criterion.txt" 2>&1 \
    || { cat "$WORK/criterion.txt" >&2; die "cargo bench failed"; }

# --- (g) summary ------------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
export WORK RUNS DURATION CONCURRENCY WARMUP STAMP RESULTS_DIR ROOT \
    RSS_START_KB RSS_IDLE_KB RSS_AFTER_KB RSS_PEAK_KB LOADAVG_BEFORE LOADAVG_AFTER
export OHA_VERSION=$(oha --version | head -n1)
export RUSTC_VERSION=$(rustc --version)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD)
# Uncommitted or untracked changes to the code under test make the revision "+dirty".
[[ -n $(git -C "$ROOT" status --porcelain -- crates Cargo.toml Cargo.lock) ]] && GIT_REV+="+dirty"
export GIT_REV
export CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
python3 "$ROOT/bench/summarize.py"
