"""How a post is stored: the columns read back, the one meaning of *open*, a new post's fields, and a row read
back as a :class:`~bot.models.Post`. Shared by the store's modules that read posts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso
from bot.matching import NEAR_LEVEL
from bot.models import Post, PostKind, PostStatus, Urgency

# What every read of whole posts selects, in the order post_from_row reads it.
COLUMNS = (
    "id, kind, coalition_id, event_id, org_id, sector, item_key, item_label, quantity, remaining, unit,"
    " place_label, lat, lon, urgency, deadline, notes, status, posted_by, created_at, unconfirmed_since, reach_level"
)


def open_posts(alias: str = "") -> str:
    """The one meaning of an *open* post, in SQL (one ``?``: now): open, something left, deadline not passed.

    Lists, digests, /status, exports, autocomplete and matching all read it from here; its Python twin is
    :func:`bot.matching.is_matchable`. A post fully pledged but not yet delivered is not open: nothing of it
    can be asked for or offered any more.
    """
    p = f"{alias}." if alias else ""
    return f"{p}status = 'open' AND {p}remaining > 0 AND ({p}deadline IS NULL OR {p}deadline > ?)"


@dataclass(frozen=True, slots=True)
class NewPost:
    """What a service hands the store to insert (everything already validated)."""

    kind: PostKind
    coalition_id: int
    event_id: int
    org_id: int
    sector: str
    item_key: str
    item_label: str
    quantity: int
    unit: str
    place_key: str
    place_label: str
    lat: float
    lon: float
    urgency: Urgency
    deadline: datetime | None
    notes: str
    posted_by: int
    cell: int
    reach_level: int = NEAR_LEVEL  # where it starts looking (bot.services.proposals.starting_reach)
    # When its poster is first asked whether it still stands (bot.services.freshness); None: never asked.
    fresh_due_at: datetime | None = None


def post_from_row(row: tuple) -> Post:
    """A row of :data:`COLUMNS`, as a :class:`~bot.models.Post`."""
    (
        post_id, kind, coalition_id, event_id, org_id, sector, item_key, item_label, quantity, remaining, unit,
        place_label, lat, lon, urgency, deadline, notes, status, posted_by, created_at, unconfirmed_since,
        reach_level,
    ) = row  # fmt: skip
    return Post(
        id=post_id,
        kind=PostKind(kind),
        coalition_id=coalition_id,
        event_id=event_id,
        org_id=org_id,
        sector=sector,
        item_key=item_key,
        item_label=item_label,
        quantity=quantity,
        remaining=remaining,
        unit=unit,
        place_label=place_label,
        lat=lat,
        lon=lon,
        urgency=Urgency(urgency),
        deadline=from_iso(deadline),
        notes=notes,
        status=PostStatus(status),
        posted_by=posted_by,
        created_at=from_iso(created_at),  # type: ignore[arg-type]
        unconfirmed_since=from_iso(unconfirmed_since),
        reach_level=reach_level,
    )
