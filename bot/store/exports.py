"""Reads for CSV export: each coalition's orgs, posts and matches as plain rows, with the names they refer to."""

from __future__ import annotations

from collections.abc import Iterator

from sqlite_utils import Database

ORG_ROWS = (
    "SELECT o.*, (SELECT group_concat(user_id, ';') FROM org_members m WHERE m.org_id = o.id) AS coordinators"
    " FROM orgs o WHERE o.coalition_id = ? ORDER BY o.id"
)
POST_ROWS = (
    "SELECT p.*, e.name AS event_name, o.name AS org_name FROM posts p"
    " JOIN events e ON e.id = p.event_id JOIN orgs o ON o.id = p.org_id"
    " WHERE p.coalition_id = ? AND p.kind = ? ORDER BY p.id"
)
MATCH_ROWS = (
    "SELECT m.*, e.name AS event_name, n.item_label, n.sector, no.name AS need_org, oo.name AS offer_org"
    " FROM matches m JOIN events e ON e.id = m.event_id"
    " JOIN posts n ON n.id = m.need_id JOIN posts f ON f.id = m.offer_id"
    " JOIN orgs no ON no.id = n.org_id JOIN orgs oo ON oo.id = f.org_id"
    " WHERE m.coalition_id = ? ORDER BY m.id"
)


class ExportRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    def coalition_ids(self) -> list[int]:
        return [row["id"] for row in self.db.query("SELECT id FROM coalitions ORDER BY id")]

    def orgs(self, coalition_id: int) -> Iterator[dict]:
        """Each org with its coordinators' Discord ids, joined by ';'."""
        return self.db.query(ORG_ROWS, [coalition_id])

    def posts(self, coalition_id: int, kind: str) -> Iterator[dict]:
        return self.db.query(POST_ROWS, [coalition_id, kind])

    def matches(self, coalition_id: int) -> Iterator[dict]:
        return self.db.query(MATCH_ROWS, [coalition_id])
