#!/usr/bin/env python3
"""Turns the raw output of `SCENARIOS=policy bench/gateway_load.sh` into
bench/results/<date>-policy-gateway.{json,md}.

Reads oha's JSON per run, the CPU time and load average the script recorded around each run,
the gateway's /metrics after the load, and criterion's estimates for the `decision` bench of
crates/policy; standard library only. Not meant to be run by hand.
"""
import hashlib
import json
import os
import pathlib
import re
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from summarize_gateway import oha_run  # noqa: E402

ENV = os.environ
WORK = pathlib.Path(ENV["WORK"])
ROOT = pathlib.Path(ENV["ROOT"])
RUNS = int(ENV["RUNS"])
SCENARIOS = ENV["SCENARIO_LIST"].split()
BASE = "gateway_jwt"
POLICY_RATIO_TARGET = 0.75  # policy (evaluated per request) ≥ 0.75 × no policy
CACHED_RATIO_TARGET = 0.95  # policy cached per caller ~1 × no policy
EVALUATE_TARGET_US = 20.0  # p50 of one RBAC-on-claims decision
CRITERION = ("input_build", "evaluate", "input_and_evaluate")

LABELS = {
    "gateway_jwt": "gateway: JWT + scopes + rate limit, no policy",
    "gateway_jwt_policy": "… + RBAC policy, evaluated per request (caching none)",
    "gateway_jwt_policy_cached": "… + the same policy, cached per caller (caching per_caller)",
}


def run(s: str, i: int) -> dict:
    r = oha_run(WORK / f"{s}-{i}.json", 200)
    extra = json.loads((WORK / f"{s}-{i}.cpu.json").read_text())
    answered = sum(r["status_codes"].values())
    r["gatehouse_cpu_s"] = extra["cpu_s"]
    r["gatehouse_cpu_us_per_req"] = round(extra["cpu_s"] * 1e6 / answered, 1) if answered else None
    r["loadavg_after"] = extra["loadavg"]
    return r


def block(s: str) -> dict:
    runs = [run(s, i) for i in range(1, RUNS + 1)]
    cpu = [r["gatehouse_cpu_us_per_req"] for r in runs if r["gatehouse_cpu_us_per_req"] is not None]
    return {
        "median": {
            "ok_per_s": statistics.median(r["ok_per_s"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "gatehouse_cpu_us_per_req": statistics.median(cpu) if cpu else None,
            "errors_total": sum(r["errors"] for r in runs),
        },
        "runs": runs,
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def metrics() -> dict:
    """Policy decisions by API, outcome and cache hit; mean evaluation time (cache misses)."""
    path = WORK / "metrics.txt"
    text = path.read_text() if path.exists() else ""
    decisions = {}
    for m in re.finditer(r'^(?:\w+_)?gateway_policy_decisions(?:_total)?\{([^}]*)\} (\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        key = f"{labels.get('api')}/{labels.get('outcome')}/cached={labels.get('cached')}"
        decisions[key] = int(float(m.group(2)))

    def one(name: str) -> float | None:
        m = re.search(rf"^(?:\w+_)?{name}(?:\{{\}})? (\S+)$", text, re.M)
        return float(m.group(1)) if m else None

    total = one("gateway_policy_evaluation_duration_seconds_sum")
    count = one("gateway_policy_evaluation_duration_seconds_count")
    return {
        "decisions": decisions,
        "evaluations": int(count) if count is not None else None,
        "evaluation_mean_us": round(total * 1e6 / count, 2) if total is not None and count else None,
    }


def criterion() -> dict | None:
    """Median and its 95 % interval per bench, in µs, if criterion ran in this run."""
    if ENV.get("SKIP_CRITERION") or not (WORK / "criterion.txt").exists():
        return None
    target = pathlib.Path(ENV["TARGET_DIR"])
    out = {}
    for name in CRITERION:
        est = json.loads((target / "criterion" / name / "new" / "estimates.json").read_text())["median"]
        ci = est["confidence_interval"]
        out[name] = {"median_us": round(est["point_estimate"] / 1000, 3),
                     "ci95_us": [round(ci["lower_bound"] / 1000, 3), round(ci["upper_bound"] / 1000, 3)]}
    out["loadavg_before"] = ENV.get("CRITERION_LOADAVG_BEFORE")
    out["loadavg_after"] = ENV.get("CRITERION_LOADAVG_AFTER")
    return out


def main() -> None:
    sc = {s: block(s) for s in SCENARIOS}
    rps = {s: sc[s]["median"]["ok_per_s"] for s in SCENARIOS}
    per_round = {
        f"{s}/{BASE}": [ratio(sc[s]["runs"][i]["ok_per_s"], sc[BASE]["runs"][i]["ok_per_s"]) for i in range(RUNS)]
        for s in SCENARIOS if s != BASE
    }
    ratios = {f"{s}/{BASE}": ratio(rps[s], rps[BASE]) for s in SCENARIOS if s != BASE}
    policy_file = pathlib.Path(ENV["POLICY_FILE"]).resolve()
    try:
        policy_name = str(policy_file.relative_to(ROOT))
    except ValueError:
        policy_name = str(policy_file)
    crit = criterion()
    errors = sum(b["median"]["errors_total"] for b in sc.values())
    r_pol = ratios.get(f"gateway_jwt_policy/{BASE}")
    r_cached = ratios.get(f"gateway_jwt_policy_cached/{BASE}")
    result = {
        "date": ENV["STAMP"],
        "git_rev": ENV["GIT_REV"],
        "git_rev_after": ENV.get("GIT_REV_AFTER", ENV["GIT_REV"]),
        "settings": {"gateway_workers": ENV.get("GATEWAY_WORKERS", "default"), "runs": RUNS,
                     "duration": ENV["DURATION"], "concurrency": int(ENV["CONCURRENCY"]),
                     "warmup": ENV["WARMUP"], "oha": ENV["OHA_VERSION"], "rustc": ENV["RUSTC_VERSION"],
                     "cpu": ENV["CPU_MODEL"], "cores": os.cpu_count(),
                     "loadavg_before": ENV["LOADAVG_BEFORE"], "loadavg_after": ENV["LOADAVG_AFTER"],
                     "policy_file": policy_name,
                     "policy_data": ENV.get("POLICY_DATA") or None,
                     "rust_backtrace": ENV.get("RUST_BACKTRACE") or None,
                     "rust_lib_backtrace": ENV.get("RUST_LIB_BACKTRACE") or None,
                     "policy_sha256": hashlib.sha256(policy_file.read_bytes()).hexdigest()},
        "scenarios": sc,
        "ratios": ratios,
        "ratios_per_round": per_round,
        "gateway_metrics": metrics(),
        "criterion": crit,
        "gatehouse_peak_rss_mb": round(int(ENV["SERVER_RSS_KB"]) / 1024, 1),
        "targets": {
            "policy_vs_none": {"target": f"≥ {POLICY_RATIO_TARGET}×", "value": r_pol,
                               "met": None if r_pol is None else r_pol >= POLICY_RATIO_TARGET},
            "cached_vs_none": {"target": f"~1× (≥ {CACHED_RATIO_TARGET})", "value": r_cached,
                               "met": None if r_cached is None else r_cached >= CACHED_RATIO_TARGET},
            "evaluate_p50": {"target": f"≤ {EVALUATE_TARGET_US:g} µs",
                             "value_us": crit["evaluate"]["median_us"] if crit else None,
                             "met": None if not crit else crit["evaluate"]["median_us"] <= EVALUATE_TARGET_US},
            "no_errors": {"target": 0, "value": errors, "met": errors == 0},
        },
    }
    out = pathlib.Path(ENV["RESULTS_DIR"]) / ENV["RESULT_NAME"]
    out.with_name(out.name + ".json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    out.with_name(out.name + ".md").write_text(markdown(result))
    print(out.with_name(out.name + ".md").read_text())


def markdown(r: dict) -> str:
    s, sc, q, t, m, c = r["settings"], r["scenarios"], r["ratios"], r["targets"], r["gateway_metrics"], r["criterion"]
    ok = lambda met: "n/a" if met is None else ("met" if met else "**NOT met**")  # noqa: E731
    fmt = lambda v, f="{:.3f}": "n/a" if v is None else f.format(v)  # noqa: E731

    def line(name: str, b: dict) -> str:
        md = b["median"]
        per_run = " / ".join(f"{x['ok_per_s']:,.0f}" for x in b["runs"])
        return (f"| {LABELS.get(name, name)} | **{md['ok_per_s']:,.0f}** | {per_run} | {md['p50_ms']:.2f} | "
                f"{md['p99_ms']:.2f} | {fmt(md['gatehouse_cpu_us_per_req'], '{:.1f}')} | {md['errors_total']:,} |")

    lines = [
        f"# Gateway load with a Rego policy: {r['date']} (rev {r['git_rev']})",
        "",
        *([f"The tree changed during the run: built from {r['git_rev']}, {r['git_rev_after']} at the end.", ""]
          if r["git_rev_after"] != r["git_rev"] else []),
        f"`SCENARIOS=policy bench/gateway_load.sh`: three identical bearer APIs (scope check, required "
        f"subscription, a rate limit that never triggers), two of them with `{s['policy_file']}` attached "
        f"through `PUT /admin/v1/apis/{{api}}/policy`. A {s['warmup']} warm-up per scenario, then "
        f"{s['runs']} rounds, each running every scenario once for {s['duration']} at concurrency "
        f"{s['concurrency']} (oha, closed loop, HTTP/1.1 keep-alive), `GET` of a 12-byte JSON body from "
        f"`bench/upstream`. oha, backend and gatehouse share the same {s['cores']}-core box ({s['cpu']}). "
        f"{s['oha']}; {s['rustc']}. Load average before/after the load: {s['loadavg_before']} / "
        f"{s['loadavg_after']}. Gateway workers: {s['gateway_workers']}. Environment of the gateway: "
        f"RUST_BACKTRACE={s['rust_backtrace'] or '(unset)'}, RUST_LIB_BACKTRACE={s['rust_lib_backtrace'] or '(unset)'}"
        + (f"; policy data document `{s['policy_data']}`" if s["policy_data"] else "") + ".",
        "",
        "| scenario | req/s (median) | req/s per round | p50 ms | p99 ms | gatehouse CPU µs/req | errors (all runs) |",
        "|---|---|---|---|---|---|---|",
        *[line(name, b) for name, b in sc.items()],
        "",
        "| ratio (median req/s) | value | per round |",
        "|---|---|---|",
        *[f"| {k} | **{fmt(v)}** | {' / '.join(fmt(x) for x in r['ratios_per_round'][k])} |" for k, v in q.items()],
        "",
        "Load average (1, 5, 15 min) after each run: " + "; ".join(
            f"round {i + 1}: " + ", ".join(f"{name} {sc[name]['runs'][i]['loadavg_after']}" for name in sc)
            for i in range(s["runs"])) + ".",
        "",
    ]
    if c:
        lines += [
            f"Criterion (`cargo bench -p gatehouse-policy --bench decision -- --warm-up-time 2 "
            f"--measurement-time 5`, run by the script after the load with everything stopped; load average "
            f"{c['loadavg_before']} before, {c['loadavg_after']} after): one decision of "
            f"`bench/policies/rbac.rego`, one core.",
            "",
            "| bench | median µs | 95 % interval µs |",
            "|---|---|---|",
            *[f"| {name} | **{c[name]['median_us']:.2f}** | {c[name]['ci95_us'][0]:.2f} – {c[name]['ci95_us'][1]:.2f} |"
              for name in CRITERION],
            "",
        ]
    lines += [
        "What the gateway counted (`/metrics` after the load): " + (", ".join(
            f"`{k}` {v:,}" for k, v in sorted(m["decisions"].items())) or "no policy metrics found") + "; "
        f"{fmt(m['evaluations'], '{:,}')} evaluations, mean {fmt(m['evaluation_mean_us'], '{:.1f}')} µs each "
        f"(`gateway_policy_evaluation_duration_seconds`, cache misses only, measured inside the gateway under "
        f"load).",
        "",
        "Targets:",
        "",
        f"- policy evaluated per request ≥ 0.75 × no policy: {fmt(q.get('gateway_jwt_policy/gateway_jwt'))}× — "
        f"{ok(t['policy_vs_none']['met'])}.",
        f"- policy cached per caller ~1 × no policy (≥ 0.95): {fmt(q.get('gateway_jwt_policy_cached/gateway_jwt'))}× — "
        f"{ok(t['cached_vs_none']['met'])}.",
        f"- RBAC-on-claims decision p50 ≤ 20 µs (criterion `evaluate`): "
        f"{fmt(t['evaluate_p50']['value_us'], '{:.2f} µs')} — {ok(t['evaluate_p50']['met'])}.",
        f"- no errors: {t['no_errors']['value']} — {ok(t['no_errors']['met'])}.",
        "",
        f"Gatehouse peak RSS over the run (VmHWM): {r['gatehouse_peak_rss_mb']} MB.",
        "",
        "<details><summary>JSON</summary>",
        "",
        "```json",
        json.dumps(r, indent=2, ensure_ascii=False),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
