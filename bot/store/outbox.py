"""The durable outbox: notifications for Discord, written in the transaction that caused them.

A row is ``pending`` until the dispatcher delivers it (``sent``) or gives up on a
permanent error (``failed``). Delivery is at least once from the store's side;
the dispatcher marks a row sent in the same step that confirms the send.

Several bot processes may share one database. A process *claims* rows before it
sends them: a lease names the process and when the claim lapses. A destination
(``target``) is claimed by one process at a time, so its rows leave in order and
no row is sent by two processes; a crashed process's leases lapse and its rows are
claimed again. Each claim is one ``UPDATE ... RETURNING`` statement: SQLite runs it
under the write lock, so two processes cannot both win a row. On PostgreSQL the claim
reads its rows ``FOR UPDATE SKIP LOCKED`` (a row another process is marking sent is
passed by, not waited for) after an advisory lock that lets one claimer in at a time,
so a second claimer sees the first one's leases and never takes a destination it holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import OutboxMessage
from bot.store.backend import Backend, insert_rows

# Row ``o``'s destination has no pending row under another owner's live lease. "Another owner" is two ranges,
# below and above this one, so the holder index seeks them: ``!=`` would read this owner's rows too, and a
# process holding 3,000 rows of one channel made every claim read them all once per row considered.
NOT_HELD_BY_OTHERS = (
    "NOT EXISTS (SELECT 1 FROM outbox b WHERE b.target = o.target AND b.status = 'pending'"
    " AND b.lease_owner < ? AND b.lease_until > ?)"
    " AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.target = o.target AND b.status = 'pending'"
    " AND b.lease_owner > ? AND b.lease_until > ?)"
)


# A row of the outbox is (coalition, kind, target, payload, due, created): every writer of rows uses these.
ROW_COLUMNS = "outbox (coalition_id, kind, target, payload, next_attempt_at, created_at)"
_INSERT_ROW = f"INSERT INTO {ROW_COLUMNS} VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608 - a constant
# One encoder for every payload: ``json.dumps(..., default=str)`` built a new encoder at each call.
_payload_json = json.JSONEncoder(default=str).encode


def _not_held_by_others(owner: str, moment: str) -> list[str]:
    return [owner, moment, owner, moment]


class Outbox:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def enqueue(self, coalition_id: int, kind: str, target: str, payload: dict[str, object], now: datetime) -> int:
        """Queue one notification. ``target`` is ``channel:<id>`` or ``user:<id>``."""
        cursor = self.db.execute(
            _INSERT_ROW + " RETURNING id",
            [coalition_id, kind, target, _payload_json(payload), to_iso(now), to_iso(now)],
        )
        return int(cursor.fetchone()[0])

    def enqueue_many(
        self, coalition_id: int, kind: str, messages: Iterable[tuple[str, dict[str, object]]], now: datetime
    ) -> int:
        """Queue several notifications of one kind, as (target, payload), in one statement; how many."""
        moment = to_iso(now)
        rows = [(coalition_id, kind, target, _payload_json(payload), moment, moment) for target, payload in messages]
        if not rows:
            return 0
        return insert_rows(self.db, ROW_COLUMNS, rows)

    def due(self, now: datetime, *, limit: int = 50) -> list[OutboxMessage]:
        rows = self.db.query(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id"
            " LIMIT ?",
            [to_iso(now), limit],
        )
        return [_message(row) for row in rows]

    def claim(
        self, owner: str, now: datetime, until: datetime, *, limit: int, after_id: int = 0
    ) -> list[OutboxMessage]:
        """Lease to ``owner`` up to ``limit`` due rows (ids above ``after_id``), oldest first.

        A row is skipped while anyone's live lease is on it, and while another
        owner's live lease is on any pending row of its destination.
        """
        moment = to_iso(now)
        # One transaction around the statement: RETURNING keeps it open until its rows are read.
        with self.db.atomic():
            self.db.serialize_claims("outbox")
            cursor = self.db.execute(
                "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id IN ("  # noqa: S608 - a fixed fragment
                " SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND o.id > ?"
                f" AND (o.lease_until IS NULL OR o.lease_until <= ?) AND {NOT_HELD_BY_OTHERS}"
                f" ORDER BY o.id LIMIT ?{self.db.locking(skip_locked=True)}) RETURNING *",
                [owner, to_iso(until), moment, after_id, moment, *_not_held_by_others(owner, moment), limit],
            )
            columns = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        return sorted((_message(dict(zip(columns, row, strict=True))) for row in rows), key=lambda m: m.id)

    def renew(self, owner: str, until: datetime) -> set[int]:
        """Extend every pending lease ``owner`` holds; returns the ids it still holds."""
        with self.db.atomic():
            rows = self.db.execute(
                "UPDATE outbox SET lease_until = ? WHERE lease_owner = ? AND status = 'pending' RETURNING id",
                [to_iso(until), owner],
            ).fetchall()
        return {int(row[0]) for row in rows}

    def release(self, owner: str, message_ids: list[int] | None = None) -> None:
        """Give up ``owner``'s leases (all of them, or these rows), so any process may claim the rows at once."""
        if message_ids is None:
            self.db.execute(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND status = 'pending'",
                [owner],
            )
            return
        self.db.executemany(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
            [(message_id, owner) for message_id in message_ids],
        )

    def next_due_at(self, owner: str | None = None, now: datetime | None = None) -> datetime | None:
        """When ``owner`` may next claim a row: a free row's retry time, or when another owner's lease lapses.

        A due row whose destination another owner holds is not claimable now: its moment is that lease's end.
        """
        if owner is None or now is None:
            row = self.db.execute("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'").fetchone()
            return from_iso(row[0]) if row and row[0] else None
        moment = to_iso(now)
        row = self.db.execute(
            "SELECT MIN(t) FROM ("  # noqa: S608 - a fixed fragment
            " SELECT MIN(o.next_attempt_at) AS t FROM outbox o WHERE o.status = 'pending'"
            f"  AND (o.lease_until IS NULL OR o.lease_until <= ?) AND {NOT_HELD_BY_OTHERS}"
            " UNION ALL"
            " SELECT MIN(lease_until) FROM outbox WHERE status = 'pending' AND lease_owner != ? AND lease_until > ?)"
            " AS due",
            [moment, *_not_held_by_others(owner, moment), owner, moment],
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL,"
            " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'pending'",
            [to_iso(now), message_id],
        )

    def retry_later(self, message_id: int, error: str, at: datetime, *, release: bool = False) -> None:
        """Try again at ``at``; ``release`` drops the lease so the row is claimed afresh when due."""
        lease = ", lease_owner = NULL, lease_until = NULL" if release else ""
        self.db.execute(
            f"UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?{lease} WHERE id = ?",  # noqa: S608 - a fixed fragment
            [error[:500], to_iso(at), message_id],
        )

    def give_up(self, message_id: int, error: str, now: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, sent_at = ?,"
            " lease_owner = NULL, lease_until = NULL WHERE id = ?",
            [error[:500], to_iso(now), message_id],
        )

    def backlog(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()[0])

    def counts(self, coalition_id: int) -> dict[str, int]:
        return {
            row["status"]: row["n"]
            for row in self.db.query(
                "SELECT status, COUNT(*) AS n FROM outbox WHERE coalition_id = ? GROUP BY status", [coalition_id]
            )
        }

    def get(self, message_id: int) -> dict:
        row = next(self.db.query("SELECT * FROM outbox WHERE id = ?", [message_id]), None)
        if row is None:
            raise LookupError(f"no outbox row {message_id}")
        return row


def _message(row: dict) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        coalition_id=row["coalition_id"],
        kind=row["kind"],
        target=row["target"],
        payload_json=row["payload"],
        attempts=row["attempts"],
        created_at=from_iso(row["created_at"]),  # type: ignore[arg-type]
    )
