"""The audit log: who changed what, when, and from which server. Written inside the change's own transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import AuditEntry
from bot.store.backend import Backend, insert_rows

# The server the current command or click came from. Every use case resolves its actor's coalition first
# (``Core.coalition_of``), which sets it; each interaction runs in a task of its own, so every row the
# use case writes names its server without each call site passing it, and the bot's own background
# work (dispatcher, scheduler, feed watcher), in other tasks, writes rows with no server.
acting_guild: ContextVar[int | None] = ContextVar("acting_guild", default=None)


_COLUMNS = "audit_log (coalition_id, actor_id, action, subject, detail, at, guild_id)"
_INSERT = f"INSERT INTO {_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)"  # noqa: S608 - a constant
# One encoder for every row: ``json.dumps(..., default=str)`` built a new encoder at each call.
_detail_json = json.JSONEncoder(default=str).encode


class AuditLog:
    def __init__(self, db: Backend) -> None:
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
        guild_id = acting_guild.get() if actor_id else None
        self.db.execute(
            _INSERT,
            [coalition_id, actor_id, action, subject, _detail_json(detail), to_iso(at), guild_id],
        )

    def record_many(
        self,
        coalition_id: int,
        actor_id: int,
        action: str,
        entries: Iterable[tuple[str, dict[str, object]]],
        at: datetime,
    ) -> int:
        """Several entries of one action, as (subject, detail), in one statement (:func:`insert_rows`); how many."""
        guild_id = acting_guild.get() if actor_id else None
        moment = to_iso(at)
        rows = [
            (coalition_id, actor_id, action, subject, _detail_json(detail), moment, guild_id)
            for subject, detail in entries
        ]
        if not rows:
            return 0
        return insert_rows(self.db, _COLUMNS, rows)

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

    def server_names(self, coalition_id: int) -> dict[int, str]:
        """The name of every server the coalition's entries came from (those that left included)."""
        return {
            row[0]: row[1]
            for row in self.db.execute(
                "SELECT g.guild_id, g.guild_name FROM guild_links g WHERE g.guild_id IN"
                " (SELECT DISTINCT guild_id FROM audit_log WHERE coalition_id = ? AND guild_id IS NOT NULL)",
                [coalition_id],
            ).fetchall()
        }

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
        guild_id=row.get("guild_id"),
    )
