"""The digest's chart as PNG bytes: open needs by sector and urgency, and fulfilment over time.

Uses matplotlib's object API on the Agg canvas (no pyplot, no global state), so
a chart can be drawn in a worker thread while the event loop carries on.
matplotlib is imported on the first chart, not with this module: it costs about
30 MB, which only a process that draws should pay.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, time, timedelta

from bot.digests import URGENCIES, ChartData

log = logging.getLogger("coalesce.chart")

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()

URGENCY_COLOURS = {"critical": "#c0392b", "high": "#e67e22", "normal": "#2e86c1", "low": "#a6acaf"}
DELIVERED_COLOUR = "#1e8449"
REQUESTED_COLOUR = "#566573"


def draw_chart(data: ChartData) -> bytes:
    """:func:`render_chart` in a process of its own, for a worker thread to wait on.

    Agg draws in C++ holding the GIL for about 50 ms at a time: from a thread of
    the bot's process that stalls the event loop just as long. A separate process
    (started once, then reused) draws without touching it. Should it fail, the
    chart is drawn here after all: a late digest beats none.
    """
    global _pool
    try:
        with _pool_lock:
            if _pool is None:
                _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            pool = _pool
        return pool.submit(render_chart, data).result(timeout=120)
    except Exception:
        log.warning("could not draw the chart in its own process; drawing it here", exc_info=True)
        with _pool_lock:
            _pool = None
        return render_chart(data)


def render_chart(data: ChartData, *, dpi: int = 100) -> bytes:
    """A 1000×450 px PNG (at the default dpi) of ``data``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(f"Coalesce status: {data.title}", fontsize=13, fontweight="bold")
    needs_axes, fulfilment_axes = figure.subplots(1, 2, width_ratios=(1.15, 1))
    _draw_open_needs(needs_axes, data)
    _draw_fulfilment(fulfilment_axes, data)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def _draw_open_needs(axes, data: ChartData) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_title("Open needs by sector and urgency", fontsize=11)
    sectors = list(data.open_by_sector)
    if not sectors:
        axes.text(0.5, 0.5, "No open needs", ha="center", va="center", fontsize=12, transform=axes.transAxes)
        axes.set_axis_off()
        return
    left = [0] * len(sectors)
    for position, urgency in enumerate(URGENCIES):
        counts = [data.open_by_sector[s][position] for s in sectors]
        axes.barh(sectors, counts, left=left, color=URGENCY_COLOURS[urgency.value], label=urgency.value)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    for y, total in enumerate(left):
        axes.text(total, y, f" {total:,}", va="center", fontsize=9)
    axes.set_xlabel("open needs")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, max(left) * 1.15 + 1)
    axes.legend(loc="lower right", fontsize=8, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)


def _draw_fulfilment(axes, data: ChartData) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    axes.set_title("Fulfilment over the event's life", fontsize=11)
    if not data.days:
        axes.text(0.5, 0.5, "Nothing requested yet", ha="center", va="center", fontsize=12, transform=axes.transAxes)
        axes.set_axis_off()
        return
    axes.plot(data.days, data.requested, marker="o", color=REQUESTED_COLOUR, label="needs posted (cumulative)")
    axes.plot(data.days, data.delivered, marker="o", color=DELIVERED_COLOUR, label="needs filled (cumulative)")
    axes.fill_between(data.days, data.delivered, color=DELIVERED_COLOUR, alpha=0.2)
    locator = AutoDateLocator(minticks=2, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    # Dates carry no hours; pad by half a day as datetimes so the first and last points are not on the frame.
    first, last = datetime.combine(data.days[0], time()), datetime.combine(data.days[-1], time())
    axes.set_xlim(first - timedelta(hours=12), last + timedelta(hours=12))
    if data.requested and data.requested[-1]:
        share = data.delivered[-1] / data.requested[-1]
        axes.text(0.02, 0.95, f"{share:.0%} delivered", transform=axes.transAxes, va="top", fontsize=10)
    axes.set_ylabel("needs (a delivery fills its share)")
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left", bbox_to_anchor=(0, 0.9), fontsize=8, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
