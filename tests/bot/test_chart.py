"""The digest chart renders to a real PNG, with or without data, and off the event loop."""

from __future__ import annotations

import asyncio
import struct
from datetime import date, timedelta

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
