"""The match-latency chart for docs/performance.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGET_MS = 5.0


def draw_match_latency(
    curve: dict[Any, dict[str, float]],
    path: str | Path,
    *,
    machine: dict[str, Any],
    what_if: dict[Any, dict[str, float]] | None = None,
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sizes = sorted(int(k) for k in curve)
    row = {int(k): v for k, v in curve.items()}
    figure = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(sizes, [row[n]["p50_ms"] for n in sizes], "o-", label="p50", color="#20808d")
    axes.plot(sizes, [row[n]["p99_ms"] for n in sizes], "s-", label="p99", color="#c0392b")
    if what_if:
        alt = {int(k): v for k, v in what_if.items()}
        axes.plot(
            sizes, [alt[n]["p99_ms"] for n in sizes], "s--", color="#e67e22", alpha=0.9,
            label="p99 with WAL checkpoints off the loop (proposed)",
        )  # fmt: skip
    axes.axhline(TARGET_MS, linestyle="--", color="grey", linewidth=1, label=f"p99 target ({TARGET_MS:g} ms)")
    axes.set_xscale("log")
    axes.set_xlabel("open posts of the other kind (skewed, concentrated)")
    axes.set_ylabel("post + find proposals (ms)")
    highest = max(max(r["p99_ms"] for r in row.values()), TARGET_MS)
    axes.set_ylim(0, highest * 1.45)  # headroom for the legend above the curves
    axes.set_xticks(sizes, [f"{n:,}" for n in sizes])
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8, ncol=2)
    axes.set_title("Match latency against scale (post_need / post_offer, no Discord)")
    figure.text(
        0.99, 0.01, f"{machine.get('cpus')} CPUs · Python {machine.get('python')} · {machine.get('date')}",
        ha="right", va="bottom", fontsize=7, color="grey",
    )  # fmt: skip
    figure.tight_layout()
    figure.savefig(path)
