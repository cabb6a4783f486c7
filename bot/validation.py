"""Checks on what people type. Each failure is an ``InvalidInput`` that says how to fix it."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateparser.date import DateDataParser

from bot.errors import InvalidInput
from bot.text import BIDI_CONTROLS, escape, strip_invisible

_MASS_MENTION = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_DISCORD_MENTION = re.compile(r"<(@[!&]?|#)\d+>")
_INVITE = re.compile(r"(discord(app)?\.com/invite|discord\.gg)/\S+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

MAX_DIGEST_TIMES = 6
MAX_DATE_TEXT = 60
# Ten years: long enough for any relief post, short enough to stay inside datetime's range in every zone.
MAX_DEADLINE_AHEAD = timedelta(days=3653)


def clean_text(
    value: str | None, field: str, *, max_length: int, required: bool = True, multiline: bool = False
) -> str:
    """Trimmed text that is safe to store and echo: no pings, no invites, no control characters.

    Direction-changing characters (U+202E and friends) are refused: they make text
    read differently from what it is. Other invisible characters (zero-width
    space, soft hyphen, BOM ...) are dropped.
    """
    raw = value or ""
    if any(ch in BIDI_CONTROLS for ch in raw):
        raise InvalidInput(
            f"The {field} contains hidden characters that change the direction of the text; type it as plain text."
        )
    text = strip_invisible(raw).strip()
    if not multiline:
        text = " ".join(text.split())
    if not text:
        if required:
            raise InvalidInput(f"The {field} can't be empty.")
        return ""
    if len(text) > max_length:
        raise InvalidInput(f"The {field} is {len(text)} characters long; keep it to {max_length}.")
    if _CONTROL.search(text):
        raise InvalidInput(f"The {field} contains control characters; type it as plain text.")
    if _MASS_MENTION.search(text) or _DISCORD_MENTION.search(text):
        raise InvalidInput(f"The {field} can't contain mentions (@everyone, @here, roles, members or channels).")
    if _INVITE.search(text):
        raise InvalidInput(f"The {field} can't contain Discord invite links.")
    return text


def parse_timezone(value: str) -> ZoneInfo:
    name = (value or "").strip()
    try:
        if name not in _timezone_names():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{escape(name[:40]) or 'That'} is not a time zone I know. Use an IANA name such as "
            "America/Chicago, Europe/Paris or Asia/Manila."
        ) from None


def _timezone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


_ZONES: frozenset[str] | None = None


def search_timezones(prefix: str, *, limit: int = 25) -> list[str]:
    needle = prefix.strip().casefold()
    names = sorted(_timezone_names())
    starts = [n for n in names if n.casefold().startswith(needle)]
    contains = [n for n in names if needle in n.casefold() and n not in starts]
    return (starts + contains)[:limit]


def parse_digest_times(value: str) -> tuple[str, ...]:
    """``"8:00, 20:00"`` -> ``("08:00", "20:00")``; sorted, without repeats."""
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    if not parts:
        raise InvalidInput('Give at least one time, as HH:MM in 24-hour form, e.g. "08:00,20:00".')
    if len(parts) > MAX_DIGEST_TIMES:
        raise InvalidInput(f"Give at most {MAX_DIGEST_TIMES} digest times a day.")
    times: set[time] = set()
    for part in parts:
        found = _CLOCK_TIME.match(part)
        if not found:
            raise InvalidInput(f'"{escape(part[:20])}" is not a time; use HH:MM in 24-hour form, e.g. "08:00,20:00".')
        times.add(time(int(found.group(1)), int(found.group(2))))
    return tuple(t.strftime("%H:%M") for t in sorted(times))


def parse_sector_list(value: str, *, field: str = "sectors") -> list[str]:
    parts = [p.strip() for p in (value or "").split(",") if p.strip()]
    if not parts:
        raise InvalidInput(f"List at least one sector in {field}, separated by commas (e.g. wash, shelter).")
    return parts


def parse_deadline(value: str | None, *, zone: ZoneInfo, now: datetime, field: str) -> datetime | None:
    """A future moment in the coalition's zone, at most ten years ahead.

    Exact forms come first ("2026-12-03", "2026-12-03 18:00"); then what people
    type in a hurry ("tomorrow", "in 3 days", "friday 18:00") through dateparser,
    relative to ``now`` in ``zone``. A day without a time means the end of that day.
    """
    text = " ".join((value or "").split())
    if not text:
        return None
    if len(text) > MAX_DATE_TEXT:
        raise InvalidInput(f'The {field} is too long; use YYYY-MM-DD, "YYYY-MM-DD HH:MM" or words like "in 3 days".')
    parsed = _exact_date(text) or _spoken_date(text, now.astimezone(zone))
    if parsed is None:
        raise InvalidInput(
            f'The {field} "{escape(text[:30])}" is not a date; use YYYY-MM-DD, "YYYY-MM-DD HH:MM", '
            '"tomorrow", "in 3 days" or "friday 18:00".'
        )
    return check_deadline(parsed, zone=zone, now=now, field=field, text=text)


def check_deadline(moment: datetime, *, zone: ZoneInfo, now: datetime, field: str, text: str) -> datetime:
    """``moment`` (naive local wall time, or aware) if it is in the future and at most ten years ahead.

    Compared in ``zone``'s wall time with one zone object on both sides: an aware
    comparison across zones converts year-9999 dates to UTC and overflows
    before the bound could refuse them.
    """
    local_now = now.astimezone(zone)
    if moment.tzinfo is not None:
        wall_there = moment.replace(tzinfo=None)
        # UTC offsets are under a day, so a wall time this far off is out of range in any zone:
        # keep it as it is rather than convert it, which could overflow.
        if abs(wall_there - local_now.replace(tzinfo=None)) < MAX_DEADLINE_AHEAD + timedelta(days=2):
            moment = moment.astimezone(zone).replace(tzinfo=None)
        else:
            moment = wall_there
    wall = moment.replace(tzinfo=local_now.tzinfo)
    latest = local_now + MAX_DEADLINE_AHEAD
    if wall > latest:
        raise InvalidInput(
            f"The {field} ({escape(text[:30])}) is more than ten years ahead; give a date before {latest:%Y-%m-%d}."
        )
    if wall <= local_now:
        shown = wall.strftime("%Y-%m-%d %H:%M")
        raise InvalidInput(f"The {field} ({escape(text[:30])}, read as {shown}) is already past; give a future date.")
    return wall.replace(tzinfo=zone)


def _exact_date(text: str) -> datetime | None:
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, pattern)  # noqa: DTZ007 - the caller attaches the zone
        except ValueError:
            continue
        return parsed.replace(hour=23, minute=59) if pattern == "%Y-%m-%d" else parsed
    return None


def _spoken_date(text: str, local_now: datetime) -> datetime | None:
    """``text`` read by dateparser in English, relative to ``local_now``; naive local wall time, or None."""
    parser = DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    try:
        found = parser.get_date_data(text)
    except (ValueError, OverflowError):  # dateparser raises these for days like "feb 30" or year 99999
        return None
    if found.date_obj is None:
        return None
    parsed = found.date_obj.replace(tzinfo=None)
    # "tomorrow" or "in 3 days" carries the current clock time; a day means until its end.
    return parsed.replace(hour=23, minute=59, second=0, microsecond=0) if found.period != "time" else parsed
