"""Reads for CSV export: a coalition's events, orgs, posts and matches as plain rows, with the names they name."""

from __future__ import annotations

from collections.abc import Iterator

from bot.store.backend import Backend

EVENT_ROWS = "SELECT * FROM events WHERE coalition_id = ? ORDER BY id"
ORG_ROWS = (
    "SELECT o.*, (SELECT string_agg(CAST(user_id AS TEXT), ';') FROM org_members m WHERE m.org_id = o.id)"
    " AS coordinators FROM orgs o WHERE o.coalition_id = ? ORDER BY o.id"
)
# What was delivered against a post, in its own unit: a need is credited a match's quantity, an offer gives
# its offer_quantity (the two differ when the posts count in different units).
POST_ROWS = (
    "SELECT p.*, e.name AS event_name, o.name AS org_name,"
    " (SELECT COALESCE(SUM(m.quantity), 0) FROM matches m WHERE m.need_id = p.id AND m.status = 'delivered')"
    " + (SELECT COALESCE(SUM(COALESCE(m.offer_quantity, m.quantity)), 0) FROM matches m"
    "    WHERE m.offer_id = p.id AND m.status = 'delivered') AS delivered"
    " FROM posts p JOIN events e ON e.id = p.event_id JOIN orgs o ON o.id = p.org_id"
    " WHERE p.coalition_id = ? AND p.kind = ? ORDER BY p.id"
)
MATCH_ROWS = (
    "SELECT m.*, e.name AS event_name, n.item_label, n.sector, n.unit, f.unit AS offer_unit,"
    " no.name AS need_org, oo.name AS offer_org"
    " FROM matches m JOIN events e ON e.id = m.event_id"
    " JOIN posts n ON n.id = m.need_id JOIN posts f ON f.id = m.offer_id"
    " JOIN orgs no ON no.id = n.org_id JOIN orgs oo ON oo.id = f.org_id"
    " WHERE m.coalition_id = ? ORDER BY m.id"
)


class ExportRows:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def coalition_ids(self) -> list[int]:
        """Coalitions with a server or records: not the empty shell a server leaves when it joins another."""
        return [
            row["id"]
            for row in self.db.query(
                "SELECT c.id FROM coalitions c WHERE EXISTS (SELECT 1 FROM guild_links g WHERE g.coalition_id = c.id)"
                " OR EXISTS (SELECT 1 FROM orgs o WHERE o.coalition_id = c.id)"
                " OR EXISTS (SELECT 1 FROM events e WHERE e.coalition_id = c.id) ORDER BY c.id"
            )
        ]

    def events(self, coalition_id: int) -> Iterator[dict]:
        return self.db.query(EVENT_ROWS, [coalition_id])

    def orgs(self, coalition_id: int) -> Iterator[dict]:
        """Each org with its coordinators' Discord ids, joined by ';'."""
        return self.db.query(ORG_ROWS, [coalition_id])

    def posts(self, coalition_id: int, kind: str) -> Iterator[dict]:
        """Each post with its event's and org's names and the quantity delivered against it."""
        return self.db.query(POST_ROWS, [coalition_id, kind])

    def matches(self, coalition_id: int) -> Iterator[dict]:
        return self.db.query(MATCH_ROWS, [coalition_id])
