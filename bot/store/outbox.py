"""The durable outbox: notifications for Discord, written in the transaction that caused them.

A row is ``pending`` until the dispatcher delivers it (``sent``) or gives up on a
permanent error (``failed``). Delivery is at least once from the store's side;
the dispatcher marks a row sent in the same step that confirms the send.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from bot.clock import from_iso, to_iso
from bot.models import OutboxMessage


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(self, coalition_id: int, kind: str, target: str, payload: dict[str, object], now: datetime) -> int:
        """Queue one notification. ``target`` is ``channel:<id>`` or ``user:<id>``."""
        cursor = self.db.execute(
            "INSERT INTO outbox (coalition_id, kind, target, payload, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [coalition_id, kind, target, json.dumps(payload, default=str), to_iso(now), to_iso(now)],
        )
        return int(cursor.lastrowid or 0)

    def due(self, now: datetime, *, limit: int = 50) -> list[OutboxMessage]:
        rows = self.db.query(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id"
            " LIMIT ?",
            [to_iso(now), limit],
        )
        return [_message(row) for row in rows]

    def next_due_at(self) -> datetime | None:
        row = self.db.execute("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'").fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL"
            " WHERE id = ? AND status = 'pending'",
            [to_iso(now), message_id],
        )

    def retry_later(self, message_id: int, error: str, at: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
            [error[:500], to_iso(at), message_id],
        )

    def give_up(self, message_id: int, error: str, now: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, sent_at = ? WHERE id = ?",
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
        return self.db["outbox"].get(message_id)


def _message(row: dict) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        coalition_id=row["coalition_id"],
        kind=row["kind"],
        target=row["target"],
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        created_at=from_iso(row["created_at"]),  # type: ignore[arg-type]
    )
