"""Organisations and their members (the coordinators who act for them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import Org, OrgStatus
from bot.store.backend import Backend
from bot.text import identity_key


def name_key(name: str) -> str:
    """Two names a reader could not tell apart are the same org (or open event): see :func:`bot.text.identity_key`."""
    return identity_key(name)


class Orgs:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def insert(
        self,
        coalition_id: int,
        *,
        name: str,
        sectors: tuple[str, ...],
        place_key: str,
        place_label: str,
        lat: float,
        lon: float,
        contact: str,
        description: str,
        registered_by: int,
        now: datetime,
        registrant_is_member: bool = True,
        home_guild_id: int | None = None,
    ) -> int:
        row = self.db.execute(
            "INSERT INTO orgs (coalition_id, name, name_key, sectors, place_key, place_label, lat, lon,"
            " contact, description, status, registered_by, created_at, home_guild_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING id",
            [
                coalition_id, name, name_key(name), ",".join(sectors), place_key, place_label,
                lat, lon, contact, description, registered_by, to_iso(now), home_guild_id,
            ],
        ).fetchone()  # fmt: skip
        org_id = int(row[0])
        if registrant_is_member:
            self.add_member(org_id, registered_by, added_by=registered_by, now=now)
        return org_id

    def get(self, org_id: int) -> Org | None:
        rows = list(self.db.query("SELECT * FROM orgs WHERE id = ?", [org_id]))
        return _org(rows[0]) if rows else None

    def get_many(self, org_ids: Iterable[int]) -> dict[int, Org]:
        """These orgs by id, in one statement (those that don't exist are left out)."""
        ids = list(dict.fromkeys(org_ids))
        if not ids:
            return {}
        sql = f"SELECT * FROM orgs WHERE id IN ({', '.join('?' for _ in ids)})"  # noqa: S608 - placeholders only
        return {row["id"]: _org(row) for row in self.db.query(sql, ids)}

    def by_name(self, coalition_id: int, name: str) -> Org | None:
        rows = list(
            self.db.query("SELECT * FROM orgs WHERE coalition_id = ? AND name_key = ?", [coalition_id, name_key(name)])
        )
        return _org(rows[0]) if rows else None

    def search(self, coalition_id: int, text: str, *, limit: int = 25) -> list[Org]:
        pattern = "%" + name_key(text).replace("%", "").replace("_", "") + "%"
        return [
            _org(row)
            for row in self.db.query(
                "SELECT * FROM orgs WHERE coalition_id = ? AND name_key LIKE ? ORDER BY name_key LIMIT ?",
                [coalition_id, pattern, limit],
            )
        ]

    def list(self, coalition_id: int, *, status: OrgStatus | None = None) -> list[Org]:
        sql = "SELECT * FROM orgs WHERE coalition_id = ?"
        params: list[object] = [coalition_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        return [_org(row) for row in self.db.query(sql + " ORDER BY name_key", params)]

    def verify(self, org_id: int, verified_by: int, now: datetime) -> None:
        self.db.execute(
            "UPDATE orgs SET status = 'verified', verified_by = ?, verified_at = ? WHERE id = ?",
            [verified_by, to_iso(now), org_id],
        )

    def add_member(self, org_id: int, user_id: int, *, added_by: int, now: datetime) -> bool:
        """Adds the member; False when they already were one."""
        cursor = self.db.execute(
            "INSERT INTO org_members (org_id, user_id, added_by, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [org_id, user_id, added_by, to_iso(now)],
        )
        return cursor.rowcount == 1

    def remove_member(self, org_id: int, user_id: int) -> bool:
        """Removes the member; False when they were not one."""
        cursor = self.db.execute("DELETE FROM org_members WHERE org_id = ? AND user_id = ?", [org_id, user_id])
        return cursor.rowcount == 1

    def member_ids(self, org_id: int) -> list[int]:
        return [
            row["user_id"]
            for row in self.db.query(
                "SELECT user_id FROM org_members WHERE org_id = ? ORDER BY added_at, user_id", [org_id]
            )
        ]

    def member_ids_of(self, org_ids: Iterable[int]) -> dict[int, list[int]]:
        """Each of these orgs' members (as :meth:`member_ids`: oldest first), in one statement."""
        ids = list(dict.fromkeys(org_ids))
        members: dict[int, list[int]] = {org_id: [] for org_id in ids}
        if not ids:
            return members
        rows = self.db.execute(
            f"SELECT org_id, user_id FROM org_members WHERE org_id IN ({', '.join('?' for _ in ids)})"  # noqa: S608
            " ORDER BY org_id, added_at, user_id",
            ids,
        ).fetchall()
        for org_id, user_id in rows:
            members[org_id].append(user_id)
        return members

    def of_member(self, coalition_id: int, user_id: int) -> list[Org]:
        return [
            _org(row)
            for row in self.db.query(
                "SELECT o.* FROM orgs o JOIN org_members m ON m.org_id = o.id"
                " WHERE o.coalition_id = ? AND m.user_id = ? ORDER BY o.name_key",
                [coalition_id, user_id],
            )
        ]

    def is_member(self, org_id: int, user_id: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM org_members WHERE org_id = ? AND user_id = ?", [org_id, user_id]).fetchone()
            is not None
        )

    def contacts_past_retention(self, cutoff: str) -> list[tuple[int, int]]:
        """``(org_id, coalition_id)`` of orgs whose contact retention no longer allows (see bot.retention)."""
        return [tuple(row) for row in self.db.execute(_PAST_RETENTION, {"cutoff": cutoff}).fetchall()]

    def set_event_alerts(self, org_id: int, on: bool) -> None:
        self.db.execute("UPDATE orgs SET event_alerts = ? WHERE id = ?", [int(on), org_id])

    def verified_with_alerts(self, coalition_id: int) -> list[Org]:
        """Verified orgs that want a DM when an event opens near them."""
        return [
            _org(row)
            for row in self.db.query(
                "SELECT * FROM orgs WHERE coalition_id = ? AND status = 'verified' AND event_alerts = 1 ORDER BY id",
                [coalition_id],
            )
        ]

    def erase_contact(self, org_id: int) -> None:
        self.db.execute("UPDATE orgs SET contact = '' WHERE id = ?", [org_id])


# An org's events are those it posted in, or every event of its coalition when it never posted; its
# contact may go once all of them closed before the cutoff and no event of its coalition is open.
_PAST_RETENTION = """
SELECT o.id, o.coalition_id FROM orgs o
WHERE o.contact != '' AND o.created_at <= :cutoff
  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.coalition_id = o.coalition_id AND e.status = 'open')
  AND EXISTS (SELECT 1 FROM events e WHERE e.coalition_id = o.coalition_id)
  AND NOT EXISTS (
    SELECT 1 FROM events e
    WHERE e.coalition_id = o.coalition_id AND (e.closed_at IS NULL OR e.closed_at > :cutoff)
      AND (e.id IN (SELECT p.event_id FROM posts p WHERE p.org_id = o.id)
           OR NOT EXISTS (SELECT 1 FROM posts p WHERE p.org_id = o.id))
  )
ORDER BY o.id
"""


def _org(row: dict) -> Org:
    return Org(
        id=row["id"],
        coalition_id=row["coalition_id"],
        name=row["name"],
        sectors=tuple(s for s in row["sectors"].split(",") if s),
        place_label=row["place_label"],
        lat=row["lat"],
        lon=row["lon"],
        contact=row["contact"],
        description=row["description"],
        status=OrgStatus(row["status"]),
        registered_by=row["registered_by"],
        created_at=from_iso(row["created_at"]),  # type: ignore[arg-type]
        home_guild_id=row.get("home_guild_id"),
        event_alerts=bool(row.get("event_alerts", 1)),
    )
