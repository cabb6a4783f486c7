"""Reads for the ops endpoint: what /healthz and /metrics report, each one short indexed or aggregate query."""

from __future__ import annotations

from bot.store.backend import Backend


class OpsReads:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def answers(self) -> bool:
        """The database answers a query (it is open and readable)."""
        return self.db.execute("SELECT 1").fetchone() == (1,)

    def outbox(self) -> tuple[int, int, str | None]:
        """(pending, failed, oldest pending's creation moment)."""
        pending, oldest = self.db.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'"
        ).fetchone()
        failed = self.db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'failed'").fetchone()[0]
        return int(pending), int(failed), oldest

    def open_posts_by_urgency(self) -> dict[tuple[str, str], int]:
        rows = self.db.execute(
            "SELECT kind, urgency, COUNT(*) FROM posts WHERE status = 'open' GROUP BY kind, urgency"
        ).fetchall()
        return {(kind, urgency): int(n) for kind, urgency, n in rows}

    def matches_by_status(self) -> dict[str, int]:
        return {status: int(n) for status, n in self.db.execute(
            "SELECT status, COUNT(*) FROM matches GROUP BY status"
        ).fetchall()}  # fmt: skip

    def last_digest_at(self) -> str | None:
        row = self.db.execute("SELECT MAX(ran_at) FROM digest_runs").fetchone()
        return row[0] if row else None
