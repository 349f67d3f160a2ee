#!/usr/bin/env bash
# Token agent load benchmark (not run in CI). See bench/README.md.
#
#   bench/agent_load.sh                 # build, run, write bench/results/<date>-agent.{md,json}
#   SKIP_BUILD=1 CARGO_TARGET_DIR=... bench/agent_load.sh
#
# Tunables: RUNS=3 DURATION=10s CONCURRENCY=32
#
# In one run, alternating: oha → `gatehouse agent` GET /v1/token (a cached token: the agent's
# hot path) and oha → the trivial bench upstream (bench/upstream), so the ratio is measured on
# the same machine at the same moment. Everything stays on 127.0.0.1; only PIDs the script
# started are stopped; every oha run is bounded by -z.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-32}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/gatehouse
UPSTREAM_TARGET=$ROOT/target/bench-upstream
UPSTREAM_BIN=$UPSTREAM_TARGET/release/bench-upstream
STAMP=$(date -u +%Y-%m-%d)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-agentbench.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_line() {
    local pid=$1 file=$2 sed_expr=$3 what=$4 out=""
    for _ in $(seq 600); do
        out=$(sed -n "$sed_expr" "$file" | head -n1)
        [[ -n $out ]] && { printf '%s\n' "$out"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$file" >&2; die "$what exited"; }
        sleep 0.1
    done
    die "$what did not start within 60 s"
}

cd "$ROOT"
GIT_REV=$(git rev-parse --short HEAD)
if [[ -z ${SKIP_BUILD:-} ]]; then
    log "building the release binary and the bench upstream"
    timeout 3600 cargo build --release -p gatehouse
    timeout 1800 cargo build --release --manifest-path bench/upstream/Cargo.toml --target-dir "$UPSTREAM_TARGET"
fi
[[ -x $BIN && -x $UPSTREAM_BIN ]] || die "binaries missing: run without SKIP_BUILD"
for tool in oha curl jq python3; do command -v "$tool" >/dev/null || die "$tool not found"; done
OHA_FLAGS=(-c "$CONCURRENCY" --no-tui --output-format json)
if oha --help | grep -q -- '--wait-ongoing-requests-after-deadline'; then
    OHA_FLAGS+=(--wait-ongoing-requests-after-deadline)
fi

"$UPSTREAM_BIN" >"$WORK/upstream.out" 2>&1 &
PIDS+=($!)
UPSTREAM=http://$(wait_for_line "${PIDS[-1]}" "$WORK/upstream.out" 's/^listening on \([0-9.:]*\)$/\1/p' upstream)

DATA=$WORK/data
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" >"$WORK/server.out" 2>&1 &
PIDS+=($!)
URL=$(wait_for_line "${PIDS[-1]}" "$WORK/server.out" 's/^gatehouse serving on \(http:\/\/[^ ]*\).*/\1/p' gatehouse)
gh() { "$BIN" --server "$URL" --admin-token-file "$DATA/admin-token" --json "$@"; }
gh api create --name orders --audience https://orders.example --scope orders:read >/dev/null
gh client create --name bench-workload >"$WORK/client.json"
CLIENT_ID=$(jq -er .client_id "$WORK/client.json")
jq -er .client_secret "$WORK/client.json" >"$WORK/secret"
chmod 600 "$WORK/secret"
gh grant --client "$CLIENT_ID" --api orders --scope orders:read >/dev/null

cat >"$WORK/agent.toml" <<TOML
[agent]
listen = "127.0.0.1:0"
token_endpoint = "$URL/oauth2/token"
client_id = "$CLIENT_ID"
client_secret_file = "$WORK/secret"
env_file = "$WORK/identity.env"
TOML
"$BIN" agent --config "$WORK/agent.toml" >"$WORK/agent.out" 2>&1 &
PIDS+=($!)
AGENT=$(wait_for_line "${PIDS[-1]}" "$WORK/agent.out" 's/^gatehouse agent listening on \(http:\/\/[^ ]*\).*/\1/p' agent)
HEADER=$(sed -n 's/^IDENTITY_HEADER=//p' "$WORK/identity.env")
TARGET_URL="$AGENT/v1/token?audience=https://orders.example"
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-IDENTITY-HEADER: $HEADER" "$TARGET_URL") == 200 ]] \
    || die "the agent does not answer"

run() { # name url [header]
    local name=$1 url=$2 out=$WORK/$1-$3.json
    if [[ -n ${4:-} ]]; then
        timeout 120 oha -z "$DURATION" "${OHA_FLAGS[@]}" -H "$4" "$url" >"$out"
    else
        timeout 120 oha -z "$DURATION" "${OHA_FLAGS[@]}" "$url" >"$out"
    fi
    jq -r --arg n "$name" '"\($n) \(.summary.requestsPerSec) \(.summary.successRate) \(.latencyPercentiles.p50) \(.latencyPercentiles.p99)"' "$out"
}
log "warm-up"
timeout 60 oha -z 2s "${OHA_FLAGS[@]}" -H "X-IDENTITY-HEADER: $HEADER" "$TARGET_URL" >/dev/null
: >"$WORK/results.txt"
for i in $(seq "$RUNS"); do
    log "run $i/$RUNS"
    run agent "$TARGET_URL" "$i" "X-IDENTITY-HEADER: $HEADER" >>"$WORK/results.txt"
    run trivial "$UPSTREAM/hello" "$i" >>"$WORK/results.txt"
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$RESULTS_DIR"
python3 - "$WORK/results.txt" "$RESULTS_DIR/$STAMP-agent" "$GIT_REV" "$RUNS" "$DURATION" "$CONCURRENCY" "$LOAD" <<'PY'
import json, statistics, sys
path, out, rev, runs, duration, conc, load = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
by = {}
for name, rps, ok, p50, p99 in rows:
    by.setdefault(name, []).append((float(rps), float(ok), float(p50) * 1000, float(p99) * 1000))
med = {n: {"rps": statistics.median(r[0] for r in v), "success": min(r[1] for r in v),
           "p50_ms": statistics.median(r[2] for r in v), "p99_ms": statistics.median(r[3] for r in v),
           "runs_rps": [round(r[0]) for r in v]} for n, v in by.items()}
ratio = med["agent"]["rps"] / med["trivial"]["rps"]
json.dump({"rev": rev, "runs": int(runs), "duration": duration, "concurrency": int(conc),
           "loadavg_after": load, "scenarios": med, "agent_over_trivial": ratio},
          open(out + ".json", "w"), indent=2)
with open(out + ".md", "w") as f:
    f.write(f"# Token agent: cached token requests/s ({rev})\n\n")
    f.write(f"`bench/agent_load.sh`: oha -c {conc} -z {duration}, keep-alive, {runs} runs alternating, medians; "
            f"2-core machine, load average after the run {load}.\n\n")
    f.write("| scenario | req/s (median) | runs | success | p50 ms | p99 ms |\n|---|---|---|---|---|---|\n")
    for n in ("agent", "trivial"):
        m = med[n]
        f.write(f"| {n} | {m['rps']:.0f} | {m['runs_rps']} | {m['success']:.4f} | {m['p50_ms']:.3f} | {m['p99_ms']:.3f} |\n")
    f.write(f"\nagent / trivial handler: **{ratio:.3f}** (target: agent ≥ 30,000 req/s).\n\n")
    f.write("`agent` = `GET /v1/token?audience=…` with `X-IDENTITY-HEADER` on `gatehouse agent` (cached token: "
            "guard, secret check, cache lookup, JSON); `trivial` = the bench upstream's `GET /hello` (hyper, fixed body).\n")
print(open(out + ".md").read())
PY
