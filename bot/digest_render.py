"""Digest words: a summary rendered as an embed, cut to Discord's limits. Pure.

Empty sections are left out; long lists end with "and N more" and a pointer to
``/need list`` rather than overflowing a field or the embed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.digests import (
    CHANGES,
    NEED_LIST_HINT,
    SHORT_LABELS,
    URGENCIES,
    DigestSummary,
    EventDigest,
)
from bot.text import escape

# Discord's embed limits.
EMBED_TOTAL = 6000
MAX_FIELDS = 25
FIELD_VALUE = 1024
FIELD_NAME = 256
DESCRIPTION = 4096
TITLE = 256
FOOTER = 2048


# ----- words -----


@dataclass(frozen=True)
class DigestEmbed:
    """An embed as plain data; ``to_dict`` is what Discord's API (and the outbox) take."""

    title: str
    description: str
    fields: list[tuple[str, str]]
    footer: str = ""
    image: str | None = None

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "title": self.title,
            "description": self.description,
            "fields": [{"name": n, "value": v, "inline": False} for n, v in self.fields],
            "color": 0x20808D,
        }
        if self.footer:
            data["footer"] = {"text": self.footer}
        if self.image:
            data["image"] = {"url": self.image}
        return data

    @property
    def size(self) -> int:
        """Characters Discord counts against the 6,000 limit."""
        return len(self.title) + len(self.description) + len(self.footer) + sum(len(n) + len(v) for n, v in self.fields)

    def text(self) -> str:
        """Everything a reader sees, for tests and transcripts."""
        parts = [self.title, self.description] + [f"{n}\n{v}" for n, v in self.fields] + [self.footer]
        return "\n\n".join(p for p in parts if p)


def render(summary: DigestSummary, *, personal: bool = False, image: str | None = None) -> DigestEmbed:
    """The digest's embed, within every Discord limit; empty sections are left out."""
    zone = ZoneInfo(summary.timezone)
    title = f"{'Your digest' if personal else 'Status digest'}: {escape(summary.coalition_name)}"[:TITLE]
    lines = [f"As of {_local(summary.until, zone)} ({summary.timezone}); changes since {_local(summary.since, zone)}."]
    if personal:
        lines.append(f"Filtered to: {escape(summary.filter.describe())}.")
    if not summary.events:
        lines.append("No event is open right now.")
    elif summary.is_quiet:
        lines.append("Quiet since the last digest: no new needs, offers or matches.")
    description = "\n".join(lines)[:DESCRIPTION]
    footer = (
        "Every open need: /need list · stop these messages: /digest unsubscribe"
        if personal
        else "Every open need: /need list · personal digests by DM: /digest subscribe"
    )
    budget = EMBED_TOTAL - len(title) - len(description) - len(footer)
    fields: list[tuple[str, str]] = []
    if summary.excess and not personal:
        # Listed first so it survives the cut: it is what coordinators pass on to donors.
        excess = _excess_field(summary)
        fields.append(excess)
        budget -= len(excess[0]) + len(excess[1])
    groups = [_event_fields(event, many=len(summary.events) > 1) for event in summary.events if not event.is_empty]
    reserve = 120  # room for the closing "more events" field
    for shown, group in enumerate(groups):
        size = sum(len(n) + len(v) for n, v in group)
        last = shown == len(groups) - 1
        room_fields = MAX_FIELDS - len(fields) - (0 if last else 1)
        if size > budget - (0 if last else reserve) or len(group) > room_fields:
            left = len(groups) - shown
            fields.append(("More events", f"…and {left} more event{'s' if left != 1 else ''}: {NEED_LIST_HINT}."))
            break
        fields.extend(group)
        budget -= size
    return DigestEmbed(title, description, fields, footer, image)


def _excess_field(summary: DigestSummary) -> tuple[str, str]:
    """Items offered beyond open needs, so coordinators can ask donors to hold them until someone asks."""
    lines = [
        f"**{escape(e.item_label)}**: {e.surplus:,} {escape(e.unit)} more offered than needed "
        f"({e.offered:,} offered, {e.needed:,} needed)"
        for e in summary.excess
    ]
    return ("Please don't send unless asked", fit_lines(lines, FIELD_VALUE))


def _event_fields(event: EventDigest, *, many: bool) -> list[tuple[str, str]]:
    prefix = f"{escape(event.name)} · " if many else ""
    fields = []
    if event.open_total:
        lines = [
            f"**{SHORT_LABELS.get(sector, sector)}**: {sum(counts)} — "
            + " · ".join(f"{c} {u.value}" for u, c in zip(URGENCIES, counts, strict=True) if c)
            for sector, counts in event.open_by_sector.items()
        ]
        fields.append((f"{prefix}Open needs ({event.open_total})", fit_lines(lines, FIELD_VALUE)))
    if event.oldest_critical:
        lines = [
            f"`{n.ref}` {escape(n.item_label)}: {n.remaining:,} {escape(n.unit)} · {escape(n.place_label)} · "
            f"{_age(n.age_hours)}{' · unconfirmed' if n.unconfirmed else ''}"
            for n in event.oldest_critical
        ]
        hidden = event.critical_total - len(event.oldest_critical)
        fields.append(
            (f"{prefix}Oldest unmet critical needs", fit_lines(lines, FIELD_VALUE, total=len(lines) + hidden))
        )
    activity = []
    if event.new_needs or event.new_offers:
        activity.append(f"New: {_count(event.new_needs, 'need')}, {_count(event.new_offers, 'offer')}")
    if any(event.matches.values()):
        activity.append("Matches: " + " · ".join(f"{event.matches[c]} {c}" for c in CHANGES if event.matches[c]))
    if event.delivered_quantity:
        activity.append(f"Deliveries: {event.delivered_quantity:,}")
    if activity:
        fields.append((f"{prefix}Since the last digest", "\n".join(activity)))
    if event.active_orgs:
        fields.append(
            (
                f"{prefix}Organisations active ({len(event.active_orgs)})",
                fit_lines(
                    [escape(name) for name in event.active_orgs],
                    FIELD_VALUE,
                    separator=", ",
                    more=lambda n: f"and {n} more",
                ),
            )
        )
    return [(name[:FIELD_NAME], value) for name, value in fields]


def fit_lines(
    lines: Sequence[str],
    limit: int,
    *,
    total: int | None = None,
    separator: str = "\n",
    more: Callable[[int], str] | None = None,
) -> str:
    """Join ``lines`` within ``limit`` characters, ending "…and N more" when some do not fit.

    ``total`` counts lines the caller already left out (they are "more" too).
    """
    total = len(lines) if total is None else total
    more = more or (lambda n: f"…and {n} more: {NEED_LIST_HINT}")
    longest = max(1, limit - len(separator) - len(more(total)))
    kept: list[str] = []
    length = 0  # of separator.join(kept)
    for line in lines:
        if len(line) > longest:
            line = line[: longest - 1] + "…"
        hidden_after = total - len(kept) - 1
        grown = length + (len(separator) if kept else 0) + len(line)
        tail = len(separator) + len(more(hidden_after)) if hidden_after else 0
        if grown + tail > limit:
            break
        kept.append(line)
        length = grown
    hidden = total - len(kept)
    return separator.join([*kept, more(hidden)] if hidden else kept)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _age(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} min old"
    if hours < 48:
        return f"{hours:.0f} h old"
    return f"{hours / 24:.0f} days old"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %H:%M}"


# ----- the chart's data -----
