"""Stored moments: every aware moment is written in UTC and read back as the same instant, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import from_iso, to_iso

zones = st.one_of(
    st.just(UTC),
    st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)
# Hypothesis bounds are naive; the strategy attaches the zones.
LOW, HIGH = datetime(1971, 1, 1), datetime(2200, 1, 1)  # noqa: DTZ001
moments = st.datetimes(min_value=LOW, max_value=HIGH, timezones=zones).map(lambda m: m.replace(microsecond=0))


@given(moments)
def test_a_stored_moment_reads_back_as_the_same_instant_in_utc(moment):
    text = to_iso(moment)

    read = from_iso(text)

    assert text.endswith("+00:00") and text == to_iso(read)
    assert read == moment and read.tzinfo is UTC


def test_a_moment_stored_with_another_offset_is_read_in_utc():
    assert from_iso("2026-12-01T12:00:00+02:00") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert from_iso("2026-12-01T12:00:00+02:00").tzinfo is UTC
    assert from_iso(None) is None and from_iso("") is None


def test_a_naive_moment_is_never_stored():
    with pytest.raises(ValueError, match="naive"):
        to_iso(datetime(2026, 12, 1, 12, 0))  # noqa: DTZ001 - the naive moment under test
