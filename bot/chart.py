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
import os
import threading
import time as clock
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, time, timedelta

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
                _pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=die_with_parent,
                    initargs=(os.getpid(),),
                )
            pool = _pool
        return pool.submit(render_chart, data).result(timeout=120)
    except Exception:
        log.warning("could not draw the chart in its own process; drawing it here", exc_info=True)
        with _pool_lock:
            _pool = None
        return render_chart(data)


# How often the worker checks that the bot's process still lives: its longest life as an orphan.
PARENT_CHECK_S = 0.5


def die_with_parent(parent_pid: int) -> None:
    """In the chart worker: end it as soon as the bot's process is gone, however that ended.

    A bot killed with SIGKILL runs no clean-up, so the pool never tells its worker to stop;
    the worker would wait for work for ever, holding multiprocessing's resource_tracker alive
    with it (one pair per crash). When the worker goes, the tracker sees its pipe close and ends.
    """
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="parent watch", daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        clock.sleep(PARENT_CHECK_S)
    os._exit(0)  # no clean-up to run: the worker holds nothing but the pool's pipes


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
    axes.set_title("Fulfilment over the event's life", fontsize=11)
    if not data.days:
        axes.text(0.5, 0.5, "Nothing requested yet", ha="center", va="center", fontsize=12, transform=axes.transAxes)
        axes.set_axis_off()
        return
    # Each point is a whole day's running total: plot it at noon, the middle of its day.
    noons = [datetime.combine(day, time(12)) for day in data.days]
    axes.plot(noons, data.requested, marker="o", color=REQUESTED_COLOUR, label="needs posted (cumulative)")
    axes.plot(noons, data.delivered, marker="o", color=DELIVERED_COLOUR, label="needs filled (cumulative)")
    axes.fill_between(noons, data.delivered, color=DELIVERED_COLOUR, alpha=0.2)
    if len(noons) <= YOUNG_DAYS:
        # A young event has a point or two: say what they are, as the line cannot yet.
        for values, colour in ((data.requested, REQUESTED_COLOUR), (data.delivered, DELIVERED_COLOUR)):
            for noon, value in zip(noons, values, strict=True):
                label = f"{value:,.1f}".removesuffix(".0")
                axes.annotate(label, (noon, value), textcoords="offset points", xytext=(6, 4), fontsize=9,
                              color=colour)  # fmt: skip
    day_axis(axes, data.days)
    if data.requested and data.requested[-1]:
        share = data.delivered[-1] / data.requested[-1]
        axes.text(0.02, 0.95, f"{share:.0%} delivered", transform=axes.transAxes, va="top", fontsize=10)
    axes.set_ylabel("needs (a delivery fills its share)")
    axes.set_ylim(bottom=0, top=max(data.requested + data.delivered + [1]) * 1.25)
    axes.legend(loc="upper left", bbox_to_anchor=(0, 0.9), fontsize=8, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)


YOUNG_DAYS = 3


def day_axis(axes, days: list[date]) -> None:
    """An x axis of whole days, from the first day's midnight to the end of the last: never hours.

    Matplotlib's automatic locator picks hours when the span is short, so a young event
    read as a point at midnight on a noon-to-noon axis. Days are the data's unit.
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DateFormatter

    first, last = datetime.combine(days[0], time()), datetime.combine(days[-1], time()) + timedelta(days=1)
    axes.set_xlim(first, last)
    span = (last - first).days
    if span <= 14:
        # Ticks at noon, under each day's point, labelled with the day.
        axes.set_xticks([datetime.combine(day, time(12)) for day in days[:: max(1, span // 7)]])
        axes.xaxis.set_major_formatter(DateFormatter("%-d %b"))
    else:
        locator = AutoDateLocator(minticks=2, maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
