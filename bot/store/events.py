"""Events: a disaster response that posts belong to, open until an admin closes it."""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import Event, EventStatus
from bot.store.backend import Backend
from bot.store.orgs import name_key


class Events:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def insert(
        self,
        coalition_id: int,
        *,
        name: str,
        place_key: str | None,
        place_label: str,
        lat: float | None,
        lon: float | None,
        radius_km: float,
        opened_by: int,
        now: datetime,
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO events (coalition_id, name, name_key, place_key, place_label, lat, lon, radius_km,"
            " status, opened_by, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id",
            [coalition_id, name, name_key(name), place_key, place_label, lat, lon, radius_km, opened_by, to_iso(now)],
        )
        return int(cursor.fetchone()[0])

    def get(self, event_id: int) -> Event | None:
        rows = list(self.db.query("SELECT * FROM events WHERE id = ?", [event_id]))
        return _event(rows[0]) if rows else None

    def open_by_name(self, coalition_id: int, name: str) -> Event | None:
        rows = list(
            self.db.query(
                "SELECT * FROM events WHERE coalition_id = ? AND name_key = ? AND status = 'open'",
                [coalition_id, name_key(name)],
            )
        )
        return _event(rows[0]) if rows else None

    def list(self, coalition_id: int, *, status: EventStatus | None = None, limit: int = 100) -> list[Event]:
        sql = "SELECT * FROM events WHERE coalition_id = ?"
        params: list[object] = [coalition_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        params.append(limit)
        return [_event(row) for row in self.db.query(sql + " ORDER BY status DESC, opened_at DESC LIMIT ?", params)]

    def open_few(self, coalition_id: int, *, limit: int = 2) -> list[Event]:
        """Up to ``limit`` of the coalition's open events, in no particular order: enough to tell "the only one"."""
        return [
            _event(row)
            for row in self.db.query(
                "SELECT * FROM events WHERE coalition_id = ? AND status = 'open' LIMIT ?", [coalition_id, limit]
            )
        ]

    def search(self, coalition_id: int, text: str, *, status: EventStatus | None, limit: int = 25) -> list[Event]:
        needle = name_key(text)
        return [e for e in self.list(coalition_id, status=status, limit=500) if needle in name_key(e.name)][:limit]

    def claim_org_alert(self, coalition_id: int, name: str, org_id: int, event_id: int, now: datetime) -> bool:
        """Note that the org was told of this event (by name); False if it already was."""
        cursor = self.db.execute(
            "INSERT INTO event_alerts (coalition_id, event_key, org_id, event_id, sent_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [coalition_id, name_key(name), org_id, event_id, to_iso(now)],
        )
        return cursor.rowcount == 1

    def close(self, event_id: int, closed_by: int, now: datetime) -> None:
        self.db.execute(
            "UPDATE events SET status = 'closed', closed_by = ?, closed_at = ? WHERE id = ?",
            [closed_by, to_iso(now), event_id],
        )


def _event(row: dict) -> Event:
    return Event(
        id=row["id"],
        coalition_id=row["coalition_id"],
        name=row["name"],
        place_label=row["place_label"],
        lat=row["lat"],
        lon=row["lon"],
        radius_km=row["radius_km"],
        status=EventStatus(row["status"]),
        opened_at=from_iso(row["opened_at"]),  # type: ignore[arg-type]
        closed_at=from_iso(row["closed_at"]),
    )
