"""When digests go out: a coalition's local times of day, turned into UTC moments and cron triggers.

A *slot* is one scheduled moment (an aware UTC datetime). Wall-clock times are
kept in the coalition's zone, so 08:00 in Chicago is 14:00 UTC in winter and
13:00 UTC in summer. A time that does not exist on a spring-forward day is
sent at the same wall-clock offset as the day before (zoneinfo's ``fold=0``);
a repeated time on a fall-back day is sent once, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger


def clock_times(times: Iterable[str]) -> list[time]:
    """``["20:00", "08:00"]`` -> sorted ``time`` values; the strings are already validated."""
    parsed = set()
    for text in times:
        hours, _, minutes = text.strip().partition(":")
        parsed.add(time(int(hours), int(minutes)))
    return sorted(parsed)


def slots_on(day: date, times: Iterable[str], zone: ZoneInfo) -> list[datetime]:
    """The day's slots (a local calendar day in ``zone``), as UTC moments in order."""
    moments = {datetime.combine(day, t, tzinfo=zone).astimezone(UTC) for t in clock_times(times)}
    return sorted(moments)


def last_slot(times: Iterable[str], zone: ZoneInfo, now: datetime) -> datetime | None:
    """The latest slot at or before ``now``; None only when no times are set."""
    return _latest(tuple(times), zone, now, inclusive=True)


def previous_slot(times: Iterable[str], zone: ZoneInfo, before: datetime) -> datetime | None:
    """The latest slot strictly before ``before``."""
    return _latest(tuple(times), zone, before, inclusive=False)


def next_slot(times: Iterable[str], zone: ZoneInfo, now: datetime) -> datetime | None:
    """The first slot strictly after ``now``."""
    times = tuple(times)
    today = now.astimezone(zone).date()
    for offset in range(3):
        for slot in slots_on(today + timedelta(days=offset), times, zone):
            if slot > now:
                return slot
    return None


def _latest(times: tuple[str, ...], zone: ZoneInfo, now: datetime, *, inclusive: bool) -> datetime | None:
    today = now.astimezone(zone).date()
    for offset in range(3):
        for slot in reversed(slots_on(today - timedelta(days=offset), times, zone)):
            if slot < now or (inclusive and slot == now):
                return slot
    return None


def digest_trigger(times: Iterable[str], zone: ZoneInfo) -> BaseTrigger:
    """An APScheduler trigger firing at each local time in ``zone`` (one cron per time, combined)."""
    crons = [CronTrigger(hour=t.hour, minute=t.minute, timezone=zone) for t in clock_times(times)]
    if not crons:
        raise ValueError("a digest schedule needs at least one time")
    return crons[0] if len(crons) == 1 else OrTrigger(crons)
