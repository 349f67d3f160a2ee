#!/usr/bin/env python3
"""Turns the raw output of bench/tls_handshake.sh into bench/results/<date>-tls-handshakes.{json,md}.

Reads tls-load's JSON (plus the server CPU the script adds) from the directory named in the
environment (set by tls_handshake.sh); standard library only. Not meant to be run by hand.
"""
import json
import os
import pathlib
import statistics

ENV = os.environ
WORK = pathlib.Path(ENV["WORK"])
RUNS = int(ENV["RUNS"])
SCENARIOS = ENV["SCENARIO_LIST"].split()
HANDSHAKE_TARGET = 0.6  # full mTLS handshakes/s ≥ 0.6 × full plain-TLS handshakes/s
KEEP_ALIVE_TARGET = 0.95  # keep-alive mTLS req/s ≥ 0.95 × keep-alive plain-TLS req/s

LABELS = {
    "hs_tls": "handshake/request, TLS, public route",
    "hs_mtls": "handshake/request, mTLS, mTLS route",
    "hs_mtls_open": "handshake/request, client cert on the public route",
    "ka_tls": "keep-alive, TLS, public route",
    "ka_mtls": "keep-alive, mTLS, mTLS route",
    "ka_mtls_open": "keep-alive, client cert on the public route",
    "ka_bearer": "keep-alive, TLS, bearer route (JWT + scope + subscription)",
}
# (numerator, denominator, what it isolates)
RATIOS = [
    ("hs_mtls", "hs_tls", "full mTLS vs plain TLS handshakes (target ≥ 0.6)"),
    ("hs_mtls_open", "hs_tls", "the client certificate in the handshake alone (no cert auth)"),
    ("hs_mtls", "hs_mtls_open", "certificate auth at the mTLS route (chain check cached, mapping, grant)"),
    ("ka_mtls", "ka_tls", "keep-alive mTLS vs plain TLS (target ≥ 0.95)"),
    ("ka_mtls_open", "ka_tls", "keep-alive with a client cert on the public route"),
    ("ka_mtls", "ka_bearer", "certificate auth vs bearer auth, keep-alive"),
    ("ka_bearer", "ka_tls", "bearer auth vs none, keep-alive"),
]


def run(path: pathlib.Path) -> dict:
    raw = json.loads(path.read_text())
    ok = raw["ok"]
    srv = raw.get("server_cpu_s")
    cli = raw.get("client_cpu_s")
    up = raw.get("upstream_cpu_s")
    return {
        "elapsed_s": raw["elapsed_s"],
        "ok": ok,
        "ok_per_s": raw["requests_per_s"],
        "connections": raw["connections"],
        "p50_ms": raw["latency_ms"]["p50"],
        "p99_ms": raw["latency_ms"]["p99"],
        "handshake_p50_ms": raw["handshake_ms"]["p50"],
        "errors": raw["errors"],
        "error_kinds": raw["error_kinds"],
        "first_error": raw.get("first_error"),
        "server_cpu_s": srv,
        "client_cpu_s": cli,
        "upstream_cpu_s": up,
        "server_cpu_us_per_req": round(srv * 1e6 / ok, 1) if ok and srv is not None else None,
        "client_cpu_us_per_req": round(cli * 1e6 / ok, 1) if ok and cli is not None else None,
        "upstream_cpu_us_per_req": round(up * 1e6 / ok, 1) if ok and up is not None else None,
        "negotiated": raw.get("negotiated"),
    }


def med(runs: list, key: str):
    vals = [r[key] for r in runs if r[key] is not None]
    return round(statistics.median(vals), 3) if vals else None


def block(name: str) -> dict:
    runs = [run(WORK / f"{name}-{i}.json") for i in range(1, RUNS + 1)]
    keys = ("ok_per_s", "p50_ms", "p99_ms", "handshake_p50_ms", "server_cpu_us_per_req",
            "client_cpu_us_per_req", "upstream_cpu_us_per_req")
    m = {k: med(runs, k) for k in keys}
    m["errors_total"] = sum(r["errors"] for r in runs)
    return {"median": m, "runs": runs}


def main() -> None:
    sc = {s: block(s) for s in SCENARIOS}
    ratios = {}
    for a, b, what in RATIOS:
        if a not in sc or b not in sc:
            continue
        ma, mb = sc[a]["median"]["ok_per_s"], sc[b]["median"]["ok_per_s"]
        per_run = [round(x["ok_per_s"] / y["ok_per_s"], 3) if y["ok_per_s"] else None
                   for x, y in zip(sc[a]["runs"], sc[b]["runs"])]
        ratios[f"{a}/{b}"] = {"value": round(ma / mb, 3) if mb else None, "per_run": per_run,
                              "what": what}
    errors = sum(b["median"]["errors_total"] for b in sc.values())
    hs = ratios.get("hs_mtls/hs_tls", {}).get("value")
    ka = ratios.get("ka_mtls/ka_tls", {}).get("value")
    negotiated = next((r["negotiated"] for b in sc.values() for r in b["runs"] if r["negotiated"]), None)
    result = {
        "date": ENV["STAMP"],
        "git_rev": ENV["GIT_REV"],
        "git_rev_after": ENV.get("GIT_REV_AFTER", ENV["GIT_REV"]),
        "settings": {"runs": RUNS, "duration_s": float(ENV["DURATION"]), "concurrency": int(ENV["CONCURRENCY"]),
                     "warmup_s": float(ENV["WARMUP"]), "kx": ENV["KX"], "suite": ENV.get("SUITE", "default"), "negotiated": negotiated,
                     "rustc": ENV["RUSTC_VERSION"], "openssl": ENV["OPENSSL_VERSION"],
                     "cpu": ENV["CPU_MODEL"], "cores": os.cpu_count(),
                     "loadavg_before": ENV["LOADAVG_BEFORE"], "loadavg_after": ENV["LOADAVG_AFTER"]},
        "scenarios": sc,
        "ratios": ratios,
        "gatehouse_peak_rss_mb": round(int(ENV["SERVER_RSS_KB"]) / 1024, 1),
        "targets": {
            "mtls_handshakes": {"target": f"≥ {HANDSHAKE_TARGET}×", "value": hs,
                                "met": None if hs is None else hs >= HANDSHAKE_TARGET},
            "mtls_keep_alive": {"target": f"≥ {KEEP_ALIVE_TARGET}×", "value": ka,
                                "met": None if ka is None else ka >= KEEP_ALIVE_TARGET},
            "no_errors": {"target": 0, "value": errors, "met": errors == 0},
        },
    }
    out = pathlib.Path(ENV["RESULTS_DIR"]) / ENV.get("RESULT_NAME", f"{ENV['STAMP']}-tls-handshakes")
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(out.with_suffix(".md").read_text())


def fmt(x, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def markdown(r: dict) -> str:
    s, sc, q, t = r["settings"], r["scenarios"], r["ratios"], r["targets"]
    ok = lambda met: "not measured in this run" if met is None else ("met" if met else "**NOT met**")  # noqa: E731
    n = s.get("negotiated") or {}

    def line(name: str, b: dict) -> str:
        m = b["median"]
        per_run = " / ".join(f"{x['ok_per_s']:,.0f}" for x in b["runs"])
        return (f"| {LABELS.get(name, name)} | **{m['ok_per_s']:,.0f}** | {per_run} | {fmt(m['p50_ms'], '.2f')} | "
                f"{fmt(m['p99_ms'], '.2f')} | {fmt(m['handshake_p50_ms'], '.2f')} | "
                f"{fmt(m['server_cpu_us_per_req'], ',.0f')} | {fmt(m['client_cpu_us_per_req'], ',.0f')} | "
                f"{fmt(m['upstream_cpu_us_per_req'], ',.0f')} | "
                f"{m['errors_total']:,} |")

    lines = [
        f"# TLS vs mTLS handshakes at the gateway listener: {r['date']} (rev {r['git_rev']})",
        "",
        *([f"The tree changed during the run: built from {r['git_rev']}, {r['git_rev_after']} at the end.", ""]
          if r.get("git_rev_after", r["git_rev"]) != r["git_rev"] else []),
        f"`bench/tls_handshake.sh`: one gateway TLS listener (ECDSA P-256 server certificate, client "
        f"certificates requested) in front of `bench/upstream`; `bench/tls_load` as the client "
        f"(rustls + aws-lc-rs, HTTP/1.1, closed loop, concurrency {s['concurrency']}). Per scenario a "
        f"{s['warmup_s']:g} s warm-up, then {s['runs']} rounds of {s['duration_s']:g} s, each round running "
        f"every scenario once (side by side). *Handshake* rows open a new TCP + TLS connection per "
        f"request with session resumption disabled (`Connection: close`); *keep-alive* rows reuse one "
        f"connection per worker. Negotiated: {n.get('protocol')}, {n.get('cipher_suite')}, "
        f"key exchange {n.get('kx_group')}. Load tool, gatehouse and backend share the same "
        f"{s['cores']}-core box ({s['cpu']}). {s['rustc']}; {s['openssl']} (certificates only). "
        f"Load average before/after: {s['loadavg_before']} / {s['loadavg_after']}.",
        "",
        "| scenario | req/s (median) | req/s per run | p50 ms | p99 ms | TCP+TLS set-up p50 ms "
        "| gatehouse CPU µs/req | client CPU µs/req | backend CPU µs/req | errors (all runs) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[line(name, b) for name, b in sc.items()],
        "",
        "| ratio (median req/s) | value | per round | isolates |",
        "|---|---|---|---|",
        *[f"| {k} | **{fmt(v['value'], '.3f')}** | {' / '.join(fmt(x, '.3f') for x in v['per_run'])} | {v['what']} |"
          for k, v in q.items()],
        "",
        "Targets:",
        "",
        f"- full mTLS handshakes/s ≥ 0.6 × plain TLS handshakes/s: {fmt(t['mtls_handshakes']['value'], '.3f')}× — "
        f"{ok(t['mtls_handshakes']['met'])}.",
        f"- keep-alive mTLS req/s ≥ 0.95 × plain TLS: {fmt(t['mtls_keep_alive']['value'], '.3f')}× — "
        f"{ok(t['mtls_keep_alive']['met'])}.",
        f"- no errors: {t['no_errors']['value']} — {ok(t['no_errors']['met'])}.",
        "",
        f"Gatehouse peak RSS over the run (VmHWM): {r['gatehouse_peak_rss_mb']} MB. CPU µs/req is the "
        f"process's user + system time over the run divided by the successful requests (gatehouse and "
        f"the backend from `/proc/PID/stat`, the client from its own); what is left of 2 cores × the "
        f"run is the kernel's loopback work not charged to a process, and idle time.",
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
