"""Matches between a need and an offer, and the Discord messages that show them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import Match, MatchStatus
from bot.store.backend import Backend

_COLUMNS = (
    "id, coalition_id, event_id, need_id, offer_id, score, distance_km, quantity, status, need_accepted_by,"
    " offer_accepted_by, created_at, committed_at, delivered_at, offer_quantity, due_at, nudges, reported_at,"
    " reported_by, replaces_id"
)
_LIVE = "('proposed', 'committed')"


@dataclass(frozen=True, slots=True)
class NewMatch:
    """A proposal to store: ``quantity`` in the need's unit, ``offer_quantity`` in the offer's; ``due_at``, when
    it expires unanswered; ``replaces_id``, the stalled commitment it would take over."""

    need_id: int
    offer_id: int
    score: float
    distance_km: float
    quantity: int
    offer_quantity: int
    due_at: datetime | None = None
    replaces_id: int | None = None


class Matches:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def propose(self, coalition_id: int, event_id: int, new: Sequence[NewMatch], now: datetime) -> list[Match]:
        """Store these proposals in one statement; the stored ones in the order given.

        A pair ever proposed before is left out (a pair is never proposed twice).
        """
        if not new:
            return []
        moment = to_iso(now)
        rows = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?)" for _ in new)
        params = [
            value
            for m in new
            for value in (
                coalition_id, event_id, m.need_id, m.offer_id, round(m.score, 6), m.distance_km, m.quantity,
                m.offer_quantity, moment, to_iso(m.due_at) if m.due_at else None, m.replaces_id,
            )
        ]  # fmt: skip
        stored = self.db.execute(
            "INSERT INTO matches (coalition_id, event_id, need_id, offer_id, score, distance_km, quantity,"  # noqa: S608
            f" offer_quantity, status, created_at, due_at, replaces_id) VALUES {rows}"
            f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
            params,
        ).fetchall()
        # RETURNING gives no order: the pairs put them back in the caller's.
        by_pair = {(match.need_id, match.offer_id): match for match in map(_match, stored)}
        return [by_pair[key] for key in ((m.need_id, m.offer_id) for m in new) if key in by_pair]

    def get(self, match_id: int) -> Match | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM matches WHERE id = ?", [match_id]).fetchone()  # noqa: S608
        return _match(row) if row else None

    def get_many(self, match_ids: Iterable[int]) -> dict[int, Match]:
        """These matches by id, in one statement (those that don't exist are left out)."""
        ids = list(dict.fromkeys(match_ids))
        if not ids:
            return {}
        sql = f"SELECT {_COLUMNS} FROM matches WHERE id IN ({', '.join('?' for _ in ids)})"  # noqa: S608
        return {row[0]: _match(row) for row in self.db.execute(sql, ids).fetchall()}

    def accept(self, match_id: int, *, need_side: int | None, offer_side: int | None) -> None:
        """Record who accepted for each side; a side already accepted keeps its first acceptor."""
        self.db.execute(
            "UPDATE matches SET need_accepted_by = COALESCE(need_accepted_by, ?),"
            " offer_accepted_by = COALESCE(offer_accepted_by, ?) WHERE id = ? AND status = 'proposed'",
            [need_side, offer_side, match_id],
        )

    def commit(
        self, match_id: int, quantity: int, offer_quantity: int, now: datetime, *, due_at: datetime | None = None
    ) -> bool:
        """Commit a proposal: ``quantity`` credited to the need (its unit), ``offer_quantity`` from the offer;
        ``due_at`` is when its delivery is first chased."""
        cursor = self.db.execute(
            "UPDATE matches SET status = 'committed', quantity = ?, offer_quantity = ?, committed_at = ?, due_at = ?,"
            " nudges = 0 WHERE id = ? AND status = 'proposed'",
            [quantity, offer_quantity, to_iso(now), to_iso(due_at) if due_at else None, match_id],
        )
        return cursor.rowcount == 1

    def report_delivered(self, match_id: int, by: int, now: datetime) -> bool:
        """The offering side says it arrived; the commitment stands until the needing side confirms."""
        cursor = self.db.execute(
            "UPDATE matches SET reported_at = ?, reported_by = ?, due_at = NULL"
            " WHERE id = ? AND status = 'committed' AND reported_at IS NULL",
            [to_iso(now), by, match_id],
        )
        return cursor.rowcount == 1

    def set_committed_quantity(self, match_id: int, quantity: int, offer_quantity: int) -> bool:
        """Lower a commitment to what actually arrived, each side in its unit (the caller returns the difference)."""
        cursor = self.db.execute(
            "UPDATE matches SET quantity = ?, offer_quantity = ?"
            " WHERE id = ? AND status = 'committed' AND quantity >= ? AND offer_quantity >= ?",
            [quantity, offer_quantity, match_id, quantity, offer_quantity],
        )
        return cursor.rowcount == 1

    def set_due(self, match_id: int, due_at: datetime | None, *, nudges: int) -> None:
        self.db.execute(
            "UPDATE matches SET due_at = ?, nudges = ? WHERE id = ? AND status IN ('proposed', 'committed')",
            [to_iso(due_at) if due_at else None, nudges, match_id],
        )

    def due(self, now: datetime, *, limit: int = 200) -> list[Match]:
        """Live matches whose time-out or delivery deadline has come (through the ``matches_due`` index)."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM matches WHERE status IN {_LIVE} AND due_at IS NOT NULL"  # noqa: S608
            " AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            [to_iso(now), limit],
        ).fetchall()
        return [_match(row) for row in rows]

    def next_due_at(self) -> datetime | None:
        row = self.db.execute(
            f"SELECT MIN(due_at) FROM matches WHERE status IN {_LIVE} AND due_at IS NOT NULL"  # noqa: S608
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def replacing(self, match_id: int) -> list[Match]:
        """Live hand-off proposals that would take over the commitment ``match_id``."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM matches WHERE replaces_id = ? AND status IN {_LIVE}",  # noqa: S608
            [match_id],
        ).fetchall()
        return [_match(row) for row in rows]

    def deliver(self, match_id: int, by: int, now: datetime) -> bool:
        cursor = self.db.execute(
            "UPDATE matches SET status = 'delivered', delivered_at = ?, closed_by = ?, closed_at = ?"
            " WHERE id = ? AND status = 'committed'",
            [to_iso(now), by, to_iso(now), match_id],
        )
        return cursor.rowcount == 1

    def close(self, match_id: int, status: MatchStatus, by: int, now: datetime, *, was: MatchStatus) -> bool:
        """Move a live match to a final status (declined, cancelled, lapsed) if it is still ``was``."""
        cursor = self.db.execute(
            "UPDATE matches SET status = ?, closed_by = ?, closed_at = ? WHERE id = ? AND status = ?",
            [status.value, by, to_iso(now), match_id, was.value],
        )
        return cursor.rowcount == 1

    def set_proposed_quantity(self, match_id: int, quantity: int, offer_quantity: int) -> None:
        self.db.execute(
            "UPDATE matches SET quantity = ?, offer_quantity = ? WHERE id = ? AND status = 'proposed'",
            [quantity, offer_quantity, match_id],
        )

    def live_for_post(self, post_id: int) -> list[Match]:
        """Proposed and committed matches that involve the post, oldest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM matches WHERE need_id = ? AND status IN {_LIVE}"  # noqa: S608
            f" UNION SELECT {_COLUMNS} FROM matches WHERE offer_id = ? AND status IN {_LIVE} ORDER BY id",
            [post_id, post_id],
        ).fetchall()
        return [_match(row) for row in rows]

    def proposed_for_event(self, event_id: int) -> list[Match]:
        """The event's proposals still waiting for an answer, oldest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM matches WHERE event_id = ? AND status = 'proposed' ORDER BY id",  # noqa: S608
            [event_id],
        ).fetchall()
        return [_match(row) for row in rows]

    def committed_total(self, post_id: int) -> int:
        return self._total(post_id, MatchStatus.COMMITTED)

    def delivered_total(self, post_id: int) -> int:
        return self._total(post_id, MatchStatus.DELIVERED)

    def _total(self, post_id: int, status: MatchStatus) -> int:
        row = self.db.execute(
            "SELECT (SELECT COALESCE(SUM(quantity), 0) FROM matches WHERE need_id = ? AND status = ?)"
            " + (SELECT COALESCE(SUM(offer_quantity), 0) FROM matches WHERE offer_id = ? AND status = ?)",
            [post_id, status.value, post_id, status.value],
        ).fetchone()
        return int(row[0])

    def list(
        self,
        coalition_id: int,
        *,
        statuses: tuple[MatchStatus, ...],
        org_ids: list[int] | None = None,
        limit: int = 20,
    ) -> list[Match]:
        """Newest first; with ``org_ids``, only matches where one of those orgs is a side."""
        marks = ", ".join("?" for _ in statuses)
        sql = f"SELECT {_COLUMNS} FROM matches WHERE coalition_id = ? AND status IN ({marks})"  # noqa: S608
        params: list[object] = [coalition_id, *(s.value for s in statuses)]
        if org_ids is not None:
            orgs = ", ".join("?" for _ in org_ids)
            mine = f"SELECT id FROM posts WHERE org_id IN ({orgs})"  # noqa: S608 - placeholders only
            sql += f" AND (need_id IN ({mine}) OR offer_id IN ({mine}))"
            params += [*org_ids, *org_ids]
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [_match(row) for row in self.db.execute(sql, params).fetchall()]

    def save_message(self, match_id: int, channel_id: int, message_id: int) -> None:
        self.db.execute(
            "INSERT INTO match_messages (match_id, channel_id, message_id) VALUES (?, ?, ?)"
            " ON CONFLICT (match_id, channel_id) DO UPDATE SET message_id = excluded.message_id",
            [match_id, channel_id, message_id],
        )

    def message_id(self, match_id: int, channel_id: int) -> int | None:
        row = self.db.execute(
            "SELECT message_id FROM match_messages WHERE match_id = ? AND channel_id = ?", [match_id, channel_id]
        ).fetchone()
        return int(row[0]) if row else None

    def message_matches(self, channel_id: int, message_id: int) -> list[int]:
        """The matches one message shows, in id order: several when their proposals were grouped."""
        return [
            int(row[0])
            for row in self.db.execute(
                "SELECT match_id FROM match_messages WHERE channel_id = ? AND message_id = ? ORDER BY match_id",
                [channel_id, message_id],
            ).fetchall()
        ]

    def message_channels(self, match_id: int) -> list[int]:
        return [
            int(row[0])
            for row in self.db.execute(
                "SELECT channel_id FROM match_messages WHERE match_id = ? ORDER BY channel_id", [match_id]
            ).fetchall()
        ]


def _match(row: tuple) -> Match:
    (
        match_id, coalition_id, event_id, need_id, offer_id, score, distance, quantity, status,
        need_accepted_by, offer_accepted_by, created_at, committed_at, delivered_at, offer_quantity, due_at, nudges,
        reported_at, reported_by, replaces_id,
    ) = row  # fmt: skip
    return Match(
        id=match_id,
        coalition_id=coalition_id,
        event_id=event_id,
        need_id=need_id,
        offer_id=offer_id,
        score=score,
        distance_km=distance,
        quantity=quantity,
        status=MatchStatus(status),
        need_accepted_by=need_accepted_by,
        offer_accepted_by=offer_accepted_by,
        created_at=from_iso(created_at),  # type: ignore[arg-type]
        committed_at=from_iso(committed_at),
        delivered_at=from_iso(delivered_at),
        offer_quantity=quantity if offer_quantity is None else offer_quantity,
        due_at=from_iso(due_at),
        nudges=nudges,
        reported_at=from_iso(reported_at),
        reported_by=reported_by,
        replaces_id=replaces_id,
    )
