#!/usr/bin/env bash
# Gateway load benchmark for Gatehouse (not run in CI). See bench/README.md.
#
#   bench/gateway_load.sh            # build, run, write bench/results/<date>-gateway.{md,json}
#   SKIP_BUILD=1 bench/gateway_load.sh
#   SCENARIOS=policy bench/gateway_load.sh   # the policy comparison instead (below), written to
#                                            # bench/results/<date>-policy-gateway.{md,json}
#
# Tunables (environment): RUNS=3 DURATION=10s CONCURRENCY=32 WARMUP=3s
#   FIXED_RATE (req/s for the latency comparison; default: half the gateway's JWT peak)
#   CARGO_TARGET_DIR (default <repo>/target): where gatehouse and the backend are built and found
#   RESULT_NAME (default <date>-gateway, or <date>-policy-gateway): the results' file name
#   with SCENARIOS=policy: POLICY_FILE (default bench/policies/gateway_rbac.rego), POLICY_DATA (a
#   JSON file uploaded as the policy's data document; default none), SKIP_CRITERION=1
#
# Scenarios, one at a time against the same tiny backend (bench/upstream):
#   direct       oha → backend
#   gateway_jwt  oha → gateway (bearer JWT, scope check, rate limit that never triggers) → backend
#   gateway_key  oha → gateway (API key, same scopes and rate limit) → backend
#                (only if `gatehouse client api-key create` exists)
#   nginx        oha → nginx plain proxy_pass (bench/nginx/proxy.conf) → backend
#   gateway_open oha → gateway, a public operation (accept = ["none"]: routing, header rewrite,
#                forwarding; no credential) → backend: the "same gateway with no auth"
#   gateway_404  oha → gateway, a path with no route (routing + problem+json, no auth, no forward)
# then at a fixed rate (FIXED_RATE, oha -q) direct vs gateway_jwt, for the p99 comparison.
#
# SCENARIOS=policy: three identical bearer APIs (same scopes, subscription, rate limit, path
# length), one without a policy and two with POLICY_FILE attached through the admin API,
# measured in rounds (each round runs every scenario once, so drift on the box hits all alike):
#   gateway_jwt                oha → gateway (as above, no policy) → backend
#   gateway_jwt_policy         … + the policy, "caching": "none" (evaluated on every request)
#   gateway_jwt_policy_cached  … + the same policy, "caching": "per_caller" (cached per token)
# The client's tokens carry the claims the policy reads (tenant, roles). Before any load, a
# second client of a tenant the policy refuses must get 403 from both policy APIs (200 without
# a policy). No nginx, no fixed-rate phase; at the end, with everything stopped, the criterion
# bench of crates/policy (input build, evaluation of rbac.rego) unless SKIP_CRITERION=1.
#
# Everything stays on 127.0.0.1 (every listener binds port 0 or a free loopback port); the
# script kills only the PIDs it started. Each oha run is bounded by -z, each step by `timeout`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITE=${SCENARIOS:-default}
unset SCENARIOS # from here on, the list of scenarios to run
[[ $SUITE == default || $SUITE == policy ]] \
    || { echo "SCENARIOS must be unset, 'default' or 'policy'" >&2; exit 2; }
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
WARMUP=${WARMUP:-3s}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/gatehouse
UPSTREAM_TARGET=$TARGET_DIR/bench-upstream
UPSTREAM_BIN=$UPSTREAM_TARGET/release/bench-upstream
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
STAMP=$(date -u +%Y-%m-%d)
if [[ $SUITE == policy ]]; then
    RESULT_NAME=${RESULT_NAME:-$STAMP-policy-gateway}
    POLICY_FILE=${POLICY_FILE:-$ROOT/bench/policies/gateway_rbac.rego}
    [[ -f $POLICY_FILE ]] || { echo "POLICY_FILE $POLICY_FILE not found" >&2; exit 2; }
    [[ -z ${POLICY_DATA:-} || -f $POLICY_DATA ]] || { echo "POLICY_DATA $POLICY_DATA not found" >&2; exit 2; }
else
    RESULT_NAME=${RESULT_NAME:-$STAMP-gateway}
fi

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-gwbench.XXXXXX")
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
    rm -rf "$WORK"
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

# The revision under test: taken before the build ("+dirty" if crates/ has uncommitted or
# untracked changes), and again at the end, in case someone committed or edited meanwhile.
git_rev() {
    local rev
    rev=$(git -C "$ROOT" rev-parse --short HEAD)
    [[ -n $(git -C "$ROOT" status --porcelain -- crates Cargo.toml Cargo.lock) ]] && rev+="+dirty"
    printf '%s\n' "$rev"
}

# --- (a) build ------------------------------------------------------------------------------
cd "$ROOT"
GIT_REV=$(git_rev)
if [[ -z ${SKIP_BUILD:-} ]]; then
    log "building the release binary (several minutes on 2 cores) and the bench upstream"
    timeout 3600 cargo build --release -p gatehouse --target-dir "$TARGET_DIR"
    timeout 1800 cargo build --release --manifest-path bench/upstream/Cargo.toml \
        --target-dir "$UPSTREAM_TARGET"
    if [[ $SUITE == policy && -z ${SKIP_CRITERION:-} ]]; then
        timeout 1800 cargo bench -p gatehouse-policy --bench decision --target-dir "$TARGET_DIR" --no-run
    fi
fi
[[ -x $BIN ]] || die "$BIN missing: run without SKIP_BUILD"
[[ -x $UPSTREAM_BIN ]] || die "$UPSTREAM_BIN missing: run without SKIP_BUILD"
[[ $SUITE == policy || -x $NGINX ]] || die "nginx not found (set NGINX=/path/to/nginx)"

# --- (b) load tool ----------------------------------------------------------------------------
if ! command -v oha >/dev/null; then
    log "installing oha (cargo install oha --locked)"
    timeout 1800 cargo install oha --locked
fi
for tool in oha curl jq python3; do command -v "$tool" >/dev/null || die "$tool not found"; done
OHA_FLAGS=(-c "$CONCURRENCY" --no-tui --output-format json)
# Without this, oha counts the requests in flight at the deadline as errors.
if oha --help | grep -q -- '--wait-ongoing-requests-after-deadline'; then
    OHA_FLAGS+=(--wait-ongoing-requests-after-deadline)
fi
# At a fixed rate, measure from when each request was due, not when oha got round to it.
RATE_FLAGS=()
if oha --help | grep -q -- '--latency-correction'; then RATE_FLAGS+=(--latency-correction); fi

# --- (c) backend, gatehouse with its gateway, nginx --------------------------------------------
"$UPSTREAM_BIN" >"$WORK/upstream.out" 2>"$WORK/upstream.err" &
PIDS+=($!)
UPSTREAM_ADDR=$(wait_for_line "${PIDS[-1]}" "$WORK/upstream.out" 's/^listening on \([0-9.:]*\)$/\1/p' upstream)
UPSTREAM=http://$UPSTREAM_ADDR
log "backend pid ${PIDS[-1]} at $UPSTREAM"

RATE=1000000 # per application per second, and as burst: never triggers, but is checked
cat >"$WORK/gatehouse.toml" <<EOF
listen = "127.0.0.1:0"

[gateway]
listen = "127.0.0.1:0"

[[gateway.apis]]
api = "bench-jwt"
upstreams = ["$UPSTREAM"]
timeout = "30s"
accept = ["bearer"]
scopes = ["bench:read"]
require_subscription = true
rate_limit = { per_second = $RATE, burst = $RATE }

[[gateway.apis.routes]]
operation = "hello"
path = "/jwt/{name}"
methods = ["GET"]

[[gateway.apis]]
api = "bench-key"
upstreams = ["$UPSTREAM"]
timeout = "30s"
accept = ["api_key"]
scopes = ["bench:read"]
require_subscription = true
rate_limit = { per_second = $RATE, burst = $RATE }

[[gateway.apis.routes]]
operation = "hello"
path = "/key/{name}"
methods = ["GET"]

[[gateway.apis]]
api = "bench-open"
upstreams = ["$UPSTREAM"]
timeout = "30s"
accept = ["none"]

[[gateway.apis.routes]]
operation = "hello"
path = "/open/{name}"
methods = ["GET"]
EOF
if [[ $SUITE == policy ]]; then
    # Two more APIs exactly like bench-jwt (path of the same length too); only the policy differs.
    for api in bench-policy:pol bench-cached:pca; do
        cat >>"$WORK/gatehouse.toml" <<EOF

[[gateway.apis]]
api = "${api%%:*}"
upstreams = ["$UPSTREAM"]
timeout = "30s"
accept = ["bearer"]
scopes = ["bench:read"]
require_subscription = true
rate_limit = { per_second = $RATE, burst = $RATE }

[[gateway.apis.routes]]
operation = "hello"
path = "/${api##*:}/{name}"
methods = ["GET"]
EOF
    done
fi
if [[ -n ${GATEWAY_WORKERS:-} ]]; then
    sed -i "s/^\[gateway\]$/[gateway]\nworkers = $GATEWAY_WORKERS/" "$WORK/gatehouse.toml"
fi
DATA=$WORK/data
"$BIN" serve --config "$WORK/gatehouse.toml" --data-dir "$DATA" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
URL=$(wait_for_line "$SERVER_PID" "$WORK/server.out" 's/^gatehouse serving on \(http:\/\/[^ ]*\).*/\1/p' gatehouse)
GATEWAY=$(wait_for_line "$SERVER_PID" "$WORK/server.out" 's/^ *gateway: *\(http:\/\/[^ ]*\).*/\1/p' gatehouse)
for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz") == 200 ]] && break
    sleep 0.1
done
log "gatehouse pid $SERVER_PID at $URL, gateway at $GATEWAY"

gh() { "$BIN" --server "$URL" --admin-token-file "$DATA/admin-token" --json "$@"; }
gh api create --name bench-jwt --audience https://bench-jwt.example --scope bench:read >/dev/null
gh api create --name bench-key --audience https://bench-key.example --scope bench:read >/dev/null
gh api create --name bench-open --audience https://bench-open.example >/dev/null
# With SCENARIOS=policy the client's tokens carry the claims the policy reads (the same
# client, hence the same claims, for all three scenarios; without a policy nothing reads them).
CLIENT_CLAIMS=()
if [[ $SUITE == policy ]]; then
    CLIENT_CLAIMS=(--claim tenant=acme --claim 'roles=["bench.reader","support"]')
fi
gh client create --name bench-client "${CLIENT_CLAIMS[@]}" >"$WORK/client.json"
CLIENT_ID=$(jq -er .client_id "$WORK/client.json")
CLIENT_SECRET=$(jq -er .client_secret "$WORK/client.json")
gh grant --client "$CLIENT_ID" --api bench-jwt --scope bench:read >/dev/null
gh grant --client "$CLIENT_ID" --api bench-key --scope bench:read >/dev/null
BASIC="Authorization: Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
# token BASIC-HEADER API: an access token for https://API.example with scope bench:read.
token() {
    curl -sS -H "$1" -d "grant_type=client_credentials&resource=https%3A%2F%2F$2.example&scope=bench%3Aread" \
        "$URL/oauth2/token" | jq -er .access_token
}
TOKEN=$(token "$BASIC" bench-jwt) || die "token request failed"

if [[ $SUITE == policy ]]; then
    gh api create --name bench-policy --audience https://bench-policy.example --scope bench:read >/dev/null
    gh api create --name bench-cached --audience https://bench-cached.example --scope bench:read >/dev/null
    gh grant --client "$CLIENT_ID" --api bench-policy --scope bench:read >/dev/null
    gh grant --client "$CLIENT_ID" --api bench-cached --scope bench:read >/dev/null
    TOKEN_POLICY=$(token "$BASIC" bench-policy) || die "token request failed"
    TOKEN_CACHED=$(token "$BASIC" bench-cached) || die "token request failed"
    # A caller of a tenant the policy refuses, with the same roles and scope.
    gh client create --name bench-other --claim tenant=initech --claim 'roles=["bench.reader","support"]' \
        >"$WORK/other.json"
    OTHER_ID=$(jq -er .client_id "$WORK/other.json")
    OTHER_SECRET=$(jq -er .client_secret "$WORK/other.json")
    for api in bench-jwt bench-policy bench-cached; do
        gh grant --client "$OTHER_ID" --api "$api" --scope bench:read >/dev/null
    done
    OTHER_BASIC="Authorization: Basic $(printf '%s:%s' "$OTHER_ID" "$OTHER_SECRET" | base64 -w0)"
    # Attach the policy with the admin API: PUT /admin/v1/apis/{api}/policy.
    ADMIN_TOKEN=$(cat "$DATA/admin-token")
    for pair in bench-policy:none bench-cached:per_caller; do
        api=${pair%%:*} caching=${pair##*:}
        jq -n --rawfile rego "$POLICY_FILE" --arg caching "$caching" --slurpfile data "${POLICY_DATA:-/dev/null}" \
            '{module: $rego, caching: $caching} + (if $data == [] then {} else {data: $data[0]} end)' \
            >"$WORK/policy-$api.json"
        code=$(curl -sS -o "$WORK/policy-$api.out" -w '%{http_code}' -X PUT \
            -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
            --data-binary @"$WORK/policy-$api.json" "$URL/admin/v1/apis/$api/policy")
        [[ $code == 200 || $code == 201 ]] || die "PUT policy on $api: $code $(cat "$WORK/policy-$api.out")"
        log "policy on $api: $(jq -c '{id, version, caching}' "$WORK/policy-$api.out" 2>/dev/null)"
    done
fi

# API keys: only if the CLI has the command by now (not needed for the policy comparison).
API_KEY=""
if [[ $SUITE == policy ]]; then
    :
elif "$BIN" client --help 2>/dev/null | grep -qE '^\s+api-key\b'; then
    gh client api-key create "$CLIENT_ID" >"$WORK/api-key.json" || die "api-key create failed"
    API_KEY=$(jq -er '.api_key' "$WORK/api-key.json") \
        || die "no key in $(cat "$WORK/api-key.json")"
    API_KEY_HEADER=X-API-Key
else
    log "gatehouse has no 'client api-key' command yet: skipping the API-key scenario"
fi

# nginx: the committed config with our two addresses, in a private prefix.
if [[ $SUITE == default ]]; then
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NGINX_PREFIX=$WORK/nginx
mkdir -p "$NGINX_PREFIX/tmp"
sed -e "s/@LISTEN@/127.0.0.1:$NGINX_PORT/" -e "s/@UPSTREAM@/$UPSTREAM_ADDR/" \
    "$ROOT/bench/nginx/proxy.conf" >"$NGINX_PREFIX/proxy.conf"
"$NGINX" -e stderr -p "$NGINX_PREFIX" -c "$NGINX_PREFIX/proxy.conf" >"$WORK/nginx.out" 2>"$WORK/nginx.err" &
PIDS+=($!)
NGINX_URL=http://127.0.0.1:$NGINX_PORT
for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/x") == 200 ]] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$WORK/nginx.err" >&2; die "nginx exited"; }
    sleep 0.1
done
log "nginx pid ${PIDS[-1]} at $NGINX_URL"
fi

# --- (d) every scenario must answer as expected before any load --------------------------------
declare -A TARGET HDR WANT
TARGET[direct]=$UPSTREAM/jwt/hello;          WANT[direct]=200
TARGET[gateway_jwt]=$GATEWAY/jwt/hello;      WANT[gateway_jwt]=200; HDR[gateway_jwt]="Authorization: Bearer $TOKEN"
TARGET[nginx]=${NGINX_URL:-}/jwt/hello;      WANT[nginx]=200
TARGET[gateway_404]=$GATEWAY/no-such-route;  WANT[gateway_404]=404
TARGET[gateway_open]=$GATEWAY/open/hello;    WANT[gateway_open]=200
if [[ $SUITE == policy ]]; then
    TARGET[gateway_jwt_policy]=$GATEWAY/pol/hello; WANT[gateway_jwt_policy]=200
    HDR[gateway_jwt_policy]="Authorization: Bearer $TOKEN_POLICY"
    TARGET[gateway_jwt_policy_cached]=$GATEWAY/pca/hello; WANT[gateway_jwt_policy_cached]=200
    HDR[gateway_jwt_policy_cached]="Authorization: Bearer $TOKEN_CACHED"
    SCENARIOS=(gateway_jwt gateway_jwt_policy gateway_jwt_policy_cached)
else
    SCENARIOS=(direct gateway_jwt gateway_open)
    if [[ -n $API_KEY ]]; then
        TARGET[gateway_key]=$GATEWAY/key/hello; WANT[gateway_key]=200; HDR[gateway_key]="$API_KEY_HEADER: $API_KEY"
        SCENARIOS+=(gateway_key)
    fi
    SCENARIOS+=(nginx gateway_404)
fi
hdr_args() { [[ -n ${HDR[$1]:-} ]] && printf '%s\0%s\0' -H "${HDR[$1]}"; return 0; }
if [[ $SUITE == policy ]]; then
    # The policies reach the gateway with the next catalog: wait until the refused tenant is
    # refused on both policy APIs (and still let through where there is no policy).
    for pair in gateway_jwt:bench-jwt:200 gateway_jwt_policy:bench-policy:403 gateway_jwt_policy_cached:bench-cached:403; do
        IFS=: read -r s api want <<<"$pair"
        other=$(token "$OTHER_BASIC" "$api") || die "token request failed"
        code=""
        for _ in $(seq 100); do
            code=$(curl -s -o "$WORK/deny-$s.body" -w '%{http_code}' -H "Authorization: Bearer $other" "${TARGET[$s]}")
            [[ $code == "$want" ]] && break
            sleep 0.1
        done
        [[ $code == "$want" ]] || die "$s: the refused tenant got $code, want $want: $(cat "$WORK/deny-$s.body")"
        log "$s: tenant initech gets $code $(head -c 200 "$WORK/deny-$s.body")"
    done
fi
for s in "${SCENARIOS[@]}"; do
    mapfile -d '' H < <(hdr_args "$s")
    code=$(curl -s -o "$WORK/check-$s.body" -w '%{http_code}' "${H[@]}" "${TARGET[$s]}")
    [[ $code == "${WANT[$s]}" ]] || die "$s: ${TARGET[$s]} answered $code, want ${WANT[$s]}: $(cat "$WORK/check-$s.body")"
done
# The gateway must not answer 429 at this rate limit, and must forward the verified identity:
# the backend ignores headers, so check one round trip carries the right body.
grep -q '"ok":true' "$WORK/check-gateway_jwt.body" || die "gateway did not forward to the backend"

# user+system CPU seconds of a process so far (fields 14–15 of /proc/PID/stat, 1/100 s).
cpu_of() { awk '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / 100 }' "/proc/$1/stat"; }

sleep 2
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- (e) load: per scenario a warm-up, then RUNS closed-loop runs at CONCURRENCY --------------
if [[ $SUITE == policy ]]; then
    # Rounds: every scenario once per round, in the same order, with gatehouse's CPU time and
    # the load average around each run.
    for s in "${SCENARIOS[@]}"; do
        mapfile -d '' H < <(hdr_args "$s")
        log "$s: warm-up $WARMUP"
        timeout 60 oha -z "$WARMUP" "${OHA_FLAGS[@]}" "${H[@]}" "${TARGET[$s]}" >/dev/null
    done
    for i in $(seq "$RUNS"); do
        for s in "${SCENARIOS[@]}"; do
            mapfile -d '' H < <(hdr_args "$s")
            log "round $i/$RUNS, $s: $DURATION at concurrency $CONCURRENCY"
            cpu0=$(cpu_of "$SERVER_PID")
            timeout 120 oha -z "$DURATION" "${OHA_FLAGS[@]}" "${H[@]}" "${TARGET[$s]}" >"$WORK/$s-$i.json"
            printf '{"cpu_s": %s, "loadavg": "%s"}\n' "$(awk -v a="$cpu0" -v b="$(cpu_of "$SERVER_PID")" 'BEGIN { printf "%.2f", b - a }')" \
                "$(cut -d' ' -f1-3 /proc/loadavg)" >"$WORK/$s-$i.cpu.json"
        done
    done
    # What the gateway counted: decisions by outcome and cache hit, and evaluation time.
    curl -s "$URL/metrics" >"$WORK/metrics.txt" || true
    [[ -s $WORK/metrics.txt ]] || curl -s "$GATEWAY/metrics" >"$WORK/metrics.txt" || true
else
    for s in "${SCENARIOS[@]}"; do
        mapfile -d '' H < <(hdr_args "$s")
        log "$s: warm-up $WARMUP"
        timeout 60 oha -z "$WARMUP" "${OHA_FLAGS[@]}" "${H[@]}" "${TARGET[$s]}" >/dev/null
        for i in $(seq "$RUNS"); do
            log "$s run $i/$RUNS: $DURATION at concurrency $CONCURRENCY"
            timeout 120 oha -z "$DURATION" "${OHA_FLAGS[@]}" "${H[@]}" "${TARGET[$s]}" >"$WORK/$s-$i.json"
        done
    done
fi

# --- (f) fixed rate: half the gateway's peak, direct vs gateway --------------------------------
if [[ $SUITE == default ]]; then
if [[ -z ${FIXED_RATE:-} ]]; then
    FIXED_RATE=$(python3 - "$WORK" "$RUNS" <<'EOF'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rates = [json.load(open(f"{work}/gateway_jwt-{i}.json"))["summary"]["requestsPerSec"] for i in range(1, runs + 1)]
print(int(statistics.median(rates) / 2))
EOF
)
fi
for s in direct gateway_jwt; do
    mapfile -d '' H < <(hdr_args "$s")
    for i in $(seq "$RUNS"); do
        log "$s at $FIXED_RATE req/s, run $i/$RUNS: $DURATION at concurrency $CONCURRENCY"
        timeout 120 oha -z "$DURATION" -q "$FIXED_RATE" "${RATE_FLAGS[@]}" "${OHA_FLAGS[@]}" "${H[@]}" \
            "${TARGET[$s]}" >"$WORK/rate_$s-$i.json"
    done
done
fi
LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
SERVER_RSS_KB=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$SERVER_PID/status")

# --- (g) stop what we started, then the summary -------------------------------------------------
for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
PIDS=()

if [[ $SUITE == policy && -z ${SKIP_CRITERION:-} ]]; then
    # One core, nothing else of ours running: what one decision costs (crates/policy/benches).
    export CRITERION_LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    log "criterion: gatehouse-policy decision (load average $CRITERION_LOADAVG_BEFORE)"
    timeout 900 cargo bench -q -p gatehouse-policy --bench decision --target-dir "$TARGET_DIR" -- \
        --warm-up-time 2 --measurement-time 5 >"$WORK/criterion.txt" 2>&1 \
        || { cat "$WORK/criterion.txt" >&2; die "cargo bench failed"; }
    export CRITERION_LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
fi

mkdir -p "$RESULTS_DIR"
export WORK RUNS DURATION CONCURRENCY WARMUP STAMP RESULTS_DIR RESULT_NAME ROOT TARGET_DIR \
    FIXED_RATE LOADAVG_BEFORE LOADAVG_AFTER SERVER_RSS_KB
export SCENARIO_LIST="${SCENARIOS[*]}"
export API_KEY_SKIPPED=$([[ -n $API_KEY ]] && echo 0 || echo 1)
export GATEWAY_WORKERS=${GATEWAY_WORKERS:-default}
export OHA_VERSION=$(oha --version | head -n1)
export RUSTC_VERSION=$(rustc --version)
export GIT_REV
export GIT_REV_AFTER=$(git_rev)
export CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
if [[ $SUITE == policy ]]; then
    export POLICY_FILE POLICY_DATA=${POLICY_DATA:-} SKIP_CRITERION=${SKIP_CRITERION:-}
    python3 "$ROOT/bench/summarize_policy.py"
else
    export NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
    python3 "$ROOT/bench/summarize_gateway.py"
fi
