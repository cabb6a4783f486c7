"""The audit log: who changed what, when. Written inside the change's own transaction."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from bot.clock import from_iso, to_iso
from bot.models import AuditEntry


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        coalition_id: int,
        actor_id: int,
        action: str,
        subject: str,
        at: datetime,
        **detail: object,
    ) -> None:
        self.db.execute(
            "INSERT INTO audit_log (coalition_id, actor_id, action, subject, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
            [coalition_id, actor_id, action, subject, json.dumps(detail, default=str), to_iso(at)],
        )

    def recent(
        self, coalition_id: int, *, limit: int = 20, action_prefix: str = "", actor_id: int | None = None
    ) -> list[AuditEntry]:
        sql = "SELECT * FROM audit_log WHERE coalition_id = ? AND action LIKE ?"
        params: list[object] = [coalition_id, action_prefix + "%"]
        if actor_id is not None:
            sql += " AND actor_id = ?"
            params.append(actor_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [_entry(row) for row in self.db.query(sql, params)]

    def all(self, coalition_id: int) -> list[AuditEntry]:
        return [
            _entry(row)
            for row in self.db.query("SELECT * FROM audit_log WHERE coalition_id = ? ORDER BY id", [coalition_id])
        ]


def _entry(row: dict) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        coalition_id=row["coalition_id"],
        actor_id=row["actor_id"],
        action=row["action"],
        subject=row["subject"],
        detail=json.loads(row["detail"]),
        at=from_iso(row["at"]),  # type: ignore[arg-type]
    )
