"""Time comes from an injected clock so tests and the scheduler agree on `now`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock: an aware UTC datetime."""
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Stored form of a moment: ISO 8601 in UTC, which sorts as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; attach a time zone")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    """Inverse of :func:`to_iso`; ``None`` stays ``None``."""
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(UTC)
