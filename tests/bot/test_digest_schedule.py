"""Digest slots in a coalition's own time zone: the pure arithmetic and the cron trigger agree."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.digest_schedule import digest_trigger, last_slot, next_slot, previous_slot, slots_on

CHICAGO = ZoneInfo("America/Chicago")
WINTER = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 06:00 CST
SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 07:00 CDT


@pytest.mark.parametrize(("now", "fires_at"), [(WINTER, 14), (SUMMER, 13)])
def test_eight_in_chicago_is_fourteen_utc_in_winter_and_thirteen_in_summer(now, fires_at):
    expected = now.replace(hour=fires_at)

    assert next_slot(["08:00"], CHICAGO, now) == expected
    assert digest_trigger(["08:00"], CHICAGO).get_next_fire_time(None, now) == expected


def test_with_several_times_the_trigger_and_next_slot_pick_the_nearest():
    times = ["20:00", "08:00"]
    after_morning = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 09:00 CST

    expected = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 20:00 CST
    assert next_slot(times, CHICAGO, after_morning) == expected
    assert digest_trigger(times, CHICAGO).get_next_fire_time(None, after_morning) == expected


def test_the_trigger_follows_the_clock_change_day_by_day():
    trigger = digest_trigger(["08:00"], CHICAGO)
    before_change = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # Saturday; clocks spring forward on Sunday 8 March

    first = trigger.get_next_fire_time(None, before_change)
    second = trigger.get_next_fire_time(first, first)

    assert first.astimezone(UTC) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    assert second.astimezone(UTC) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert slots_on(date(2026, 3, 7), ["08:00"], CHICAGO) == [datetime(2026, 3, 7, 14, 0, tzinfo=UTC)]
    assert slots_on(date(2026, 3, 8), ["08:00"], CHICAGO) == [first.astimezone(UTC)]


def test_last_slot_looks_back_across_midnight_and_includes_the_exact_moment():
    times = ["08:00", "20:00"]
    just_after_midnight = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)  # 00:30 CST on 2 Dec

    assert last_slot(times, CHICAGO, just_after_midnight) == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    exact = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert last_slot(times, CHICAGO, exact) == exact
    assert previous_slot(times, CHICAGO, exact) == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_half_hour_zones_and_utc_itself():
    kolkata = ZoneInfo("Asia/Kolkata")

    assert next_slot(["08:00"], kolkata, WINTER) == datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
    assert digest_trigger(["08:00"], kolkata).get_next_fire_time(None, WINTER) == datetime(
        2026, 12, 2, 2, 30, tzinfo=UTC
    )
    assert next_slot(["08:00"], ZoneInfo("UTC"), WINTER) == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_a_schedule_without_times_is_refused():
    with pytest.raises(ValueError, match="at least one time"):
        digest_trigger([], CHICAGO)
    assert last_slot([], CHICAGO, WINTER) is None
