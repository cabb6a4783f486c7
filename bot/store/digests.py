"""Digests: volunteers' subscriptions, the slots already sent, their charts, and the digest's read.

``snapshot`` is the one heavy read; it runs in a single transaction so every
number in a digest comes from the same moment, and is meant for a worker
thread with its own read-only connection.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import from_iso, to_iso
from bot.digests import (
    DigestEvent,
    DigestFilter,
    DigestSnapshot,
    Excess,
    FulfilmentDay,
    MatchChange,
    NewPost,
    OpenNeed,
)
from bot.models import Urgency
from bot.store.backend import Backend, insert_rows
from bot.store.outbox import ROW_COLUMNS
from bot.store.post_rows import open_posts

MAX_CHART_DAYS = 366


@dataclass(frozen=True, slots=True)
class Subscription:
    coalition_id: int
    user_id: int
    filter: DigestFilter
    dm_closed: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row of a round: ``target`` is ``channel:<id>`` or ``user:<id>``; ``payload`` is JSON text.

    Payloads arrive encoded so a round's thousands of them are encoded off the event loop.
    """

    kind: str
    target: str
    payload: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    """A claimed round's personal rows: (user id, view id) in sending order, the first ``queued`` already queued."""

    run_id: int
    coalition_id: int
    personal: list[tuple[int, int]]
    queued: int
    created_at: datetime


class Digests:
    def __init__(self, db: Backend) -> None:
        self.db = db

    # ----- subscriptions -----

    def subscribe(self, coalition_id: int, user_id: int, wanted: DigestFilter, now: datetime) -> None:
        """Start or change a subscription; subscribing again reopens one marked DM-closed."""
        self.db.execute(
            "INSERT INTO subscriptions (coalition_id, user_id, sectors, place_label, lat, lon, radius_km, dm_closed,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (coalition_id, user_id) DO UPDATE SET"
            " sectors = excluded.sectors, place_label = excluded.place_label, lat = excluded.lat,"
            " lon = excluded.lon, radius_km = excluded.radius_km, dm_closed = 0",
            [
                coalition_id, user_id, ",".join(sorted(wanted.sectors)), wanted.place_label,
                wanted.lat, wanted.lon, wanted.radius_km, to_iso(now),
            ],
        )  # fmt: skip

    def unsubscribe(self, coalition_id: int, user_id: int) -> bool:
        """Stop the subscription; False when there was none."""
        cursor = self.db.execute(
            "DELETE FROM subscriptions WHERE coalition_id = ? AND user_id = ?", [coalition_id, user_id]
        )
        return cursor.rowcount == 1

    def subscription(self, coalition_id: int, user_id: int) -> Subscription | None:
        rows = list(
            self.db.query("SELECT * FROM subscriptions WHERE coalition_id = ? AND user_id = ?", [coalition_id, user_id])
        )
        return _subscription(rows[0]) if rows else None

    def subscribers(self, coalition_id: int) -> list[Subscription]:
        """Subscriptions whose DMs are open, in a stable order."""
        return [
            _subscription(row)
            for row in self.db.query(
                "SELECT * FROM subscriptions WHERE coalition_id = ? AND dm_closed = 0 ORDER BY user_id", [coalition_id]
            )
        ]

    def mark_dm_closed(self, coalition_id: int, user_id: int) -> None:
        self.db.execute(
            "UPDATE subscriptions SET dm_closed = 1 WHERE coalition_id = ? AND user_id = ?", [coalition_id, user_id]
        )

    def coalition_of_guild(self, guild_id: int) -> int | None:
        row = self.db.execute("SELECT coalition_id FROM guild_links WHERE guild_id = ?", [guild_id]).fetchone()
        return int(row[0]) if row else None

    # ----- rounds -----

    def has_run(self, coalition_id: int, slot: datetime) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM digest_runs WHERE coalition_id = ? AND slot = ?", [coalition_id, to_iso(slot)]
            ).fetchone()
            is not None
        )

    def note_digest_now(self, coalition_id: int, at: datetime) -> None:
        """Remember a digest someone asked for with /digest now (scheduled ones are in digest_runs)."""
        self.db.execute("UPDATE coalitions SET last_digest_now_at = ? WHERE id = ?", [to_iso(at), coalition_id])

    def last_digest(self, coalition_id: int) -> tuple[datetime, str] | None:
        """The latest digest of either kind, and which kind: "scheduled" or "on demand"."""
        scheduled = self.last_run_at(coalition_id)
        row = self.db.execute("SELECT last_digest_now_at FROM coalitions WHERE id = ?", [coalition_id]).fetchone()
        asked = from_iso(row[0]) if row and row[0] else None
        found = [(at, kind) for at, kind in ((scheduled, "scheduled"), (asked, "on demand")) if at is not None]
        return max(found, key=lambda pair: pair[0]) if found else None

    def last_run_at(self, coalition_id: int) -> datetime | None:
        """When the latest slot's digest was read: where the next digest's period starts."""
        row = self.db.execute(
            "SELECT ran_at FROM digest_runs WHERE coalition_id = ? ORDER BY slot DESC LIMIT 1", [coalition_id]
        ).fetchone()
        return from_iso(row[0]) if row else None

    def run_count(self, coalition_id: int) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM digest_runs WHERE coalition_id = ?", [coalition_id]).fetchone()[0]
        )

    def claim_run(self, coalition_id: int, slot: datetime, ran_at: datetime) -> int | None:
        """Record the slot as sent; None when it already was (the slot goes out at most once)."""
        row = self.db.execute(
            "INSERT INTO digest_runs (coalition_id, slot, ran_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            [coalition_id, to_iso(slot), to_iso(ran_at)],
        ).fetchone()
        return int(row[0]) if row else None

    def save_chart(self, run_id: int, png: bytes, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO digest_charts (run_id, png, created_at) VALUES (?, ?, ?)", [run_id, png, to_iso(now)]
        )

    def chart(self, run_id: int) -> bytes | None:
        row = self.db.execute("SELECT png FROM digest_charts WHERE run_id = ?", [run_id]).fetchone()
        return bytes(row[0]) if row else None

    def prune_charts(self, before: datetime) -> int:
        """Forget charts older than ``before``; their digests were delivered or given up long ago."""
        return self.db.execute("DELETE FROM digest_charts WHERE created_at < ?", [to_iso(before)]).rowcount

    def save_views(self, run_id: int, embeds: list[str], now: datetime) -> None:
        """A round's distinct personal digests, as embed JSON; view ids are positions in ``embeds``."""
        views = [(run_id, view_id, embed) for view_id, embed in enumerate(embeds)]
        insert_rows(self.db, "digest_views (run_id, view_id, embed)", views)

    def view(self, run_id: int, view_id: int) -> dict[str, object] | None:
        """The embed of one personal digest, as Discord's API takes it; None once pruned."""
        row = self.db.execute(
            "SELECT embed FROM digest_views WHERE run_id = ? AND view_id = ?", [run_id, view_id]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def prune_views(self, before: datetime) -> int:
        """Forget the personal digests of rounds read before ``before``; they were sent or given up long ago."""
        return self.db.execute(
            "DELETE FROM digest_views WHERE run_id IN (SELECT id FROM digest_runs WHERE ran_at < ?)", [to_iso(before)]
        ).rowcount

    def save_plan(self, run_id: int, coalition_id: int, personal: str, total: int, now: datetime) -> None:
        """The personal rows a round still has to queue: ``personal`` is JSON of [user id, view id] pairs."""
        self.db.execute(
            "INSERT INTO digest_plans (run_id, coalition_id, personal, total, created_at) VALUES (?, ?, ?, ?, ?)",
            [run_id, coalition_id, personal, total, to_iso(now)],
        )

    def advance_plan(self, run_id: int, queued: int, upto: int) -> bool:
        """Mark rows ``queued``..``upto`` of the plan as queued; False when someone queued them first."""
        cursor = self.db.execute(
            "UPDATE digest_plans SET queued = ? WHERE run_id = ? AND queued = ?", [upto, run_id, queued]
        )
        if cursor.rowcount == 1:
            self.db.execute("DELETE FROM digest_plans WHERE run_id = ? AND queued = total", [run_id])
        return cursor.rowcount == 1

    def unfinished_plans(self) -> list[Plan]:
        """Rounds claimed but not fully queued: the process stopped part-way."""
        return [
            Plan(run_id, coalition_id, [(int(u), int(v)) for u, v in json.loads(personal)], queued, from_iso(at))  # type: ignore[arg-type]
            for run_id, coalition_id, personal, queued, at in self.db.execute(
                "SELECT run_id, coalition_id, personal, queued, created_at FROM digest_plans ORDER BY run_id"
            ).fetchall()
        ]

    def queue(self, coalition_id: int, deliveries: list[Delivery], now: datetime) -> int:
        """Outbox rows for a round, each due at its own time so a large round is paced."""
        created = to_iso(now)
        due = {at: to_iso(at) for at in {d.due_at for d in deliveries}}  # a round has a few distinct times
        rows = [(coalition_id, d.kind, d.target, d.payload, due[d.due_at], created) for d in deliveries]
        insert_rows(self.db, ROW_COLUMNS, rows)
        return len(deliveries)

    # ----- the digest's read -----

    def snapshot(self, coalition_id: int, since: datetime, until: datetime) -> DigestSnapshot:
        """Open events, their open needs, and what changed in (since, until], all from one moment."""
        with self.db.atomic():
            coalition = self.db.execute("SELECT name, timezone FROM coalitions WHERE id = ?", [coalition_id]).fetchone()
            events = tuple(
                DigestEvent(row["id"], row["name"], from_iso(row["opened_at"]))  # type: ignore[arg-type]
                for row in self.db.query(
                    "SELECT id, name, opened_at FROM events WHERE coalition_id = ? AND status = 'open'"
                    " ORDER BY opened_at, id",
                    [coalition_id],
                )
            )
            open_needs = tuple(self._open_needs(coalition_id, until))
            new_posts = tuple(
                NewPost(*row)
                for row in self.db.execute(
                    "SELECT kind, event_id, org_id, sector, lat, lon FROM posts"
                    " WHERE coalition_id = ? AND created_at > ? AND created_at <= ?",
                    [coalition_id, to_iso(since), to_iso(until)],
                )
            )
            changes = tuple(self._match_changes(coalition_id, since, until))
            org_names = dict(
                self.db.execute("SELECT id, name FROM orgs WHERE coalition_id = ?", [coalition_id]).fetchall()
            )
            fulfilment = self._fulfilment(coalition_id, until, ZoneInfo(coalition[1]))
            excess = tuple(self._excess(coalition_id, until))
        return DigestSnapshot(
            coalition_name=coalition[0],
            timezone=coalition[1],
            since=since,
            until=until,
            events=events,
            open_needs=open_needs,
            new_posts=new_posts,
            match_changes=changes,
            org_names=org_names,
            fulfilment=fulfilment,
            excess=excess,
        )

    def _open_needs(self, coalition_id: int, now: datetime):
        rows = self.db.execute(
            "SELECT p.id, p.event_id, p.org_id, p.sector, p.urgency, p.item_label, p.remaining, p.unit,"  # noqa: S608
            " p.place_label, p.lat, p.lon, p.created_at, p.unconfirmed_since IS NOT NULL"
            " FROM posts p JOIN events e ON e.id = p.event_id"
            f" WHERE p.coalition_id = ? AND p.kind = 'need' AND {open_posts('p')} AND e.status = 'open'",
            [coalition_id, to_iso(now)],
        )  # iterated, not fetched whole: each row tuple is freed as soon as its need is built
        urgencies = {u.value: u for u in Urgency}
        for row in rows:
            yield OpenNeed(
                *row[:4], urgencies.get(row[4], Urgency.NORMAL), *row[5:11], from_iso(row[11]), bool(row[12])
            )

    def _excess(self, coalition_id: int, now: datetime, *, limit: int = 10):
        """Items whose open offers exceed their open needs, by event, item and unit, largest surplus first."""
        offered = "SUM(CASE WHEN p.kind = 'offer' THEN p.remaining ELSE 0 END)"
        needed = "SUM(CASE WHEN p.kind = 'need' THEN p.remaining ELSE 0 END)"
        # Aggregates spelled out in HAVING and ORDER BY: PostgreSQL does not see output names there.
        rows = self.db.execute(
            f"SELECT p.event_id, MIN(p.item_label), p.unit, {offered}, {needed}"  # noqa: S608
            " FROM posts p JOIN events e ON e.id = p.event_id"
            f" WHERE p.coalition_id = ? AND {open_posts('p')} AND e.status = 'open'"
            f" GROUP BY p.event_id, p.item_key, p.unit HAVING {offered} > {needed}"
            f" ORDER BY {offered} - {needed} DESC, MIN(p.item_label) LIMIT ?",
            [coalition_id, to_iso(now), limit],
        ).fetchall()
        for event_id, label, unit, offered, needed in rows:
            yield Excess(event_id, label, unit, int(offered), int(needed))

    def _match_changes(self, coalition_id: int, since: datetime, until: datetime):
        low, high = to_iso(since), to_iso(until)
        rows = self.db.execute(
            "SELECT m.event_id, m.quantity, m.created_at, m.committed_at, m.delivered_at, n.sector, n.lat, n.lon,"
            " n.org_id, o.org_id FROM matches m JOIN posts n ON n.id = m.need_id JOIN posts o ON o.id = m.offer_id"
            " WHERE m.coalition_id = ? AND (m.created_at > ? OR m.committed_at > ? OR m.delivered_at > ?)",
            [coalition_id, low, low, low],
        ).fetchall()
        for event_id, quantity, created, committed, delivered, sector, lat, lon, need_org, offer_org in rows:
            for change, at in (("proposed", created), ("committed", committed), ("delivered", delivered)):
                if at is not None and low < at <= high:
                    yield MatchChange(event_id, change, quantity, sector, lat, lon, need_org, offer_org)

    def _fulfilment(self, coalition_id: int, until: datetime, zone: ZoneInfo) -> tuple[FulfilmentDay, ...]:
        """Needs posted and needs filled per local day, over the open events' lives.

        Counted in needs, not summed quantities: litres and tablets don't add up. A delivery fills the share of
        its need it covered, in the need's own unit.
        """
        # Grouped by UTC hour in SQL, then by local day here: cheap, and right in every zone.
        requested = self.db.execute(
            "SELECT substr(p.created_at, 1, 13), COUNT(*) FROM posts p JOIN events e ON e.id = p.event_id"
            " WHERE p.coalition_id = ? AND p.kind = 'need' AND e.status = 'open' AND p.created_at <= ? GROUP BY 1",
            [coalition_id, to_iso(until)],
        ).fetchall()
        delivered = self.db.execute(
            "SELECT substr(m.delivered_at, 1, 13), SUM(CAST(m.quantity AS DOUBLE PRECISION) / n.quantity)"
            " FROM matches m JOIN events e ON e.id = m.event_id JOIN posts n ON n.id = m.need_id"
            " WHERE m.coalition_id = ? AND e.status = 'open' AND m.status = 'delivered' AND m.delivered_at <= ?"
            " GROUP BY 1",
            [coalition_id, to_iso(until)],
        ).fetchall()
        by_day: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for column, rows in ((0, requested), (1, delivered)):
            for hour, amount in rows:
                day = datetime.fromisoformat(hour + ":00:00+00:00").astimezone(zone).date()
                by_day[day][column] += float(amount or 0)
        if not by_day:
            return ()
        last = until.astimezone(zone).date()
        first = max(min(by_day), last - timedelta(days=MAX_CHART_DAYS))
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return tuple(FulfilmentDay(d, *by_day.get(d, (0, 0))) for d in days)


def _subscription(row: dict) -> Subscription:
    return Subscription(
        coalition_id=row["coalition_id"],
        user_id=row["user_id"],
        filter=DigestFilter(
            sectors=frozenset(s for s in row["sectors"].split(",") if s),
            lat=row["lat"],
            lon=row["lon"],
            radius_km=row["radius_km"],
            place_label=row["place_label"],
        ),
        dm_closed=bool(row["dm_closed"]),
        created_at=from_iso(row["created_at"]),  # type: ignore[arg-type]
    )
