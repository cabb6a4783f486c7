"""Hazard feeds: each coalition's area and feed choices, the hazards seen, the alerts sent, each feed's poll state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import from_iso, to_iso
from bot.hazards.feeds import Hazard
from bot.store.backend import Backend


@dataclass(frozen=True, slots=True)
class Area:
    place_label: str
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class FeedChoice:
    feed: str
    enabled: bool
    min_severity: str


@dataclass(frozen=True, slots=True)
class Watching:
    """A coalition that wants a feed's hazards: inside its area, at or above its minimum."""

    coalition_id: int
    area: Area
    min_severity: str


@dataclass(frozen=True, slots=True)
class StoredHazard:
    id: int
    hazard: Hazard


@dataclass(frozen=True, slots=True)
class FeedState:
    feed: str
    etag: str | None
    last_modified: str | None
    failures: int
    next_poll_at: datetime | None
    last_error: str | None


class Hazards:
    def __init__(self, db: Backend) -> None:
        self.db = db

    # --- a coalition's choices ------------------------------------------------------------------------

    def set_area(self, coalition_id: int, area: Area, set_by: int, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO hazard_areas (coalition_id, place_label, lat, lon, radius_km, set_by, set_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (coalition_id) DO UPDATE SET place_label = excluded.place_label,"
            " lat = excluded.lat, lon = excluded.lon, radius_km = excluded.radius_km, set_by = excluded.set_by,"
            " set_at = excluded.set_at",
            [coalition_id, area.place_label, area.lat, area.lon, area.radius_km, set_by, to_iso(now)],
        )

    def area(self, coalition_id: int) -> Area | None:
        row = self.db.execute(
            "SELECT place_label, lat, lon, radius_km FROM hazard_areas WHERE coalition_id = ?", [coalition_id]
        ).fetchone()
        return Area(*row) if row else None

    def set_feed(self, coalition_id: int, choice: FeedChoice, set_by: int, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO hazard_feeds (coalition_id, feed, enabled, min_severity, set_by, set_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (coalition_id, feed) DO UPDATE SET enabled = excluded.enabled,"
            " min_severity = excluded.min_severity, set_by = excluded.set_by, set_at = excluded.set_at",
            [coalition_id, choice.feed, int(choice.enabled), choice.min_severity, set_by, to_iso(now)],
        )

    def feed_choices(self, coalition_id: int) -> dict[str, FeedChoice]:
        return {
            row[0]: FeedChoice(row[0], bool(row[1]), row[2])
            for row in self.db.execute(
                "SELECT feed, enabled, min_severity FROM hazard_feeds WHERE coalition_id = ?", [coalition_id]
            ).fetchall()
        }

    def watching(self, feed: str) -> list[Watching]:
        """Coalitions with an area, at least one linked server, and this feed on."""
        return [
            Watching(row[0], Area(row[1], row[2], row[3], row[4]), row[5])
            for row in self.db.execute(
                "SELECT a.coalition_id, a.place_label, a.lat, a.lon, a.radius_km, f.min_severity"
                " FROM hazard_feeds f JOIN hazard_areas a ON a.coalition_id = f.coalition_id"
                " WHERE f.feed = ? AND f.enabled = 1"
                " AND EXISTS (SELECT 1 FROM guild_links g WHERE g.coalition_id = f.coalition_id)"
                " ORDER BY a.coalition_id",
                [feed],
            ).fetchall()
        ]

    def watched_feeds(self) -> set[str]:
        return {
            row[0]
            for row in self.db.execute(
                "SELECT DISTINCT f.feed FROM hazard_feeds f JOIN hazard_areas a ON a.coalition_id = f.coalition_id"
                " WHERE f.enabled = 1 AND EXISTS (SELECT 1 FROM guild_links g WHERE g.coalition_id = f.coalition_id)"
            ).fetchall()
        }

    # --- hazards and alerts ---------------------------------------------------------------------------

    def remember(self, hazard: Hazard, now: datetime) -> int:
        """The hazard's id, stored the first time its feed reports it (same feed and source id: same hazard)."""
        self.db.execute(
            "INSERT INTO hazards (feed, source_id, kind, title, place, lat, lon, severity, rank,"
            " occurred_at, url, radius_km, first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [
                hazard.feed, hazard.source_id, hazard.kind, hazard.title, hazard.place, hazard.lat, hazard.lon,
                hazard.severity, hazard.rank, to_iso(hazard.occurred_at), hazard.url, hazard.radius_km, to_iso(now),
            ],
        )  # fmt: skip
        row = self.db.execute(
            "SELECT id FROM hazards WHERE feed = ? AND source_id = ?", [hazard.feed, hazard.source_id]
        ).fetchone()
        return int(row[0])

    def get(self, hazard_id: int) -> StoredHazard | None:
        rows = list(self.db.query("SELECT * FROM hazards WHERE id = ?", [hazard_id]))
        return StoredHazard(rows[0]["id"], _hazard(rows[0])) if rows else None

    def claim_alert(self, coalition_id: int, hazard_id: int, now: datetime) -> bool:
        """Note the coalition's alert for this hazard; False when it already had one."""
        cursor = self.db.execute(
            "INSERT INTO hazard_alerts (coalition_id, hazard_id, alerted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [coalition_id, hazard_id, to_iso(now)],
        )
        return cursor.rowcount == 1

    def alerted_twins(
        self, coalition_id: int, hazard: Hazard, window: timedelta, within_deg: float
    ) -> list[StoredHazard]:
        """Hazards of the same kind from other feeds, alerted to this coalition, near in time and place.

        Read from the hazards of the time window (indexed by time) inside a box of ``within_deg`` degrees,
        each checked against the coalition's alerts by key: a bounded read however many alerts it has had.
        """
        return [
            StoredHazard(row["id"], _hazard(row))
            for row in self.db.query(
                "SELECT h.* FROM hazards h WHERE h.occurred_at BETWEEN ? AND ? AND h.kind = ? AND h.feed != ?"
                " AND h.lat BETWEEN ? AND ?"
                " AND EXISTS (SELECT 1 FROM hazard_alerts a WHERE a.coalition_id = ? AND a.hazard_id = h.id)",
                [
                    to_iso(hazard.occurred_at - window), to_iso(hazard.occurred_at + window), hazard.kind,
                    hazard.feed, hazard.lat - within_deg, hazard.lat + within_deg, coalition_id,
                ],
            )
        ]  # fmt: skip

    def alert_event(self, coalition_id: int, hazard_id: int) -> tuple[bool, int | None]:
        """Whether the coalition was alerted to the hazard, and the event opened from the alert (if any)."""
        row = self.db.execute(
            "SELECT event_id FROM hazard_alerts WHERE coalition_id = ? AND hazard_id = ?", [coalition_id, hazard_id]
        ).fetchone()
        return (row is not None, row[0] if row else None)

    def link_event(self, coalition_id: int, hazard_id: int, event_id: int) -> None:
        self.db.execute(
            "UPDATE hazard_alerts SET event_id = ? WHERE coalition_id = ? AND hazard_id = ?",
            [event_id, coalition_id, hazard_id],
        )

    # --- polling ----------------------------------------------------------------------------------------

    def feed_state(self, feed: str) -> FeedState:
        row = self.db.execute(
            "SELECT etag, last_modified, failures, next_poll_at, last_error FROM feed_state WHERE feed = ?", [feed]
        ).fetchone()
        if row is None:
            return FeedState(feed, None, None, 0, None, None)
        return FeedState(feed, row[0], row[1], row[2], from_iso(row[3]), row[4])

    def save_feed_state(self, state: FeedState) -> None:
        self.db.execute(
            "INSERT INTO feed_state (feed, etag, last_modified, failures, next_poll_at, last_error)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (feed) DO UPDATE SET etag = excluded.etag,"
            " last_modified = excluded.last_modified, failures = excluded.failures,"
            " next_poll_at = excluded.next_poll_at, last_error = excluded.last_error",
            [
                state.feed, state.etag, state.last_modified, state.failures,
                to_iso(state.next_poll_at) if state.next_poll_at else None, state.last_error,
            ],
        )  # fmt: skip


def _hazard(row: dict) -> Hazard:
    return Hazard(
        feed=row["feed"],
        source_id=row["source_id"],
        kind=row["kind"],
        title=row["title"],
        place=row["place"],
        lat=row["lat"],
        lon=row["lon"],
        severity=row["severity"],
        rank=row["rank"],
        occurred_at=from_iso(row["occurred_at"]),  # type: ignore[arg-type]
        url=row["url"],
        radius_km=row["radius_km"],
    )
