#!/usr/bin/env python3
"""Turns the raw output of bench/token_load.sh into bench/results/<date>-token.{json,md}.

Reads oha's `--output-format json` files and criterion's estimates from the directories named in
the environment (set by token_load.sh); standard library only. Not meant to be run by hand.
"""
import json
import os
import pathlib
import re
import statistics

ENV = os.environ
WORK = pathlib.Path(ENV["WORK"])
ROOT = pathlib.Path(ENV["ROOT"])
RUNS = int(ENV["RUNS"])
TARGET_TOKENS_PER_S = 15_000
TARGET_P99_MS = 5.0
TARGET_IDLE_RSS_MB = 30.0


def oha_run(path: pathlib.Path) -> dict:
    """One oha run: successful (HTTP 200) responses per second, latency, errors."""
    raw = json.loads(path.read_text())
    summary = raw["summary"]
    codes = {int(k): v for k, v in (raw.get("statusCodeDistribution") or {}).items()}
    transport_errors = sum((raw.get("errorDistribution") or {}).values())
    pct = raw.get("latencyPercentiles") or {}
    ok = codes.get(200, 0)
    return {
        "duration_s": round(summary["total"], 3),
        "ok_responses": ok,
        "ok_per_s": round(ok / summary["total"], 1),
        "requests_per_s": round(summary["requestsPerSec"], 1),
        "p50_ms": round((pct.get("p50") or 0) * 1000, 3),
        "p99_ms": round((pct.get("p99") or 0) * 1000, 3),
        "non_200": sum(v for k, v in codes.items() if k != 200),
        "transport_errors": transport_errors,
        "errors": sum(v for k, v in codes.items() if k != 200) + transport_errors,
        "status_codes": {str(k): v for k, v in sorted(codes.items())},
        "error_kinds": raw.get("errorDistribution") or {},
    }


def medians(runs: list) -> dict:
    return {
        "ok_per_s": statistics.median(r["ok_per_s"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "errors": statistics.median(r["errors"] for r in runs),
        "errors_total": sum(r["errors"] for r in runs),
    }


def criterion_ns(name: str) -> float | None:
    """Median time per iteration in ns: criterion's estimates.json, else its text output."""
    target = pathlib.Path(ENV.get("CARGO_TARGET_DIR") or ROOT / "target")
    est = target / "criterion" / name / "new" / "estimates.json"
    if est.exists():
        return json.loads(est.read_text())["median"]["point_estimate"]
    text = (WORK / "criterion.txt").read_text()
    units = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
    m = re.search(re.escape(name) + r"\s+time:\s+\[\S+ \S+ (\S+) (\S+)", text)
    return float(m.group(1)) * units[m.group(2)] if m else None


def mb(kb: str) -> float:
    return round(int(kb) / 1024, 1)


def main() -> None:
    token_runs = [oha_run(WORK / f"token-{i}.json") for i in range(1, RUNS + 1)]
    health_runs = [oha_run(WORK / f"healthz-{i}.json") for i in range(1, RUNS + 1)]
    tok, health = medians(token_runs), medians(health_runs)
    mint_ns = criterion_ns("mint_at_jwt/ES256")
    raw_ns = criterion_ns("raw_es256_sign_32_bytes")
    mint_rate = round(1e9 / mint_ns) if mint_ns else None
    raw_rate = round(1e9 / raw_ns) if raw_ns else None
    idle_mb = mb(ENV["RSS_IDLE_KB"])
    result = {
        "date": ENV["STAMP"],
        "git_rev": ENV["GIT_REV"],
        "settings": {"runs": RUNS, "duration": ENV["DURATION"], "concurrency": int(ENV["CONCURRENCY"]),
                     "warmup": ENV["WARMUP"], "oha": ENV["OHA_VERSION"], "rustc": ENV["RUSTC_VERSION"],
                     "cpu": ENV["CPU_MODEL"], "cores": os.cpu_count(),
                     "loadavg_before": ENV["LOADAVG_BEFORE"], "loadavg_after": ENV["LOADAVG_AFTER"]},
        "token": {"median": tok, "runs": token_runs},
        "healthz": {"median": health, "runs": health_runs},
        "tokens_per_healthz": round(tok["ok_per_s"] / health["ok_per_s"], 3) if health["ok_per_s"] else None,
        "es256": {"mint_at_jwt_per_s_one_core": mint_rate, "raw_sign_per_s_one_core": raw_rate},
        "tokens_per_raw_sign": round(tok["ok_per_s"] / raw_rate, 3) if raw_rate else None,
        "rss_mb": {"after_start": mb(ENV["RSS_START_KB"]), "idle_before_load": idle_mb,
                   "after_load": mb(ENV["RSS_AFTER_KB"]), "peak": mb(ENV["RSS_PEAK_KB"])},
        "targets": {
            "tokens_per_s": {"target": TARGET_TOKENS_PER_S, "met": tok["ok_per_s"] >= TARGET_TOKENS_PER_S},
            "p99_ms": {"target": TARGET_P99_MS, "met": tok["p99_ms"] <= TARGET_P99_MS},
            "idle_rss_mb": {"target": TARGET_IDLE_RSS_MB, "met": idle_mb <= TARGET_IDLE_RSS_MB},
            "no_errors": {"target": 0, "met": tok["errors_total"] == 0},
        },
    }
    out = pathlib.Path(ENV["RESULTS_DIR"]) / f"{ENV['STAMP']}-token"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(out.with_suffix(".md").read_text())


def markdown(r: dict) -> str:
    s, tok, health = r["settings"], r["token"], r["healthz"]
    ok = lambda met: "met" if met else "**NOT met**"  # noqa: E731
    t = r["targets"]
    lines = [
        f"# Token endpoint load: {r['date']} (rev {r['git_rev']})",
        "",
        f"`bench/token_load.sh`: {s['runs']} × {s['duration']} at concurrency {s['concurrency']} after a "
        f"{s['warmup']} warm-up, client_secret_basic + `resource`, ES256 tokens, oha and server on the "
        f"same {s['cores']}-core box ({s['cpu']}). {s['oha']}; {s['rustc']}. "
        f"Load average before/after: {s['loadavg_before']} / {s['loadavg_after']}.",
        "",
        "| | " + " | ".join(f"run {i + 1}" for i in range(s["runs"])) + " | median | target |",
        "|---" * (s["runs"] + 3) + "|",
        row("tokens/s (200s only)", tok, "ok_per_s", "{:,.0f}", f"≥ {TARGET_TOKENS_PER_S:,}"),
        row("p50 ms", tok, "p50_ms", "{:.2f}", ""),
        row("p99 ms", tok, "p99_ms", "{:.2f}", f"≤ {TARGET_P99_MS:g}"),
        row("errors", tok, "errors", "{:,.0f}", "0"),
        row("GET /healthz req/s", health, "ok_per_s", "{:,.0f}", ""),
        row("GET /healthz p99 ms", health, "p99_ms", "{:.2f}", ""),
        "",
        "| the box's limits and memory | value |",
        "|---|---|",
        f"| tokens/s ÷ /healthz req/s | {fmt(r['tokens_per_healthz'], '{:.3f}')} |",
        f"| ES256 at+jwt mint, one core (criterion median) | {fmt(r['es256']['mint_at_jwt_per_s_one_core'], '{:,}')}/s |",
        f"| raw ES256 sign of 32 bytes, one core | {fmt(r['es256']['raw_sign_per_s_one_core'], '{:,}')}/s |",
        f"| tokens/s ÷ raw ES256 sign rate (one core) | {fmt(r['tokens_per_raw_sign'], '{:.3f}')} |",
        f"| RSS after start / idle before load / after load / peak | {r['rss_mb']['after_start']} / "
        f"{r['rss_mb']['idle_before_load']} / {r['rss_mb']['after_load']} / {r['rss_mb']['peak']} MB |",
        "",
        "Targets (issue 2): "
        f"tokens/s ≥ {TARGET_TOKENS_PER_S:,}: {ok(t['tokens_per_s']['met'])}; "
        f"p99 ≤ {TARGET_P99_MS:g} ms: {ok(t['p99_ms']['met'])}; "
        f"idle RSS ≤ {TARGET_IDLE_RSS_MB:g} MB: {ok(t['idle_rss_mb']['met'])}; "
        f"no errors: {ok(t['no_errors']['met'])}.",
        "",
        "The trivial handler is gatehouse's own `GET /healthz` (same binary, runtime and middleware, "
        "a handler returning `ok`): the most this box serves through this stack with oha beside it.",
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


def row(label: str, block: dict, key: str, spec: str, target: str) -> str:
    cells = [spec.format(run[key]) for run in block["runs"]]
    return f"| {label} | " + " | ".join(cells) + f" | **{spec.format(block['median'][key])}** | {target} |"


def fmt(value, spec: str) -> str:
    return "n/a" if value is None else spec.format(value)


if __name__ == "__main__":
    main()
