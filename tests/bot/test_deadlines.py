"""Deadlines as people type them: exact dates, words, and the ten-year bound, in every zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.validation import MAX_DEADLINE_AHEAD, _timezone_names, parse_deadline

# Tuesday 1 December 2026, 12:00 UTC: 06:00 in Chicago.
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")
ZONES = sorted(_timezone_names())


def deadline(text: str, zone: ZoneInfo = CHICAGO, now: datetime = NOW) -> datetime | None:
    return parse_deadline(text, zone=zone, now=now, field="needed_by date")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03", datetime(2026, 12, 3, 23, 59, tzinfo=CHICAGO)),
        ("2026-12-03 18:00", datetime(2026, 12, 3, 18, 0, tzinfo=CHICAGO)),
        ("2026-12-03T07:30", datetime(2026, 12, 3, 7, 30, tzinfo=CHICAGO)),
        ("tomorrow", datetime(2026, 12, 2, 23, 59, tzinfo=CHICAGO)),
        ("Tomorrow 9am", datetime(2026, 12, 2, 9, 0, tzinfo=CHICAGO)),
        ("in 3 days", datetime(2026, 12, 4, 23, 59, tzinfo=CHICAGO)),
        ("in 2 hours", datetime(2026, 12, 1, 8, 0, tzinfo=CHICAGO)),
        ("friday 18:00", datetime(2026, 12, 4, 18, 0, tzinfo=CHICAGO)),
        ("Friday", datetime(2026, 12, 4, 23, 59, tzinfo=CHICAGO)),
        ("dec 25", datetime(2026, 12, 25, 23, 59, tzinfo=CHICAGO)),
        ("  in   3  days ", datetime(2026, 12, 4, 23, 59, tzinfo=CHICAGO)),
    ],
)
def test_dates_typed_in_a_hurry_are_read_in_the_coalitions_zone(text, expected):
    assert deadline(text) == expected


def test_words_are_relative_to_the_coalitions_own_day():
    # 23:30 on 1 December in Chicago is already 2 December in Manila.
    late = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)
    assert deadline("tomorrow", CHICAGO, late) == datetime(2026, 12, 2, 23, 59, tzinfo=CHICAGO)
    manila = ZoneInfo("Asia/Manila")
    assert deadline("tomorrow", manila, late) == datetime(2026, 12, 3, 23, 59, tzinfo=manila)


@pytest.mark.parametrize("text", ["yesterday", "3 days ago", "2026-11-30", "2026-12-01 05:59", "2020-01-01"])
def test_the_past_is_refused_saying_how_it_was_read(text):
    with pytest.raises(InvalidInput, match="already past") as refused:
        deadline(text)
    assert "read as" in refused.value.message


@pytest.mark.parametrize("text", ["when the roads open", "banana", "2026-02-30", "99999-01-01", "soon"])
def test_what_is_no_date_is_refused_with_the_forms_that_work(text):
    with pytest.raises(InvalidInput, match="not a date") as refused:
        deadline(text)
    assert "in 3 days" in refused.value.message


def test_an_empty_deadline_means_none():
    assert deadline("") is None
    assert deadline("   ") is None


def test_a_very_long_text_is_refused_before_parsing():
    with pytest.raises(InvalidInput, match="too long"):
        deadline("tomorrow " * 20)


@pytest.mark.parametrize("text", ["9999-12-31", "9999-12-31 23:59", "2037-01-01", "in 11 years"])
def test_more_than_ten_years_ahead_is_refused(text):
    with pytest.raises(InvalidInput, match="ten years") as refused:
        deadline(text, ZoneInfo("America/Los_Angeles"))
    assert "2036-12-01" in refused.value.message


@settings(max_examples=300, deadline=None)
@given(
    day=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),  # noqa: DTZ001
    zone=st.sampled_from(ZONES),
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
    with_time=st.booleans(),
)
def test_any_date_in_any_zone_is_accepted_within_ten_years_or_refused_clearly(day, zone, now, with_time):
    text = day.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d").zfill(10 + 6 * with_time)
    zone = ZoneInfo(zone)
    try:
        moment = deadline(text, zone, now)
    except InvalidInput as refused:
        assert "already past" in refused.message or "ten years" in refused.message
        return
    assert moment is not None
    utc = moment.astimezone(UTC)  # the store's form never overflows
    assert now < utc <= now + MAX_DEADLINE_AHEAD + timedelta(days=1)


@settings(max_examples=100, deadline=None)
@given(zone=st.sampled_from(ZONES), year=st.sampled_from([1, 2, 9998, 9999]))
def test_the_ends_of_the_calendar_are_refused_in_every_zone(zone, year):
    for text in (f"{year:04d}-12-31", f"{year:04d}-01-01 00:00"):
        with pytest.raises(InvalidInput, match=r"already past|ten years"):
            deadline(text, ZoneInfo(zone))


@settings(max_examples=100, deadline=None)
@given(zone=st.sampled_from(ZONES), days=st.integers(min_value=1, max_value=3000))
def test_in_n_days_lands_on_that_local_day_in_every_zone(zone, days):
    tz = ZoneInfo(zone)
    moment = deadline(f"in {days} days", tz)
    assert moment is not None
    assert moment.date() == (NOW.astimezone(tz) + timedelta(days=days)).date()
    assert (moment.hour, moment.minute) == (23, 59)
