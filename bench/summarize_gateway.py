#!/usr/bin/env python3
"""Turns the raw output of bench/gateway_load.sh into bench/results/<date>-gateway.{json,md}.

Reads oha's `--output-format json` files from the directory named in the environment (set by
gateway_load.sh); standard library only. Not meant to be run by hand.
"""
import json
import os
import pathlib
import statistics

ENV = os.environ
WORK = pathlib.Path(ENV["WORK"])
RUNS = int(ENV["RUNS"])
SCENARIOS = ENV["SCENARIO_LIST"].split()
P99_BUDGET_MS = 1.0  # gateway p99 ≤ direct p99 + 1 ms at half the gateway's peak
NGINX_RATIO_TARGET = 1.0  # JWT + scopes + rate limit ≥ nginx plain proxy
NO_AUTH_RATIO_TARGET = 0.9  # … and ≥ 0.9 × the same gateway without auth (a public operation)

LABELS = {
    "direct": "direct to the backend",
    "gateway_jwt": "gateway: JWT + scopes + rate limit",
    "gateway_key": "gateway: API key + scopes + rate limit",
    "gateway_open": "gateway: public operation (no auth), forwarded",
    "nginx": "nginx plain proxy_pass",
    "gateway_404": "gateway: unrouted path (404, no auth, no forward)",
}
EXPECTED = {"gateway_404": 404}


def oha_run(path: pathlib.Path, expected: int) -> dict:
    """One oha run: expected-status responses per second, latency, errors."""
    raw = json.loads(path.read_text())
    summary = raw["summary"]
    codes = {int(k): v for k, v in (raw.get("statusCodeDistribution") or {}).items()}
    transport_errors = sum((raw.get("errorDistribution") or {}).values())
    pct = raw.get("latencyPercentiles") or {}
    ok = codes.get(expected, 0)
    unexpected = sum(v for k, v in codes.items() if k != expected)
    return {
        "duration_s": round(summary["total"], 3),
        "ok_responses": ok,
        "ok_per_s": round(ok / summary["total"], 1),
        "p50_ms": round((pct.get("p50") or 0) * 1000, 3),
        "p99_ms": round((pct.get("p99") or 0) * 1000, 3),
        "errors": unexpected + transport_errors,
        "status_codes": {str(k): v for k, v in sorted(codes.items())},
        "error_kinds": raw.get("errorDistribution") or {},
    }


def block(prefix: str, expected: int) -> dict:
    runs = [oha_run(WORK / f"{prefix}-{i}.json", expected) for i in range(1, RUNS + 1)]
    return {
        "median": {
            "ok_per_s": statistics.median(r["ok_per_s"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "errors_total": sum(r["errors"] for r in runs),
        },
        "runs": runs,
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def main() -> None:
    sc = {s: block(s, EXPECTED.get(s, 200)) for s in SCENARIOS}
    rate = {s: block(f"rate_{s}", 200) for s in ("direct", "gateway_jwt")}
    rps = {s: sc[s]["median"]["ok_per_s"] for s in SCENARIOS}
    jwt = rps["gateway_jwt"]
    ratios = {
        "gateway_jwt/direct": ratio(jwt, rps["direct"]),
        "gateway_jwt/nginx": ratio(jwt, rps["nginx"]),
        "nginx/direct": ratio(rps["nginx"], rps["direct"]),
        "gateway_jwt/gateway_404": ratio(jwt, rps["gateway_404"]) if "gateway_404" in rps else None,
        "gateway_jwt/gateway_open": ratio(jwt, rps["gateway_open"]) if "gateway_open" in rps else None,
        "gateway_open/nginx": ratio(rps["gateway_open"], rps["nginx"]) if "gateway_open" in rps else None,
    }
    if "gateway_key" in rps:
        ratios["gateway_key/direct"] = ratio(rps["gateway_key"], rps["direct"])
        ratios["gateway_key/nginx"] = ratio(rps["gateway_key"], rps["nginx"])
        ratios["gateway_key/gateway_jwt"] = ratio(rps["gateway_key"], jwt)
    p99_direct = rate["direct"]["median"]["p99_ms"]
    p99_gw = rate["gateway_jwt"]["median"]["p99_ms"]
    errors = sum(b["median"]["errors_total"] for b in [*sc.values(), *rate.values()])
    result = {
        "date": ENV["STAMP"],
        "git_rev": ENV["GIT_REV"],
        "git_rev_after": ENV.get("GIT_REV_AFTER", ENV["GIT_REV"]),
        "settings": {"gateway_workers": ENV.get("GATEWAY_WORKERS", "default"), "runs": RUNS, "duration": ENV["DURATION"], "concurrency": int(ENV["CONCURRENCY"]),
                     "warmup": ENV["WARMUP"], "fixed_rate_per_s": int(ENV["FIXED_RATE"]),
                     "oha": ENV["OHA_VERSION"], "rustc": ENV["RUSTC_VERSION"], "nginx": ENV["NGINX_VERSION"],
                     "cpu": ENV["CPU_MODEL"], "cores": os.cpu_count(),
                     "loadavg_before": ENV["LOADAVG_BEFORE"], "loadavg_after": ENV["LOADAVG_AFTER"]},
        "scenarios": sc,
        "fixed_rate": rate,
        "ratios": ratios,
        "gatehouse_peak_rss_mb": round(int(ENV["SERVER_RSS_KB"]) / 1024, 1),
        "not_measured": {
            **({"gateway_no_auth": "this run has no public-operation scenario"}
               if "gateway_open" not in rps else {}),
            **({"gateway_key": "gatehouse has no `client api-key create` command yet"}
               if ENV["API_KEY_SKIPPED"] == "1" else {}),
        },
        "targets": {
            "jwt_vs_nginx": {"target": f"≥ {NGINX_RATIO_TARGET}×", "value": ratios["gateway_jwt/nginx"],
                             "met": (ratios["gateway_jwt/nginx"] or 0) >= NGINX_RATIO_TARGET},
            "jwt_vs_no_auth": {"target": f"≥ {NO_AUTH_RATIO_TARGET}×",
                               "value": ratios["gateway_jwt/gateway_open"],
                               "met": None if ratios["gateway_jwt/gateway_open"] is None
                               else ratios["gateway_jwt/gateway_open"] >= NO_AUTH_RATIO_TARGET},
            "p99_at_half_peak": {"target": f"gateway p99 ≤ direct p99 + {P99_BUDGET_MS:g} ms",
                                 "value_ms": round(p99_gw - p99_direct, 3),
                                 "met": p99_gw <= p99_direct + P99_BUDGET_MS},
            "no_errors": {"target": 0, "value": errors, "met": errors == 0},
        },
    }
    out = pathlib.Path(ENV["RESULTS_DIR"]) / ENV.get("RESULT_NAME", f"{ENV['STAMP']}-gateway")
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(out.with_suffix(".md").read_text())


def markdown(r: dict) -> str:
    s, sc, rate, q, t = r["settings"], r["scenarios"], r["fixed_rate"], r["ratios"], r["targets"]
    ok = lambda met: "n/a" if met is None else ("met" if met else "**NOT met**")  # noqa: E731

    def line(name: str, b: dict) -> str:
        m = b["median"]
        per_run = " / ".join(f"{x['ok_per_s']:,.0f}" for x in b["runs"])
        return (f"| {LABELS.get(name, name)} | **{m['ok_per_s']:,.0f}** | {per_run} | {m['p50_ms']:.2f} | "
                f"{m['p99_ms']:.2f} | {m['errors_total']:,} |")

    lines = [
        f"# Gateway load: {r['date']} (rev {r['git_rev']})",
        "",
        *([f"The tree changed during the run: built from {r['git_rev']}, {r['git_rev_after']} at the end.", ""]
          if r.get("git_rev_after", r["git_rev"]) != r["git_rev"] else []),
        f"`bench/gateway_load.sh`: per scenario a {s['warmup']} warm-up, then {s['runs']} × {s['duration']} "
        f"at concurrency {s['concurrency']} (oha, closed loop, HTTP/1.1 keep-alive), `GET` of a 12-byte JSON "
        f"body from `bench/upstream` (hyper). oha, backend, gatehouse and nginx share the same "
        f"{s['cores']}-core box ({s['cpu']}). {s['oha']}; {s['rustc']}; {s['nginx']}. "
        f"Load average before/after: {s['loadavg_before']} / {s['loadavg_after']}. "
        f"Gateway workers: {s.get('gateway_workers', 'default')}.",
        "",
        "| scenario | req/s (median) | req/s per run | p50 ms | p99 ms | errors (all runs) |",
        "|---|---|---|---|---|---|",
        *[line(name, b) for name, b in sc.items()],
        "",
        f"At a fixed rate of **{s['fixed_rate_per_s']:,} req/s** (half the gateway's JWT peak; `oha -q`, "
        f"latency corrected for coordinated omission), {s['runs']} × {s['duration']}:",
        "",
        "| scenario | achieved req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|",
        *[f"| {LABELS[name]} | {b['median']['ok_per_s']:,.0f} | {b['median']['p50_ms']:.2f} | "
          f"**{b['median']['p99_ms']:.2f}** | {b['median']['errors_total']:,} |" for name, b in rate.items()],
        "",
        "| ratio (median req/s) | value |",
        "|---|---|",
        *[f"| {k} | {'n/a' if v is None else f'{v:.3f}'} |" for k, v in q.items()],
        "",
        "Targets:",
        "",
        f"- gateway JWT + scopes + rate limit ≥ nginx plain proxy: {q['gateway_jwt/nginx']:.3f}× — "
        f"{ok(t['jwt_vs_nginx']['met'])}.",
        (f"- gateway JWT + scopes + rate limit ≥ 0.9 × the same gateway without auth (public operation): "
         f"{q['gateway_jwt/gateway_open']:.3f}× — {ok(t['jwt_vs_no_auth']['met'])}."
         if q.get("gateway_jwt/gateway_open") is not None else
         "- gateway JWT + scopes + rate limit ≥ 0.9 × gateway without auth: **not measured** in this run."),
        f"- p99 at half the peak: gateway {rate['gateway_jwt']['median']['p99_ms']:.2f} ms vs direct "
        f"{rate['direct']['median']['p99_ms']:.2f} ms (+{t['p99_at_half_peak']['value_ms']:.2f} ms, budget "
        f"+1 ms) — {ok(t['p99_at_half_peak']['met'])}.",
        f"- no errors: {t['no_errors']['value']} — {ok(t['no_errors']['met'])}.",
        *([f"- API key: not measured — {r['not_measured']['gateway_key']}."]
          if "gateway_key" in r["not_measured"] else []),
        "",
        f"Gatehouse peak RSS over the run (VmHWM): {r['gatehouse_peak_rss_mb']} MB.",
        "",
        "<details><summary>JSON</summary>",
        "",
        "```json",
        json.dumps(r, indent=2),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
