"""Posts held back by the duplicate warning, until their poster decides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import PostKind
from bot.store.backend import Backend


@dataclass(frozen=True, slots=True)
class PendingPost:
    """A post as its poster gave it (options already validated), and the open post it looks like."""

    id: int
    coalition_id: int
    user_id: int
    kind: PostKind
    duplicate_of: int
    options: dict[str, object]
    created_at: datetime


class PendingPosts:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def hold(
        self,
        coalition_id: int,
        user_id: int,
        kind: PostKind,
        duplicate_of: int,
        options: dict[str, object],
        now: datetime,
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO pending_posts (coalition_id, user_id, kind, duplicate_of, options, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [coalition_id, user_id, kind.value, duplicate_of, json.dumps(options), to_iso(now)],
        )
        return int(cursor.fetchone()[0])

    def get(self, pending_id: int) -> PendingPost | None:
        row = self.db.execute(
            "SELECT id, coalition_id, user_id, kind, duplicate_of, options, created_at FROM pending_posts WHERE id = ?",
            [pending_id],
        ).fetchone()
        if row is None:
            return None
        pending_id, coalition_id, user_id, kind, duplicate_of, options, created_at = row
        return PendingPost(
            pending_id, coalition_id, user_id, PostKind(kind), duplicate_of, json.loads(options), from_iso(created_at)
        )

    def take(self, pending_id: int) -> bool:
        """Remove the held post; False if it was already taken (a second click)."""
        return self.db.execute("DELETE FROM pending_posts WHERE id = ?", [pending_id]).rowcount == 1

    def forget_before(self, moment: datetime) -> int:
        """Drop held posts nobody decided on since ``moment``."""
        return self.db.execute("DELETE FROM pending_posts WHERE created_at < ?", [to_iso(moment)]).rowcount
