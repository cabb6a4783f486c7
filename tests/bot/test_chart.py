"""The digest chart renders to a real PNG, with or without data, and off the event loop."""

from __future__ import annotations

import asyncio
import struct
from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chart import render_chart
from bot.digests import ChartData

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def sample() -> ChartData:
    days = [date(2026, 11, 28) + timedelta(days=i) for i in range(4)]
    return ChartData(
        title="Hurricane Delta",
        open_by_sector={"Food Security": (0, 3, 5, 1), "WASH": (4, 2, 6, 0)},
        days=days,
        requested=[400, 900, 1200, 1500],
        delivered=[0, 150, 600, 800],
    )


def test_the_chart_is_a_1000_by_450_png():
    assert png_size(render_chart(sample())) == (1000, 450)


def test_a_chart_without_needs_or_history_still_renders():
    empty = ChartData(title="No open event", open_by_sector={}, days=[], requested=[], delivered=[])

    assert png_size(render_chart(empty)) == (1000, 450)


def test_more_data_draws_a_different_picture():
    fuller = sample()
    busier = ChartData(fuller.title, {**fuller.open_by_sector, "Health": (9, 0, 0, 0)}, *vars_of(fuller))

    assert render_chart(busier) != render_chart(fuller)


def vars_of(data: ChartData) -> tuple:
    return data.days, data.requested, data.delivered


async def test_charts_render_in_worker_threads_side_by_side():
    charts = await asyncio.gather(*(asyncio.to_thread(render_chart, sample()) for _ in range(3)))

    assert all(png_size(png) == (1000, 450) for png in charts)


def test_a_chart_drawn_in_its_own_process_is_the_same_picture():
    from bot.chart import draw_chart

    assert draw_chart(sample()) == render_chart(sample())


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    length=st.integers(min_value=1, max_value=120),
)
def test_the_fulfilment_axis_reads_in_whole_days_however_young_the_event(start, length):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import date2num, num2date
    from matplotlib.figure import Figure

    from bot.chart import day_axis

    days = [start + timedelta(days=i) for i in range(length)]
    figure = Figure()
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.plot([datetime.combine(d, time(12)) for d in days], range(length))
    day_axis(axes, days)
    figure.canvas.draw()

    labels = [t.get_text() for t in axes.get_xticklabels() if t.get_text()]
    low, high = axes.get_xlim()
    assert labels, "the axis names its days"
    assert not any(":" in label for label in labels), f"hours on a daily chart: {labels}"
    assert low <= date2num(datetime.combine(days[0], time())) and high >= date2num(datetime.combine(days[-1], time(23)))
    if length <= 14:
        assert start.strftime("%-d %b") in labels, "a young event's first day is named under its point"
        ticks = [num2date(x) for x in axes.get_xticks() if low <= x <= high]
        assert all(t.hour == 12 for t in ticks), "each label sits under its day's point, at noon"


def test_a_one_day_event_draws_its_point_inside_its_day():
    one_day = ChartData("Young", {"WASH": (1, 0, 0, 0)}, [date(2026, 12, 1)], [400], [0])

    assert png_size(render_chart(one_day)) == (1000, 450)
