"""``python -m benchmarks [--quick] [--json] [--only NAME ...]``: Coalesce's speed, memory and quality figures.

Prints a table (each figure beside its target and whether it holds); with ``--json``
the last line is one JSON object with every figure and the sizes actually run.
``--quick`` runs every scenario at a tenth of the size (CI runs it, without asserting times).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import importlib
import inspect
import json
import logging
import math
import os
import platform
import sys
import time
import traceback
from typing import Any

SCENARIOS = ("match_latency", "e2e", "quality", "digest", "memory", "housekeeping", "notify")

FULL: dict[str, Any] = {
    "match_sizes": [1_000, 3_000, 10_000, 30_000, 100_000],
    "match_samples": 600,
    "e2e_open_posts": 10_000,
    "e2e_members": 1_000,
    "e2e_sustained_commands": 2_000,
    "e2e_rate_per_s": 200,
    "e2e_rate_seconds": 10,
    "e2e_burst": 1_000,
    "quality_posts": 10_000,
    "digest_open_posts": 100_000,
    "digest_subscribers": 10_000,
    "memory_open_posts": 100_000,
    "memory_matched_posts": 2_000,
    "housekeeping_open_posts": 100_000,
    "notify_rate_per_s": 2,
    "notify_steady_s": 600,
    "notify_burst": 1_000,
}
QUICK: dict[str, Any] = {
    "match_sizes": [100, 1_000, 10_000],
    "match_samples": 200,
    "e2e_open_posts": 1_000,
    "e2e_members": 100,
    "e2e_sustained_commands": 200,
    "e2e_rate_per_s": 200,
    "e2e_rate_seconds": 1,
    "e2e_burst": 100,
    "quality_posts": 1_000,
    "digest_open_posts": 10_000,
    "digest_subscribers": 1_000,
    "memory_open_posts": 10_000,
    "memory_matched_posts": 200,
    "housekeeping_open_posts": 10_000,
    "notify_rate_per_s": 2,
    "notify_steady_s": 30,
    "notify_burst": 100,
}

# key: (label, target text, predicate, unit)
TARGETS: dict[str, tuple[str, str, Any, str]] = {
    "match_p99_ms_100k": ("match p99 at the largest size", "<= 5 ms", lambda v: v <= 5, "ms"),
    "match_growth_10k_to_100k": ("match p99 growth, 10x the posts", "<= 2x", lambda v: v <= 2, "x"),
    "match_speed_reference_ms_100k": ("  machine's speed then: a fixed Python loop", "—", None, "ms"),
    "e2e_noop_commands_per_s": ("no-op command throughput (ceiling)", "—", None, "/s"),
    "e2e_commands_per_s": ("/need post + /offer post throughput", "—", None, "/s"),
    "e2e_ratio_vs_noop": ("posts throughput / no-op", ">= 0.25", lambda v: v >= 0.25, "x"),
    "e2e_ack_p50_ms_at_200": ("ack p50 at 200 commands/s", "—", None, "ms"),
    "e2e_ack_p99_ms_at_200": ("ack p99 at 200 commands/s", "<= 100 ms", lambda v: v <= 100, "ms"),
    "e2e_burst_last_ack_ms": ("burst: last ack", "—", None, "ms"),
    "e2e_burst_late": ("burst: acks later than 3 s", "0", lambda v: v == 0, ""),
    "e2e_burst_lost": ("burst: lost (unacked, unstored, undelivered)", "0", lambda v: v == 0, ""),
    "e2e_loop_max_stall_ms_at_200": ("loop max stall at 200 commands/s", "<= 50 ms", lambda v: v <= 50, "ms"),
    "e2e_quiet_full_pass_ms": ("full GC pass held back to the quiet moment after", "—", None, "ms"),
    "quality_ratio_greedy": ("quality, greedy (accept at once) / optimum", "—", None, "x"),
    "quality_ratio_vs_optimal": ("quality, final engine / optimum", ">= 0.95", lambda v: v >= 0.95, "x"),
    "quality_distance_ratio_vs_optimal": ("mean distance, final engine / optimum", "<= 1.5x", lambda v: v <= 1.5, "x"),
    "digest_round_s": ("digest round (channel + subscribers)", "<= 2 s", lambda v: v <= 2, "s"),
    "loop_max_stall_ms": ("loop max stall during the digest round", "<= 50 ms", lambda v: v <= 50, "ms"),
    "digest_growth_10x_subscribers": ("digest time growth, 10x subscribers", "<= 10x", lambda v: v <= 10, "x"),
    "peak_rss_mb": ("peak RSS, open posts loaded and matched", "<= 200 MB", lambda v: v <= 200, "MB"),
    "housekeeping_wake_ms": ("housekeeping wake at the next due moment", "—", None, "ms"),
    "housekeeping_sweep_ms": ("housekeeping sweep, a minute due at once", "<= 200 ms", lambda v: v <= 200, "ms"),
    "housekeeping_backlog_ms": ("housekeeping sweep, an hour due at once", "—", None, "ms"),
    "housekeeping_loop_max_stall_ms": ("loop max stall during housekeeping", "<= 50 ms", lambda v: v <= 50, "ms"),
    "notify_proposal_p50_s": ("proposal shown, p50, steady 2 posts/s", "—", None, "s"),
    "notify_proposal_p99_s": ("proposal shown, p99, steady 2 posts/s", "—", None, "s"),
    "notify_burst_proposal_p50_s": ("proposal shown, p50, burst", "—", None, "s"),
    "notify_burst_proposal_p99_s": ("proposal shown, p99, burst", "—", None, "s"),
    "notify_burst_makespan_s": ("burst: every notification delivered", "—", None, "s"),
    "notify_burst_bound_s": ("burst: least time the limits allow", "—", None, "s"),
    "notify_makespan_vs_bound": ("burst makespan / bound", "<= 1.25x", lambda v: v <= 1.25, "x"),
    "notify_messages_per_post": ("messages per post under backlog", "<= 1.0", lambda v: v <= 1.0, ""),
    "notify_429_share": ("share of requests answered 429", "<= 1%", lambda v: v <= 0.01, ""),
    "notify_invalid_requests_10min": ("invalid requests in any 10 min", "<< 10,000", lambda v: v <= 1_000, ""),
    "notify_head_of_line_s": ("delay beside a saturated channel", "<= 1 s", lambda v: v <= 1, "s"),
}
# With --backend postgresql these scenarios run a second time on PostgreSQL; their figures carry this suffix.
SECOND_BACKEND_SCENARIOS = ("match_latency", "e2e")
SECOND_BACKEND_TARGETS = (
    "match_p99_ms_100k",
    "e2e_commands_per_s",
    "e2e_ack_p99_ms_at_200",
    "e2e_loop_max_stall_ms_at_200",
    "e2e_quiet_full_pass_ms",
    "e2e_burst_late",
    "e2e_burst_lost",
)
for _key in SECOND_BACKEND_TARGETS:
    _label, _target, _check, _unit = TARGETS[_key]
    TARGETS[f"{_key}_postgresql"] = (f"{_label} (PostgreSQL)", _target, _check, _unit)


def run_scenario(name: str, sizes: dict[str, Any], seed: int, backend: str = "sqlite") -> dict[str, Any]:
    try:
        module = importlib.import_module(f"benchmarks.scenarios.{name}")
    except ImportError as exc:
        return {"unavailable": f"cannot import the scenario ({exc})"}
    try:
        result = module.run(sizes, seed=seed) if backend == "sqlite" else module.run(sizes, seed=seed, backend=backend)
        if inspect.isawaitable(result):
            result = asyncio.run(result)
        return result
    except Exception as exc:  # a scenario's failure is reported, the others still run
        traceback.print_exc(file=sys.stderr)
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        gc.collect()


def fmt(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
        text = f"{value:,.{digits}f}"
    else:
        text = f"{value:,}"
    return f"{text} {unit}".rstrip()


def table(figures: dict[str, Any], statuses: dict[str, str]) -> str:
    lines = [f"{'figure':<48} {'value':>14}  {'target':<10} holds", "-" * 82]
    for key, (label, target, check, unit) in TARGETS.items():
        value = figures.get(key)
        if value is None:
            verdict = "n/a"
        elif check is None:
            verdict = ""
        else:
            verdict = "yes" if check(value) else "NO"
        lines.append(f"{label:<48} {fmt(value, unit):>14}  {target:<10} {verdict}")
    curve = figures.get("match_curve")
    if curve:
        lines.append("")
        lines.append("match latency by open posts of each kind (post + find proposals, one transaction)")
        for size, row in curve.items():
            lines.append(
                f"  {int(size):>8,} open   p50 {row['p50_ms']:6.2f} ms   p99 {row['p99_ms']:6.2f} ms"
                f"   (need p99 {row['need_p99_ms']:.2f}, offer p99 {row['offer_p99_ms']:.2f};"
                f" speed reference {row.get('speed_reference_ms', math.nan):.0f} ms)"
            )
    for name, status in statuses.items():
        if status != "ok":
            lines.append(f"scenario {name}: {status}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every scenario at a tenth of the size")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of every figure")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--chart", metavar="PNG", help="draw match latency against open posts into this file")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="postgresql: also run match latency and end to end on a throwaway PostgreSQL, beside SQLite",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)
    logging.getLogger("coalesce").setLevel(logging.WARNING)

    sizes = dict(QUICK if args.quick else FULL)
    figures: dict[str, Any] = {}
    statuses: dict[str, str] = {}
    started = time.perf_counter()
    for name in args.only or SCENARIOS:
        t0 = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        result = run_scenario(name, sizes, args.seed)
        if "unavailable" in result:
            statuses[name] = f"not available: {result.pop('unavailable')}"
        elif "error" in result:
            statuses[name] = f"failed: {result.pop('error')}"
        else:
            statuses[name] = "ok"
        figures.update(result)
        print(f"  {name}: {statuses[name]} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
        if args.backend != "sqlite" and name in SECOND_BACKEND_SCENARIOS:
            t0 = time.perf_counter()
            print(f"running {name} on {args.backend} ...", file=sys.stderr, flush=True)
            second = run_scenario(name, sizes, args.seed, backend=args.backend)
            key = f"{name}_{args.backend}"
            statuses[key] = "ok" if not {"unavailable", "error"} & set(second) else f"failed: {second}"
            figures.update({f"{k}_{args.backend}": v for k, v in second.items()})
            print(f"  {key}: {statuses[key]} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    figures["sizes"] = sizes
    figures["quick"] = args.quick
    figures["backend"] = args.backend
    figures["scenarios"] = statuses
    figures["elapsed_s"] = round(time.perf_counter() - started, 1)
    figures["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
    }
    for key in TARGETS:
        figures.setdefault(key, None)
    print(table(figures, statuses))
    if args.chart and figures.get("match_curve"):
        from benchmarks.chart import draw_match_latency

        draw_match_latency(figures["match_curve"], args.chart, machine=figures["machine"])
        print(f"chart written to {args.chart}")
    print(f"total {figures['elapsed_s']} s{' (quick)' if args.quick else ''}")
    if args.json:
        print(json.dumps(_jsonable(figures), sort_keys=True))
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if k != "profile"}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


if __name__ == "__main__":
    sys.exit(main())
