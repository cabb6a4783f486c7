"""Digest content: what a status digest says, from one consistent read of the store. Pure.

A :class:`DigestSnapshot` is read once per round; :class:`DigestIndex` turns it
into arrays so that each subscriber's filtered view costs a few vectorised
operations, not a pass over every post. :func:`summarise` gives the numbers,
:func:`bot.digest_render.render` the words, cut to Discord's embed limits.

Nothing personal reaches a digest: rows carry no contacts or notes, and place
labels are city-level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from bot.geo import EARTH_RADIUS_KM
from bot.models import Urgency
from bot.taxonomy import SECTORS

OLDEST_CRITICAL_SHOWN = 5
URGENCIES = tuple(sorted(Urgency, key=lambda u: u.rank))
SECTOR_KEYS = tuple(s.key for s in SECTORS)
SHORT_LABELS = {s.key: s.label.split(" (")[0] for s in SECTORS}
CHANGES = ("proposed", "committed", "delivered")
NEED_LIST_HINT = "see `/need list`"


# ----- what the store reads -----


@dataclass(frozen=True, slots=True)
class DigestEvent:
    id: int
    name: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class OpenNeed:
    """An open need with something left to cover. No notes, no contact."""

    id: int
    event_id: int
    org_id: int
    sector: str
    urgency: Urgency
    item_label: str
    remaining: int
    unit: str
    place_label: str
    lat: float
    lon: float
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewPost:
    kind: str  # "need" or "offer"
    event_id: int
    org_id: int
    sector: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class MatchChange:
    """A match reaching ``change`` (proposed, committed, delivered) in the period; place is the need's."""

    event_id: int
    change: str
    quantity: int
    sector: str
    lat: float
    lon: float
    need_org_id: int
    offer_org_id: int


@dataclass(frozen=True, slots=True)
class FulfilmentDay:
    day: date
    requested: int
    delivered: int


@dataclass(frozen=True)
class DigestSnapshot:
    """Everything a round needs, read in one transaction; the period is (since, until]."""

    coalition_name: str
    timezone: str
    since: datetime
    until: datetime
    events: tuple[DigestEvent, ...]
    open_needs: tuple[OpenNeed, ...]
    new_posts: tuple[NewPost, ...]
    match_changes: tuple[MatchChange, ...]
    org_names: dict[int, str]
    fulfilment: tuple[FulfilmentDay, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestFilter:
    """A volunteer's choice: some sectors (empty means all) and, optionally, a circle."""

    sectors: frozenset[str] = frozenset()
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    place_label: str = ""

    @property
    def is_everything(self) -> bool:
        return not self.sectors and self.radius_km is None

    def describe(self) -> str:
        parts = [", ".join(SHORT_LABELS.get(s, s) for s in sorted(self.sectors))] if self.sectors else []
        if self.radius_km is not None and self.place_label:
            parts.append(f"within {self.radius_km:,.0f} km of {self.place_label}")
        return " · ".join(parts) or "everything"


# ----- numbers -----


@dataclass(frozen=True, slots=True)
class NeedLine:
    ref: str
    item_label: str
    remaining: int
    unit: str
    place_label: str
    age_hours: float


@dataclass(frozen=True)
class EventDigest:
    name: str
    open_by_sector: dict[str, tuple[int, ...]]  # sector -> counts in URGENCIES order
    critical_total: int
    oldest_critical: list[NeedLine]
    new_needs: int
    new_offers: int
    matches: dict[str, int]  # CHANGES -> count
    delivered_quantity: int
    active_orgs: list[str]

    @property
    def open_total(self) -> int:
        return sum(sum(c) for c in self.open_by_sector.values())

    @property
    def is_quiet(self) -> bool:
        return not (self.new_needs or self.new_offers or any(self.matches.values()))

    @property
    def is_empty(self) -> bool:
        return self.is_quiet and not self.open_total


@dataclass(frozen=True)
class DigestSummary:
    coalition_name: str
    timezone: str
    since: datetime
    until: datetime
    events: list[EventDigest]
    filter: DigestFilter = field(default_factory=DigestFilter)

    @property
    def is_quiet(self) -> bool:
        return all(e.is_quiet for e in self.events)

    @property
    def is_empty(self) -> bool:
        return all(e.is_empty for e in self.events)


class DigestIndex:
    """The snapshot as arrays, built once per round and shared by every subscriber's view."""

    def __init__(self, snapshot: DigestSnapshot) -> None:
        self.snapshot = snapshot
        self._event_pos = {e.id: i for i, e in enumerate(snapshot.events)}
        self._sector_pos = {k: i for i, k in enumerate(SECTOR_KEYS)}
        needs = [n for n in snapshot.open_needs if n.event_id in self._event_pos]
        self.needs = needs
        self.need = _Columns(self, needs)
        self.need_urgency = np.array([n.urgency.rank for n in needs], dtype=np.int64)
        self.need_created = np.array([n.created_at.timestamp() for n in needs], dtype=np.float64)
        posts = [p for p in snapshot.new_posts if p.event_id in self._event_pos]
        self.post = _Columns(self, posts)
        self.post_is_offer = np.array([p.kind == "offer" for p in posts], dtype=np.int64)
        self._org_ids = sorted(
            {p.org_id for p in posts} | {o for m in snapshot.match_changes for o in (m.need_org_id, m.offer_org_id)}
        )
        org_pos = {org_id: i for i, org_id in enumerate(self._org_ids)}
        self.post_org = np.array([org_pos[p.org_id] for p in posts], dtype=np.int64)
        changes = [m for m in snapshot.match_changes if m.event_id in self._event_pos]
        self.match = _Columns(self, changes)
        self.match_change = np.array([CHANGES.index(m.change) for m in changes], dtype=np.int64)
        self.match_quantity = np.array([m.quantity for m in changes], dtype=np.float64)
        self.match_orgs = np.array(
            [(org_pos[m.need_org_id], org_pos[m.offer_org_id]) for m in changes], dtype=np.int64
        ).reshape(-1, 2)

    def sector_position(self, key: str) -> int:
        return self._sector_pos.setdefault(key, len(self._sector_pos))

    def summarise(self, wanted: DigestFilter | None = None) -> DigestSummary:
        """The numbers for one view: the whole coalition, or one volunteer's filter."""
        wanted = wanted or DigestFilter()
        snap = self.snapshot
        n_events, n_sectors, n_urgencies = len(snap.events), len(self._sector_pos), len(URGENCIES)
        need_mask = self.need.mask(wanted)
        cells = (self.need.event * n_sectors + self.need.sector) * n_urgencies + self.need_urgency
        open_counts = np.bincount(cells[need_mask], minlength=n_events * n_sectors * n_urgencies).reshape(
            n_events, n_sectors, n_urgencies
        )
        critical = np.flatnonzero(need_mask & (self.need_urgency == Urgency.CRITICAL.rank))
        critical = critical[np.lexsort((self.need_created[critical], self.need.event[critical]))]
        post_mask = self.post.mask(wanted)
        post_counts = np.bincount(
            (self.post.event * 2 + self.post_is_offer)[post_mask], minlength=n_events * 2
        ).reshape(n_events, 2)
        match_mask = self.match.mask(wanted)
        match_counts = np.bincount(
            (self.match.event * 3 + self.match_change)[match_mask], minlength=n_events * 3
        ).reshape(n_events, 3)
        delivered = match_mask & (self.match_change == CHANGES.index("delivered"))
        delivered_qty = np.bincount(
            self.match.event[delivered], weights=self.match_quantity[delivered], minlength=n_events
        )
        active = self._active_orgs(post_mask, match_mask)
        sector_keys = list(self._sector_pos)
        counts_list = open_counts.tolist()
        events = []
        for e, event in enumerate(snap.events):
            by_sector = {sector_keys[s]: tuple(c) for s, c in enumerate(counts_list[e]) if any(c)}
            mine = critical[self.need.event[critical] == e]
            events.append(
                EventDigest(
                    name=event.name,
                    open_by_sector=dict(sorted(by_sector.items(), key=lambda kv: (-kv[1][0], -sum(kv[1]), kv[0]))),
                    critical_total=len(mine),
                    oldest_critical=[self._need_line(i) for i in mine[:OLDEST_CRITICAL_SHOWN]],
                    new_needs=int(post_counts[e, 0]),
                    new_offers=int(post_counts[e, 1]),
                    matches={c: int(match_counts[e, i]) for i, c in enumerate(CHANGES)},
                    delivered_quantity=int(delivered_qty[e]),
                    active_orgs=sorted(
                        (snap.org_names.get(o, f"org #{o}") for o in active.get(e, ())), key=str.casefold
                    ),
                )
            )
        return DigestSummary(snap.coalition_name, snap.timezone, snap.since, snap.until, events, wanted)

    def _active_orgs(self, post_mask: np.ndarray, match_mask: np.ndarray) -> dict[int, list[int]]:
        """Org ids with a post or a match change in the view, per event position."""
        n_orgs = len(self._org_ids)
        keys = np.concatenate(
            [
                self.post.event[post_mask] * n_orgs + self.post_org[post_mask],
                self.match.event[match_mask] * n_orgs + self.match_orgs[match_mask, 0],
                self.match.event[match_mask] * n_orgs + self.match_orgs[match_mask, 1],
            ]
        )
        active: dict[int, list[int]] = {}
        if len(keys):
            for key in np.flatnonzero(np.bincount(keys, minlength=len(self.snapshot.events) * n_orgs)).tolist():
                active.setdefault(key // n_orgs, []).append(self._org_ids[key % n_orgs])
        return active

    def _need_line(self, i: int) -> NeedLine:
        need = self.needs[i]
        age = (self.snapshot.until - need.created_at).total_seconds() / 3600
        return NeedLine(f"N-{need.id}", need.item_label, need.remaining, need.unit, need.place_label, max(age, 0.0))


class _Columns:
    """Event, sector and place of a list of rows, as arrays a filter can test at once."""

    def __init__(self, index: DigestIndex, rows: Sequence[OpenNeed | NewPost | MatchChange]) -> None:
        self.event = np.array([index._event_pos[r.event_id] for r in rows], dtype=np.int64)
        self.sector = np.array([index.sector_position(r.sector) for r in rows], dtype=np.int64)
        self.sector_keys = index._sector_pos
        self.lat = np.radians(np.array([r.lat for r in rows], dtype=np.float64))
        self.lon = np.radians(np.array([r.lon for r in rows], dtype=np.float64))
        self.cos_lat = np.cos(self.lat)

    def mask(self, wanted: DigestFilter) -> np.ndarray:
        keep = np.ones(len(self.event), dtype=bool)
        if wanted.sectors:
            wanted_sector = np.zeros(len(self.sector_keys), dtype=bool)
            wanted_sector[[self.sector_keys[s] for s in wanted.sectors if s in self.sector_keys]] = True
            keep &= wanted_sector[self.sector]
        if wanted.radius_km is not None and wanted.lat is not None and wanted.lon is not None:
            lat0, lon0 = math.radians(wanted.lat), math.radians(wanted.lon)
            a = np.sin((self.lat - lat0) / 2) ** 2 + math.cos(lat0) * self.cos_lat * np.sin((self.lon - lon0) / 2) ** 2
            keep &= 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) <= wanted.radius_km
        return keep


@dataclass(frozen=True)
class ChartData:
    title: str
    open_by_sector: dict[str, tuple[int, ...]]  # short sector label -> counts in URGENCIES order
    days: list[date]
    requested: list[int]  # cumulative quantity requested by needs
    delivered: list[int]  # cumulative quantity delivered


def chart_data(summary: DigestSummary, snapshot: DigestSnapshot) -> ChartData:
    """Open needs across the open events, and fulfilment since the first of them opened."""
    totals: dict[str, list[int]] = {}
    for event in summary.events:
        for sector, counts in event.open_by_sector.items():
            row = totals.setdefault(SHORT_LABELS.get(sector, sector), [0] * len(URGENCIES))
            for i, c in enumerate(counts):
                row[i] += c
    requested, delivered, running_r, running_d = [], [], 0, 0
    for day in snapshot.fulfilment:
        running_r += day.requested
        running_d += day.delivered
        requested.append(running_r)
        delivered.append(running_d)
    names = [e.name for e in snapshot.events]
    title = names[0] if len(names) == 1 else f"{len(names)} open events" if names else "No open event"
    ordered = dict(sorted(totals.items(), key=lambda kv: sum(kv[1])))
    return ChartData(
        title, {k: tuple(v) for k, v in ordered.items()}, [d.day for d in snapshot.fulfilment], requested, delivered
    )
