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
    # Its poster let a freshness prompt pass unanswered: listed after the needs known to stand.
    unconfirmed: bool = False


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
    requested: float  # needs posted
    delivered: float  # needs filled: each delivery counts the share of its need it covered


@dataclass(frozen=True, slots=True)
class Excess:
    """An item offered beyond what open needs ask, by item and unit: donors should hold it until asked."""

    event_id: int
    item_label: str
    unit: str
    offered: int
    needed: int

    @property
    def surplus(self) -> int:
        return self.offered - self.needed


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
    excess: tuple[Excess, ...] = ()


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
    unconfirmed: bool = False


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
    # Items offered in excess of open needs: the channel's digest only, where coordinators read it for donors.
    excess: list[Excess] = field(default_factory=list)

    @property
    def is_quiet(self) -> bool:
        return all(e.is_quiet for e in self.events)

    @property
    def is_empty(self) -> bool:
        return all(e.is_empty for e in self.events)


class DigestIndex:
    """The snapshot grouped into cells, built once per round and shared by every subscriber's view.

    A cell is one (event, sector, place) with its counts. Posts sit at town
    centroids, so a round holds a few hundred distinct places and a few thousand
    cells however many posts there are. A filter keeps or drops whole cells (a
    sector is in or out, a place is inside the circle or not), so a view sums
    cells instead of testing every post, and the circle is tested once per place.
    """

    def __init__(self, snapshot: DigestSnapshot) -> None:
        self.snapshot = snapshot
        self._event_pos = {e.id: i for i, e in enumerate(snapshot.events)}
        self._sector_pos = {k: i for i, k in enumerate(SECTOR_KEYS)}
        needs = [n for n in snapshot.open_needs if n.event_id in self._event_pos]
        posts = [p for p in snapshot.new_posts if p.event_id in self._event_pos]
        changes = [m for m in snapshot.match_changes if m.event_id in self._event_pos]
        self.needs = needs
        rows: list[OpenNeed | NewPost | MatchChange] = [*needs, *posts, *changes]
        event = np.array([self._event_pos[r.event_id] for r in rows], dtype=np.int64)
        sector = np.array([self.sector_position(r.sector) for r in rows], dtype=np.int64)
        # A place as one complex number (lat + lon·i): a plain numeric sort, and no tuple per row to collect.
        coordinates = np.array([r.lat for r in rows], dtype=np.float64) + 1j * np.array(
            [r.lon for r in rows], dtype=np.float64
        )
        places, place = np.unique(coordinates, return_inverse=True)
        self._place_lat = np.radians(places.real)
        self._place_lon = np.radians(places.imag)
        self._place_cos_lat = np.cos(self._place_lat)
        n_events, n_sectors, n_places = len(snapshot.events), len(self._sector_pos), len(places)
        keys, cell = np.unique((event * n_sectors + sector) * n_places + place.reshape(-1), return_inverse=True)
        cell = cell.reshape(-1)
        self.cell_place = keys % n_places
        self.cell_sector = keys // n_places % n_sectors
        self.cell_event = keys // (n_places * n_sectors)
        # Cells are ordered by event, then sector: each (event, sector) is one run of cells.
        self._runs, self._run_start = np.unique(keys // n_places, return_index=True)
        self._event_start = np.searchsorted(self.cell_event, np.arange(n_events + 1))
        need_cell, post_cell, match_cell = np.split(cell, [len(needs), len(needs) + len(posts)])
        self.stats = self._cell_stats(needs, posts, changes, need_cell, post_cell, match_cell, len(keys))
        self._critical_cells(needs, need_cell)
        self._org_bits(posts, changes, post_cell, match_cell, len(keys))
        self._circles: dict[tuple[float, float, float], np.ndarray] = {}
        self._sectors: dict[frozenset[str], np.ndarray] = {}

    def sector_position(self, key: str) -> int:
        return self._sector_pos.setdefault(key, len(self._sector_pos))

    @staticmethod
    def _cell_stats(needs, posts, changes, need_cell, post_cell, match_cell, n_cells: int) -> np.ndarray:
        """Per cell: open needs by urgency, new needs and offers, match changes, quantity delivered."""
        urgency_pos = {u: i for i, u in enumerate(URGENCIES)}
        change_pos = {c: i for i, c in enumerate(CHANGES)}
        column = np.concatenate(
            [
                np.array([urgency_pos[n.urgency] for n in needs], dtype=np.int64),
                _NEW + np.array([p.kind == "offer" for p in posts], dtype=np.int64),
                _MATCHES + np.array([change_pos[m.change] for m in changes], dtype=np.int64),
                np.full(len(changes), _DELIVERED, dtype=np.int64),
            ]
        )
        # Deliveries are counted, not their quantities summed: litres and tablets don't add up.
        delivered = np.array([1.0 if m.change == "delivered" else 0.0 for m in changes], dtype=np.float64)
        weight = np.concatenate([np.ones(len(needs) + len(posts) + len(changes)), delivered])
        where = np.concatenate([need_cell, post_cell, match_cell, match_cell]) * _STATS + column
        return np.bincount(where, weights=weight, minlength=n_cells * _STATS).reshape(n_cells, _STATS)

    def _critical_cells(self, needs: list[OpenNeed], need_cell: np.ndarray) -> None:
        """Critical needs, oldest first within each event (unconfirmed ones after the rest), with their cells."""
        critical = np.flatnonzero(np.array([n.urgency is Urgency.CRITICAL for n in needs], dtype=bool))
        created = np.array([needs[i].created_at.timestamp() for i in critical], dtype=np.float64)
        unconfirmed = np.array([needs[i].unconfirmed for i in critical], dtype=bool)
        event = self.cell_event[need_cell[critical]]
        order = np.lexsort((created, unconfirmed, event))
        self._critical = critical[order]
        self._critical_cell = need_cell[self._critical]
        self._critical_start = np.searchsorted(event[order], np.arange(len(self.snapshot.events) + 1))

    def _org_bits(self, posts, changes, post_cell, match_cell, n_cells: int) -> None:
        """Which orgs posted or had a match change in each cell, as bits in the order their names sort."""
        names = self.snapshot.org_names
        org_ids = sorted({p.org_id for p in posts} | {o for m in changes for o in (m.need_org_id, m.offer_org_id)})
        org_ids.sort(key=lambda o: names.get(o, f"org #{o}").casefold())  # stable: ties stay in id order
        rank = {o: i for i, o in enumerate(org_ids)}
        self._names_by_rank = np.array([names.get(o, f"org #{o}") for o in org_ids] or [""], dtype=object)
        self._n_orgs = len(org_ids)
        cells = np.concatenate([post_cell, match_cell, match_cell])
        ranks = np.array(
            [rank[p.org_id] for p in posts] + [rank[m.need_org_id] for m in changes]
            + [rank[m.offer_org_id] for m in changes],
            dtype=np.int64,
        )  # fmt: skip
        self._org_bits_by_cell = np.zeros((n_cells, (len(org_ids) + 7) // 8), dtype=np.uint8)
        np.bitwise_or.at(self._org_bits_by_cell, (cells, ranks >> 3), (128 >> (ranks & 7)).astype(np.uint8))

    def _kept_cells(self, wanted: DigestFilter) -> np.ndarray:
        keep = np.ones(len(self.cell_event), dtype=bool)
        if wanted.sectors:
            keep &= self._sector_mask(wanted.sectors)[self.cell_sector]
        if wanted.radius_km is not None and wanted.lat is not None and wanted.lon is not None:
            keep &= self._circle_mask(wanted.lat, wanted.lon, wanted.radius_km)[self.cell_place]
        return keep

    def _sector_mask(self, sectors: frozenset[str]) -> np.ndarray:
        if sectors not in self._sectors:
            mask = np.zeros(len(self._sector_pos), dtype=bool)
            mask[[self._sector_pos[s] for s in sectors if s in self._sector_pos]] = True
            self._sectors[sectors] = mask
        return self._sectors[sectors]

    def _circle_mask(self, lat: float, lon: float, radius_km: float) -> np.ndarray:
        """Places within the circle, by haversine, once per distinct circle."""
        key = (lat, lon, radius_km)
        if key not in self._circles:
            lat0, lon0 = math.radians(lat), math.radians(lon)
            a = (
                np.sin((self._place_lat - lat0) / 2) ** 2
                + math.cos(lat0) * self._place_cos_lat * np.sin((self._place_lon - lon0) / 2) ** 2
            )
            self._circles[key] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) <= radius_km
        return self._circles[key]

    def summarise(self, wanted: DigestFilter | None = None) -> DigestSummary:
        """The numbers for one view: the whole coalition, or one volunteer's filter."""
        wanted = wanted or DigestFilter()
        snap = self.snapshot
        n_events, n_sectors = len(snap.events), len(self._sector_pos)
        keep = self._kept_cells(wanted)
        totals = np.zeros((n_events * n_sectors, _STATS))
        if len(keep):
            totals[self._runs] = np.add.reduceat(self.stats * keep[:, None], self._run_start, axis=0)
        by_event = totals.reshape(n_events, n_sectors, _STATS)
        open_counts = by_event[:, :, :_NEW].astype(np.int64).tolist()
        activity = by_event.sum(axis=1).astype(np.int64).tolist()
        critical_kept = keep[self._critical_cell]
        sector_keys = list(self._sector_pos)
        events = []
        for e, event in enumerate(snap.events):
            by_sector = {sector_keys[s]: tuple(c) for s, c in enumerate(open_counts[e]) if any(c)}
            lo, hi = self._critical_start[e], self._critical_start[e + 1]
            mine = self._critical[lo:hi][critical_kept[lo:hi]]
            counts = activity[e]
            events.append(
                EventDigest(
                    name=event.name,
                    open_by_sector=dict(sorted(by_sector.items(), key=lambda kv: (-kv[1][0], -sum(kv[1]), kv[0]))),
                    critical_total=len(mine),
                    oldest_critical=[self._need_line(i) for i in mine[:OLDEST_CRITICAL_SHOWN].tolist()],
                    new_needs=counts[_NEW],
                    new_offers=counts[_NEW + 1],
                    matches={c: counts[_MATCHES + i] for i, c in enumerate(CHANGES)},
                    delivered_quantity=counts[_DELIVERED],
                    active_orgs=self._active_orgs(e, keep),
                )
            )
        excess = list(snap.excess) if wanted.is_everything else []
        return DigestSummary(snap.coalition_name, snap.timezone, snap.since, snap.until, events, wanted, excess)

    def _active_orgs(self, event: int, keep: np.ndarray) -> list[str]:
        """Names of the orgs with a post or a match change in the view's cells of ``event``, sorted."""
        lo, hi = self._event_start[event], self._event_start[event + 1]
        bits = self._org_bits_by_cell[lo:hi][keep[lo:hi]]
        if not len(bits) or not self._n_orgs:
            return []
        active = np.unpackbits(np.bitwise_or.reduce(bits, axis=0), count=self._n_orgs)
        return self._names_by_rank[np.flatnonzero(active)].tolist()

    def _need_line(self, i: int) -> NeedLine:
        need = self.needs[i]
        age = (self.snapshot.until - need.created_at).total_seconds() / 3600
        return NeedLine(
            f"N-{need.id}",
            need.item_label,
            need.remaining,
            need.unit,
            need.place_label,
            max(age, 0.0),
            need.unconfirmed,
        )


# Columns of DigestIndex.stats: open needs by urgency, then new needs and offers, match changes, quantity delivered.
_NEW = len(URGENCIES)
_MATCHES = _NEW + 2
_DELIVERED = _MATCHES + len(CHANGES)
_STATS = _DELIVERED + 1


@dataclass(frozen=True)
class ChartData:
    title: str
    open_by_sector: dict[str, tuple[int, ...]]  # short sector label -> counts in URGENCIES order
    days: list[date]
    requested: list[float]  # cumulative needs posted
    delivered: list[float]  # cumulative needs filled (each delivery its share of its need)


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
