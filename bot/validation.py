"""Checks on what people type. Each failure is an ``InvalidInput`` that says how to fix it."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import InvalidInput
from bot.text import BIDI_CONTROLS, escape, strip_invisible

_MASS_MENTION = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_DISCORD_MENTION = re.compile(r"<(@[!&]?|#)\d+>")
_INVITE = re.compile(r"(discord(app)?\.com/invite|discord\.gg)/\S+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

MAX_DIGEST_TIMES = 6


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
    """A date ("2026-12-03") or date and time ("2026-12-03 18:00") in the coalition's zone, in the future."""
    text = (value or "").strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, pattern)  # noqa: DTZ007 - the zone is attached just below
        except ValueError:
            continue
        if pattern == "%Y-%m-%d":
            parsed = parsed.replace(hour=23, minute=59)
        moment = parsed.replace(tzinfo=zone)
        if moment <= now:
            raise InvalidInput(f"The {field} ({escape(text[:30])}) is already past; give a future date.")
        return moment
    raise InvalidInput(f'The {field} "{escape(text[:30])}" is not a date; use YYYY-MM-DD or "YYYY-MM-DD HH:MM".')
