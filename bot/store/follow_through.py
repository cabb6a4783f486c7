"""Freshness: which open posts are due to be asked whether they still stand, and the windows for it."""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import Post
from bot.store.backend import Backend
from bot.store.post_rows import COLUMNS, post_from_row


class Freshness:
    def __init__(self, db: Backend) -> None:
        self.db = db

    # --- a post's freshness steps ----------------------------------------------------------------------

    def confirm(self, post_id: int, now: datetime, due_at: datetime) -> None:
        """The post stands as of ``now``: no longer unconfirmed, next asked at ``due_at``."""
        self.db.execute(
            "UPDATE posts SET confirmed_at = ?, fresh_due_at = ?, fresh_stage = 0, unconfirmed_since = NULL"
            " WHERE id = ?",
            [to_iso(now), to_iso(due_at), post_id],
        )

    def due(self, now: datetime, *, limit: int = 200) -> list[tuple[Post, int]]:
        """(post, stage) of open posts whose next step has come, read in one pass of the ``posts_fresh_due`` index."""
        rows = self.db.execute(
            f"SELECT {COLUMNS}, fresh_stage FROM posts WHERE status = 'open' AND fresh_due_at IS NOT NULL"  # noqa: S608
            " AND fresh_due_at <= ? ORDER BY fresh_due_at, id LIMIT ?",
            [to_iso(now), limit],
        ).fetchall()
        return [(post_from_row(row[:-1]), int(row[-1])) for row in rows]

    def next_due_at(self) -> datetime | None:
        row = self.db.execute(
            "SELECT MIN(fresh_due_at) FROM posts WHERE status = 'open' AND fresh_due_at IS NOT NULL"
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def postpone(self, post_id: int, due_at: datetime) -> None:
        self.db.execute("UPDATE posts SET fresh_due_at = ? WHERE id = ?", [to_iso(due_at), post_id])

    def mark_asked(self, post_id: int, grace_until: datetime) -> None:
        self.db.execute(
            "UPDATE posts SET fresh_stage = 1, fresh_due_at = ? WHERE id = ?", [to_iso(grace_until), post_id]
        )

    def mark_unconfirmed(self, post_id: int, since: datetime) -> None:
        """Still open and matchable, but shown as unconfirmed; nothing more is due until someone answers."""
        self.db.execute(
            "UPDATE posts SET fresh_stage = 2, unconfirmed_since = ?, fresh_due_at = NULL WHERE id = ?",
            [to_iso(since), post_id],
        )

    def confirmed_at(self, post_id: int) -> datetime | None:
        row = self.db.execute("SELECT confirmed_at FROM posts WHERE id = ?", [post_id]).fetchone()
        return from_iso(row[0]) if row else None

    # --- windows an admin chose, and the one-DM-an-hour throttle ------------------------------------------

    def windows(self, coalition_id: int) -> dict[str, int]:
        """Hours by urgency that the coalition's admins set; urgencies left out keep the default."""
        rows = self.db.execute(
            "SELECT urgency, hours FROM freshness_windows WHERE coalition_id = ?", [coalition_id]
        ).fetchall()
        return {urgency: int(hours) for urgency, hours in rows}

    def set_window(self, coalition_id: int, urgency: str, hours: int, by: int, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO freshness_windows (coalition_id, urgency, hours, set_by, set_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (coalition_id, urgency) DO UPDATE SET hours = excluded.hours, set_by = excluded.set_by,"
            " set_at = excluded.set_at",
            [coalition_id, urgency, hours, by, to_iso(now)],
        )

    def last_prompt_at(self, user_id: int) -> datetime | None:
        row = self.db.execute("SELECT last_at FROM freshness_dms WHERE user_id = ?", [user_id]).fetchone()
        return from_iso(row[0]) if row else None

    def record_prompt(self, user_id: int, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO freshness_dms (user_id, last_at) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET last_at = excluded.last_at",
            [user_id, to_iso(now)],
        )
