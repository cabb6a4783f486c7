"""Writes for CSV import: records inserted as they were exported, with their ids, quantities, statuses and dates.

An export names every record by id and every moment in ISO UTC, so importing it
into another database writes the same rows back. Each verb also answers whether
a record is already here, which makes importing the same file twice a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_iso
from bot.grid import local_cell_of
from bot.models import EventStatus, OrgStatus, PostKind, PostStatus, Urgency
from bot.store.backend import Backend
from bot.store.orgs import name_key


def _iso(moment: datetime | None) -> str | None:
    return to_iso(moment) if moment is not None else None


@dataclass(frozen=True, slots=True)
class EventRecord:
    name: str
    place_key: str | None
    place_label: str
    lat: float | None
    lon: float | None
    radius_km: float
    status: EventStatus
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrgRecord:
    name: str
    sectors: tuple[str, ...]
    place_key: str
    place_label: str
    lat: float
    lon: float
    contact: str
    description: str
    status: OrgStatus
    created_at: datetime
    verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class PostRecord:
    kind: PostKind
    event_id: int
    org_id: int
    sector: str
    item_key: str
    item_label: str
    quantity: int
    remaining: int
    unit: str
    place_key: str
    place_label: str
    lat: float
    lon: float
    urgency: Urgency
    deadline: datetime | None
    notes: str
    status: PostStatus
    created_at: datetime
    closed_at: datetime | None
    cell: int


@dataclass(frozen=True, slots=True)
class MatchRecord:
    event_id: int
    need_id: int
    offer_id: int
    score: float
    distance_km: float
    quantity: int
    offer_quantity: int
    status: str
    created_at: datetime
    committed_at: datetime | None
    delivered_at: datetime | None
    closed_at: datetime | None


class Imports:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def create_coalition(self, name: str, *, timezone: str, digest_times: str, now: datetime) -> int:
        """A coalition of no server yet (a server joins it later)."""
        cursor = self.db.execute(
            "INSERT INTO coalitions (name, timezone, digest_times, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            [name, timezone, digest_times, to_iso(now)],
        )
        return int(cursor.fetchone()[0])

    def _insert(self, table: str, record_id: int | None, columns: str, values: list[object]) -> int:
        """Insert one record under ``record_id`` (its id in the export), or under a new id when None."""
        if record_id is not None:
            columns, values = f"id, {columns}", [record_id, *values]
        marks = ", ".join("?" for _ in values)
        row = self.db.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id",  # noqa: S608 - our own names
            values,
        ).fetchone()
        if record_id is not None:
            self.db.after_explicit_ids(table)
        return int(row[0])

    def id_taken(self, table: str, record_id: int) -> bool:
        assert table in {"events", "orgs", "posts", "matches"}  # noqa: S101 - our own table names only
        return self.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [record_id]).fetchone() is not None  # noqa: S608

    def same_event(self, coalition_id: int, name: str, opened_at: datetime | None) -> int | None:
        """The event of that name (opened at that moment, when given; else the open one)."""
        if opened_at is not None:
            sql, params = " AND opened_at = ?", [to_iso(opened_at)]
        else:
            sql, params = " AND status = 'open'", []
        row = self.db.execute(
            "SELECT id FROM events WHERE coalition_id = ? AND name_key = ?" + sql + " ORDER BY id DESC LIMIT 1",  # noqa: S608
            [coalition_id, name_key(name), *params],
        ).fetchone()
        return int(row[0]) if row else None

    def events_by_name(self, coalition_id: int) -> dict[str, tuple[int, str]]:
        """Each event name key -> (id, status) of its newest event, an open one first."""
        found: dict[str, tuple[int, str]] = {}
        for event_id, key, status in self.db.execute(
            "SELECT id, name_key, status FROM events WHERE coalition_id = ? ORDER BY status = 'open', id",
            [coalition_id],
        ).fetchall():
            found[key] = (int(event_id), status)
        return found

    def insert_event(self, coalition_id: int, event: EventRecord, *, event_id: int | None, actor_id: int) -> int:
        return self._insert(
            "events",
            event_id,
            "coalition_id, name, name_key, place_key, place_label, lat, lon, radius_km,"
            " status, opened_by, opened_at, closed_by, closed_at",
            [
                coalition_id, event.name, name_key(event.name), event.place_key, event.place_label,
                event.lat, event.lon, event.radius_km, event.status.value, actor_id, to_iso(event.opened_at),
                actor_id if event.closed_at else None, _iso(event.closed_at),
            ],
        )  # fmt: skip

    def insert_org(self, coalition_id: int, org: OrgRecord, *, org_id: int | None, actor_id: int) -> int:
        return self._insert(
            "orgs",
            org_id,
            "coalition_id, name, name_key, sectors, place_key, place_label, lat, lon, contact,"
            " description, status, registered_by, verified_by, verified_at, created_at",
            [
                coalition_id, org.name, name_key(org.name), ",".join(org.sectors), org.place_key,
                org.place_label, org.lat, org.lon, org.contact, org.description, org.status.value, actor_id,
                actor_id if org.verified_at else None, _iso(org.verified_at), to_iso(org.created_at),
            ],
        )  # fmt: skip

    def same_post(self, coalition_id: int, post: PostRecord, *, posted_known: bool) -> int | None:
        """A post already here: same org, kind, item, quantity, unit and place, posted at the same moment.

        A row that does not say when it was posted (a hand-made file) is the same post when its
        deadline and notes match too, whenever it was imported.
        """
        sql = (
            "SELECT id FROM posts WHERE coalition_id = ? AND org_id = ? AND kind = ? AND item_key = ?"
            " AND quantity = ? AND unit = ? AND place_key = ?"
        )
        params: list[object] = [
            coalition_id, post.org_id, post.kind.value, post.item_key, post.quantity, post.unit, post.place_key,
        ]  # fmt: skip
        if posted_known:
            sql += " AND created_at = ?"
            params.append(to_iso(post.created_at))
        else:
            sql += " AND COALESCE(deadline, '') = ? AND notes = ?"
            params += [_iso(post.deadline) or "", post.notes]
        row = self.db.execute(sql + " ORDER BY id LIMIT 1", params).fetchone()
        return int(row[0]) if row else None

    def insert_post(self, coalition_id: int, post: PostRecord, *, post_id: int | None, actor_id: int) -> int:
        return self._insert(
            "posts",
            post_id,
            "kind, coalition_id, event_id, org_id, sector, item_key, item_label, quantity,"
            " remaining, unit, place_key, place_label, lat, lon, urgency, urgency_rank, deadline, notes, status,"
            " posted_by, created_at, closed_at, cell, near_cell",
            [
                post.kind.value, coalition_id, post.event_id, post.org_id, post.sector, post.item_key,
                post.item_label, post.quantity, post.remaining, post.unit, post.place_key, post.place_label,
                post.lat, post.lon, post.urgency.value, post.urgency.rank, _iso(post.deadline), post.notes,
                post.status.value, actor_id, to_iso(post.created_at), _iso(post.closed_at), post.cell,
                local_cell_of(post.lat, post.lon),
            ],
        )  # fmt: skip

    def match_of_pair(self, need_id: int, offer_id: int) -> int | None:
        row = self.db.execute(
            "SELECT id FROM matches WHERE need_id = ? AND offer_id = ?", [need_id, offer_id]
        ).fetchone()
        return int(row[0]) if row else None

    def insert_match(self, coalition_id: int, match: MatchRecord, *, match_id: int | None, actor_id: int) -> int:
        closed_by = actor_id if match.closed_at else None
        return self._insert(
            "matches",
            match_id,
            "coalition_id, event_id, need_id, offer_id, score, distance_km, quantity,"
            " offer_quantity, status, closed_by, created_at, committed_at, delivered_at, closed_at",
            [
                coalition_id, match.event_id, match.need_id, match.offer_id, match.score,
                match.distance_km, match.quantity, match.offer_quantity, match.status, closed_by,
                to_iso(match.created_at),
                _iso(match.committed_at), _iso(match.delivered_at), _iso(match.closed_at),
            ],
        )  # fmt: skip
