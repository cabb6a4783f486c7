"""Synthetic coalitions at disaster scale: orgs posting needs and offers around one stricken area.

The shape follows what relief coordination data looks like after a hurricane:
- places are real towns from the bot's own gazetteer, most within a short drive of
  the disaster's centre (weight falls off with distance, rises with population),
  a few from further afield (national donors);
- sectors and items are heavily skewed: water, food and shelter make up most posts,
  and within a sector the catalogue's first items (its most requested) dominate;
- urgency is about 10% critical, 25% high, 50% normal, 15% low;
- quantities are log-normal, from a handful to thousands.

``PostSpec`` values drive everything: bulk loading for setup (one transaction through
the store's own tables), replay through the real services, and slash-command options.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.clock import to_iso
from bot.geo import Gazetteer, Place, default_gazetteer, distance_km
from bot.models import PostKind, Urgency
from bot.taxonomy import Taxonomy, default_taxonomy

CENTRE = "Houston"
RADIUS_KM = 250.0
BENCH_NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

SECTOR_WEIGHTS: dict[str, float] = {
    "wash": 0.30,
    "food": 0.25,
    "shelter": 0.20,
    "health": 0.07,
    "logistics": 0.04,
    "nutrition": 0.03,
    "camp": 0.02,
    "early_recovery": 0.03,
    "protection": 0.02,
    "telecom": 0.02,
    "education": 0.02,
}
URGENCY_WEIGHTS: dict[Urgency, float] = {
    Urgency.CRITICAL: 0.10,
    Urgency.HIGH: 0.25,
    Urgency.NORMAL: 0.50,
    Urgency.LOW: 0.15,
}
# How fast interest in an item falls along the catalogue order within its sector (Zipf exponent).
ITEM_SKEW = 1.3
# Place weight: population^0.5 times exp(-distance / DECAY_KM).
DECAY_KM = 60.0
FAR_SHARE = 0.03  # posts from beyond the event's radius: donors far away
FAR_MAX_KM = 600.0


MIXED_UNIT_SHARE = 0.25
NOT_PACKED = {"people", "trucks", "hours", "days", "families", "square metres", "metres", "tents"}


@dataclass(frozen=True, slots=True)
class PostSpec:
    """One synthetic need or offer, in the values a person would type."""

    kind: PostKind
    org_index: int
    sector: str
    item_key: str
    item_label: str
    quantity: int
    unit: str
    place: Place
    urgency: Urgency
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class OrgSpec:
    name: str
    sectors: tuple[str, ...]
    place: Place
    user_id: int


class _Weighted:
    """Draw from a fixed weighted list in O(log n)."""

    def __init__(self, values: Sequence, weights: Sequence[float]) -> None:
        self.values = list(values)
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass
class CoalitionGenerator:
    """Deterministic (seeded) source of orgs and posts around one disaster."""

    seed: int = 8
    centre: str = CENTRE
    radius_km: float = RADIUS_KM
    now: datetime = BENCH_NOW
    gazetteer: Gazetteer = field(default_factory=default_gazetteer)
    taxonomy: Taxonomy = field(default_factory=default_taxonomy)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.centre_place = self.gazetteer.resolve(self.centre)
        c = self.centre_place
        near, near_w, far, far_w = [], [], [], []
        for place in _places(self.gazetteer):
            d = distance_km(c.lat, c.lon, place.lat, place.lon)
            weight = math.sqrt(max(place.population, 1))
            if d <= self.radius_km:
                near.append(place)
                near_w.append(weight * math.exp(-d / DECAY_KM))
            elif d <= FAR_MAX_KM:
                far.append(place)
                far_w.append(weight)
        self._near = _Weighted(near, near_w)
        self._far = _Weighted(far, far_w) if far else self._near
        self.near_place_count = len(near)
        self._sectors = _Weighted(list(SECTOR_WEIGHTS), list(SECTOR_WEIGHTS.values()))
        self._items: dict[str, _Weighted] = {}
        for sector in SECTOR_WEIGHTS:
            items = [i for i in self.taxonomy.items if i.sector == sector]
            self._items[sector] = _Weighted(items, [1 / (rank + 1) ** ITEM_SKEW for rank in range(len(items))])
        self._urgency = _Weighted(list(URGENCY_WEIGHTS), list(URGENCY_WEIGHTS.values()))
        # Units come from a stream of their own, so mixing them leaves every other draw as it was.
        self._unit_rng = random.Random(self.seed * 7919 + 1)

    def place(self) -> Place:
        return (self._far if self.rng.random() < FAR_SHARE else self._near).draw(self.rng)

    def orgs(self, count: int, *, user_ids: Sequence[int] | None = None) -> list[OrgSpec]:
        """``count`` orgs; org i's coordinator is ``user_ids[i % len(user_ids)]`` (default: 10000 + i)."""
        rng = self.rng
        specs = []
        for i in range(count):
            main = self._sectors.draw(rng)
            extra = {self._sectors.draw(rng) for _ in range(rng.randint(0, 3))}
            user_id = user_ids[i % len(user_ids)] if user_ids else 10_000 + i
            name = f"Relief Org {i + 1:05d}"
            specs.append(OrgSpec(name, (main, *sorted(extra - {main})), self.place(), user_id))
        return specs

    def post(self, kind: PostKind, org_count: int) -> PostSpec:
        rng = self.rng
        sector = self._sectors.draw(rng)
        item = self._items[sector].draw(rng)
        urgency = self._urgency.draw(rng) if kind is PostKind.NEED else Urgency.NORMAL
        quantity = max(1, min(100_000, round(math.exp(rng.gauss(4.5, 1.3)))))
        deadline = None
        if rng.random() < 0.3:
            deadline = self.now + timedelta(hours=rng.randint(6, 24 * 14))
        return PostSpec(
            kind=kind,
            org_index=rng.randrange(org_count),
            sector=sector,
            item_key=item.key,
            item_label=item.label,
            **self._in_some_unit(item.unit, quantity),
            place=self.place(),
            urgency=urgency,
            deadline=deadline,
        )

    def _in_some_unit(self, default: str, quantity: int) -> dict[str, object]:
        """The quantity in the item's default unit, or (a quarter of the time) in another unit it converts to.

        Litres become gallons or m³, kg pounds or tonnes, counts cartons of 12: the same goods, as people
        write them, so matching is measured across units.
        """
        rng = self._unit_rng
        if rng.random() >= MIXED_UNIT_SHARE:
            return {"quantity": quantity, "unit": default}
        if default == "litres":
            unit, per = ("m³", 1000) if quantity >= 2000 and rng.random() < 0.5 else ("gallons", 3.785411784)
        elif default == "kg":
            unit, per = ("tonnes", 1000) if quantity >= 2000 and rng.random() < 0.5 else ("lb", 0.45359237)
        elif default in NOT_PACKED:
            return {"quantity": quantity, "unit": default}
        else:
            unit, per = f"{'pallets' if default == 'cartons' else 'cartons'} of 12 {default}", 12
        return {"quantity": max(1, round(quantity / per)), "unit": unit}

    def posts(self, count: int, org_count: int, *, need_share: float = 0.5) -> Iterator[PostSpec]:
        """``count`` posts in arrival order, needs and offers interleaved at random."""
        for _ in range(count):
            kind = PostKind.NEED if self.rng.random() < need_share else PostKind.OFFER
            yield self.post(kind, org_count)

    def posts_of(self, kind: PostKind, count: int, org_count: int) -> list[PostSpec]:
        return [self.post(kind, org_count) for _ in range(count)]


def _places(gazetteer: Gazetteer) -> list[Place]:
    if hasattr(type(gazetteer), "__iter__"):
        return list(gazetteer)
    return list(gazetteer._by_key.values())  # older Gazetteer without iteration


@dataclass(frozen=True, slots=True)
class LoadedCoalition:
    """Ids of what :func:`load_coalition` wrote."""

    coalition_id: int
    guild_id: int
    event_id: int
    org_ids: list[int]
    org_user_ids: list[int]
    admin_id: int


def load_coalition(
    db,
    generator: CoalitionGenerator,
    *,
    guild_id: int,
    guild_name: str = "Gulf Coast Relief",
    org_count: int,
    admin_id: int = 1,
    user_ids: Sequence[int] | None = None,
    channels: dict[str, int] | None = None,
) -> LoadedCoalition:
    """Write a coalition linked to ``guild_id`` with an open event and ``org_count`` verified orgs."""
    now = to_iso(generator.now)
    centre = generator.centre_place
    with db.atomic():
        cur = db.execute(
            "INSERT INTO coalitions (name, timezone, digest_times, created_at)"
            " VALUES (?, 'UTC', '08:00,20:00', ?) RETURNING id",
            [guild_name, now],
        )
        coalition_id = int(cur.fetchone()[0])
        db.execute(
            "INSERT INTO guild_links (guild_id, coalition_id, guild_name, linked_at) VALUES (?, ?, ?, ?)",
            [guild_id, coalition_id, guild_name, now],
        )
        for kind, channel_id in (channels or {}).items():
            db.execute(
                "INSERT INTO channels (guild_id, kind, channel_id, set_by, set_at) VALUES (?, ?, ?, ?, ?)",
                [guild_id, kind, channel_id, admin_id, now],
            )
        cur = db.execute(
            "INSERT INTO events (coalition_id, name, name_key, place_key, place_label, lat, lon, radius_km, status,"
            " opened_by, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id",
            [
                coalition_id, "Hurricane Bench", "hurricane bench", centre.key, centre.label, centre.lat,
                centre.lon, generator.radius_km, admin_id, now,
            ],
        )  # fmt: skip
        event_id = int(cur.fetchone()[0])
        org_ids, coordinators = [], []
        for spec in generator.orgs(org_count, user_ids=user_ids):
            cur = db.execute(
                "INSERT INTO orgs (coalition_id, name, name_key, sectors, place_key, place_label, lat, lon, contact,"
                " description, status, registered_by, verified_by, verified_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', 'verified', ?, ?, ?, ?) RETURNING id",
                [
                    coalition_id, spec.name, spec.name.casefold(), ",".join(spec.sectors), spec.place.key,
                    spec.place.label, spec.place.lat, spec.place.lon, f"ops{spec.user_id}@example.org",
                    spec.user_id, admin_id, now, now,
                ],
            )  # fmt: skip
            org_ids.append(int(cur.fetchone()[0]))
            coordinators.append(spec.user_id)
            db.execute(
                "INSERT INTO org_members (org_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?)",
                [org_ids[-1], spec.user_id, spec.user_id, now],
            )
    return LoadedCoalition(coalition_id, guild_id, event_id, org_ids, coordinators, admin_id)


def load_posts(
    db, loaded: LoadedCoalition, specs: Sequence[PostSpec], *, radius_km: float = RADIUS_KM, now: datetime = BENCH_NOW
) -> None:
    """Bulk-insert open posts (setup only; the measured paths go through the services).

    Columns later migrations derive from a post (its grid cell, its urgency's rank)
    are filled the way the store fills them, when the schema has them.
    """
    extra = [c for c in ("urgency_rank", "cell", "near_cell", "family") if "posts" in db.tables_with_column(c)]
    cell_of = local_cell_of = None
    if "cell" in extra:
        from bot.matching import cell_of
    if "near_cell" in extra:
        from bot.grid import local_cell_of
    # Posted over the three days before ``now``, so they are not "new" to anyone's rate limit.
    span = timedelta(days=3) / max(len(specs), 1)
    start = now - timedelta(days=3)

    def row(i: int, s: PostSpec) -> tuple:
        stamp = to_iso(start + span * i)
        base = (
            s.kind.value, loaded.coalition_id, loaded.event_id, loaded.org_ids[s.org_index], s.sector, s.item_key,
            s.item_label, s.quantity, s.quantity, s.unit, s.place.key, s.place.label, s.place.lat, s.place.lon,
            s.urgency.value, to_iso(s.deadline) if s.deadline else None, loaded.org_user_ids[s.org_index], stamp,
        )  # fmt: skip
        derived = {"urgency_rank": s.urgency.rank}
        if cell_of is not None:
            derived["cell"] = cell_of(s.place.lat, s.place.lon, radius_km)
        if local_cell_of is not None:
            derived["near_cell"] = local_cell_of(s.place.lat, s.place.lon)
        if "family" in extra:
            derived["family"] = default_taxonomy().family(s.item_key)
        return base + tuple(derived[c] for c in extra)

    names = (
        "kind, coalition_id, event_id, org_id, sector, item_key, item_label, quantity, remaining, unit, place_key,"
        " place_label, lat, lon, urgency, deadline, posted_by, created_at"
    )
    names += "".join(f", {c}" for c in extra)
    marks = ", ".join("?" for _ in range(18 + len(extra)))
    # One transaction of its own (executemany's), not a savepoint inside another: a savepoint keeps every page
    # it changes in a sub-journal, held in memory (temp_store), 23 MB for 10,000 posts.
    db.executemany(f"INSERT INTO posts ({names}) VALUES ({marks})", (row(i, s) for i, s in enumerate(specs)))  # noqa: S608
    db.execute("ANALYZE")
