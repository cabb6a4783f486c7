"""Needs and offers. ``remaining`` is what no live commitment covers; reservations change it atomically."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.clock import from_iso, to_iso
from bot.geo import bounding_box
from bot.grid import LOCAL_KM, local_cell_of, local_cells, search_cells
from bot.matching import Candidate
from bot.models import Post, PostKind, PostStatus, Urgency
from bot.store.backend import Backend
from bot.store.post_rows import COLUMNS, NewPost, open_posts, post_from_row
from bot.taxonomy import default_taxonomy

BAND_FACTOR = 4  # a latitude band stands for several cells, so it may return more
_CANDIDATE_COLUMNS = "id, item_key, remaining, unit, lat, lon, urgency, deadline, created_at, reach_level"
_MATCHABLE = f"{open_posts()} AND org_id != ?"
_URGENCY = {urgency.value: urgency for urgency in Urgency}  # a dict lookup; Urgency(text) is an enum call
_UNPAIRED = {
    PostKind.OFFER: "NOT EXISTS (SELECT 1 FROM matches m WHERE m.need_id = ? AND m.offer_id = posts.id)",
    PostKind.NEED: "NOT EXISTS (SELECT 1 FROM matches m WHERE m.need_id = posts.id AND m.offer_id = ?)",
}


class Posts:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def insert(self, post: NewPost, now: datetime) -> Post:
        """Store a new open post, confirmed as of ``now`` when it has a freshness check due; the post as stored.

        One write: the row comes back from the insert itself, so the posting reads nothing back.
        """
        fresh = post.fresh_due_at is not None
        cursor = self.db.execute(
            "INSERT INTO posts (kind, coalition_id, event_id, org_id, sector, item_key, item_label, quantity,"  # noqa: S608
            " remaining, unit, place_key, place_label, lat, lon, urgency, urgency_rank, deadline, notes, status,"
            " posted_by, created_at, cell, near_cell, reach_level, family, confirmed_at, fresh_due_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?)"
            f" RETURNING {COLUMNS}",
            [
                post.kind.value, post.coalition_id, post.event_id, post.org_id, post.sector, post.item_key,
                post.item_label, post.quantity, post.quantity, post.unit, post.place_key, post.place_label,
                post.lat, post.lon, post.urgency.value, post.urgency.rank,
                to_iso(post.deadline) if post.deadline else None, post.notes, post.posted_by, to_iso(now), post.cell,
                local_cell_of(post.lat, post.lon), post.reach_level, default_taxonomy().family(post.item_key),
                to_iso(now) if fresh else None, to_iso(post.fresh_due_at) if fresh else None,
            ],
        )  # fmt: skip
        return post_from_row(cursor.fetchone())

    def refresh_families(self) -> int:
        """Give every post its item's family in today's catalogue (a catalogue edit may move an item); how many moved.

        One statement over the posts, so a store opens in one pass over them however large the catalogue.
        """
        pairs = sorted(default_taxonomy().families().items())
        if not pairs:
            return 0
        case = "CASE item_key " + " ".join("WHEN ? THEN ?" for _ in pairs) + " ELSE item_key END"
        values = [value for pair in pairs for value in pair]
        return self.db.execute(
            f"UPDATE posts SET family = {case} WHERE family != {case}",  # noqa: S608 - placeholders only
            values + values,
        ).rowcount

    def get(self, post_id: int) -> Post | None:
        row = self.db.execute(f"SELECT {COLUMNS} FROM posts WHERE id = ?", [post_id]).fetchone()  # noqa: S608
        return post_from_row(row) if row else None

    def get_many(self, post_ids: Iterable[int]) -> dict[int, Post]:
        """These posts by id, in one statement (those that don't exist are left out)."""
        ids = list(dict.fromkeys(post_ids))
        if not ids:
            return {}
        sql = f"SELECT {COLUMNS} FROM posts WHERE id IN ({', '.join('?' for _ in ids)})"  # noqa: S608
        return {row[0]: post_from_row(row) for row in self.db.execute(sql, ids).fetchall()}

    def candidates(
        self,
        post: Post,
        *,
        limits: Mapping[str, int],
        radius_km: float,
        now: datetime,
        families: Mapping[str, int] | None = None,
        just_stored: bool = False,
    ) -> list[Candidate]:
        """Open posts of the other kind that may pair with ``post``, a bounded number per item and cell, near first.

        ``limits`` maps each item key read on its own to how many posts to take per
        cell; ``families`` each family (:meth:`bot.taxonomy.Taxonomy.family`) read
        whole, but for the post's own item, to how many posts of any of its items.
        One indexed probe per (item or family, cell) returns that cell's most urgent,
        then largest, matchable posts not yet paired with ``post``, already in
        order, so the LIMIT ends the read: the work is bounded by cells x limits,
        never by how many posts are open. The small cells of the post's own town
        are read first (the local grid), then the wide cells of the whole event,
        so larger posts beyond the town's cells never crowd out a partner in it.
        Each post comes once, where it was first read; the caller scores them exactly.

        ``just_stored``: ``post`` was inserted in this transaction, so nothing is paired with it yet and the
        probes skip that check (a search of the matches index for every row read, a third of a probe's time).
        """
        other = post.kind.other
        unpaired = "" if just_stored else f" AND {_UNPAIRED[other]}"
        tail = f" AND {_MATCHABLE}{unpaired} ORDER BY urgency_rank, remaining DESC LIMIT ?"
        reads = [("item_key = ?", [key], limit) for key, limit in sorted(limits.items())]
        reads += [
            ("family = ? AND item_key != ?", [family, post.item_key], limit)
            for family, limit in sorted((families or {}).items())
        ]
        common = [to_iso(now), post.org_id] if just_stored else [to_iso(now), post.org_id, post.id]
        execute = self.db.execute
        rows: list[tuple] = []
        head = f"SELECT {_CANDIDATE_COLUMNS} FROM posts WHERE event_id = ? AND kind = ? AND "  # noqa: S608
        near = local_cells(post.lat, post.lon) or ()
        for where, values, limit in reads:
            sql = head + where + " AND near_cell = ?" + tail
            for cell in near:
                rows += execute(sql, [post.event_id, other.value, *values, cell, *common, limit]).fetchall()
        cells = search_cells(post.lat, post.lon, radius_km)
        # Near a pole or across the antimeridian (no cells): one latitude band, still bounded by LIMIT.
        band = None if cells is not None else bounding_box(post.lat, post.lon, radius_km)[:2]
        for where, values, limit in reads:
            if band is not None:
                sql = head + where + " AND lat BETWEEN ? AND ?" + tail
                params = [post.event_id, other.value, *values, *band, *common, limit * BAND_FACTOR]
                rows += execute(sql, params).fetchall()
                continue
            sql = head + where + " AND cell = ?" + tail
            for cell in cells or ():
                rows += execute(sql, [post.event_id, other.value, *values, cell, *common, limit]).fetchall()
        # A post read by both grids is built once: ranking and the reply's reasons read the first alike.
        once: dict[int, tuple] = {}
        for row in rows:
            once.setdefault(row[0], row)
        rows = list(once.values())
        return [
            Candidate(
                post_id,
                item_key,
                remaining,
                unit,
                lat,
                lon,
                _URGENCY[urgency],
                from_iso(deadline),
                from_iso(created_at),  # type: ignore[arg-type]
                reach_level,
            )
            for post_id, item_key, remaining, unit, lat, lon, urgency, deadline, created_at, reach_level in rows
        ]

    def posted_near(
        self, event_id: int, lat: float, lon: float, *, since: datetime, other_than_org: int, limit: int = 16
    ) -> list[tuple[float, float]]:
        """Where some posts of the event by other orgs were posted after ``since``, within the local reach's box.

        At most ``limit``, in no particular order: one indexed range read per local cell, which stops at the
        limit however busy the cells are (no sort). The box's corners lie beyond the reach; the caller checks
        the distance.
        """
        cells = local_cells(lat, lon)
        if not cells:
            return []
        min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, LOCAL_KM)
        sql = (
            f"SELECT lat, lon FROM posts WHERE event_id = ? AND near_cell IN ({', '.join('?' for _ in cells)})"  # noqa: S608
            " AND created_at > ? AND org_id != ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? LIMIT ?"
        )
        params = [event_id, *cells, to_iso(since), other_than_org, min_lat, max_lat, min_lon, max_lon, limit]
        return [(row[0], row[1]) for row in self.db.execute(sql, params).fetchall()]

    def list_open(
        self,
        coalition_id: int,
        kind: PostKind,
        *,
        now: datetime,
        sector: str | None = None,
        org_ids: list[int] | None = None,
        limit: int = 20,
    ) -> list[Post]:
        """Open posts (:func:`open_posts`), most urgent first, then newest."""
        sql = f"SELECT {COLUMNS} FROM posts WHERE coalition_id = ? AND kind = ? AND {open_posts()}"  # noqa: S608
        params: list[object] = [coalition_id, kind.value, to_iso(now)]
        if sector is not None:
            sql += " AND sector = ?"
            params.append(sector)
        if org_ids is not None:
            sql += f" AND org_id IN ({', '.join('?' for _ in org_ids)})"
            params += org_ids
        # Posts nobody has confirmed lately come after those that are known to stand.
        sql += " ORDER BY unconfirmed_since IS NOT NULL, urgency_rank, id DESC LIMIT ?"
        params.append(limit)
        return [post_from_row(row) for row in self.db.execute(sql, params).fetchall()]

    def search_open_of_orgs(
        self, org_ids: list[int], kind: PostKind, text: str, *, now: datetime, limit: int = 25
    ) -> list[Post]:
        """Open posts of these orgs whose ref or item contains ``text`` (for autocomplete)."""
        if not org_ids:
            return []
        sql = (
            f"SELECT {COLUMNS} FROM posts WHERE org_id IN ({', '.join('?' for _ in org_ids)})"  # noqa: S608
            f" AND {open_posts()} AND kind = ? ORDER BY id DESC LIMIT 200"
        )
        needle = text.strip().casefold()
        found = [post_from_row(row) for row in self.db.execute(sql, [*org_ids, to_iso(now), kind.value]).fetchall()]
        return [p for p in found if needle in p.ref.casefold() or needle in p.item_label.casefold()][:limit]

    def custom_item_keys(self, event_id: int, now: datetime, *, limit: int = 1000) -> list[str]:
        """Distinct custom item keys of the event's open posts (a range read of the candidate index)."""
        rows = self.db.execute(
            "SELECT DISTINCT item_key FROM posts WHERE event_id = ? AND kind IN ('need', 'offer')"  # noqa: S608
            f" AND item_key >= 'custom:' AND item_key < 'custom;' AND {open_posts()} LIMIT ?",
            [event_id, to_iso(now), limit],
        ).fetchall()
        return [row[0] for row in rows]

    def open_alike(
        self, org_id: int, kind: PostKind, item_key: str, place_key: str, unit: str, *, since: datetime, now: datetime
    ) -> list[Post]:
        """The org's open posts of this kind, item, place and unit posted after ``since``, newest first."""
        sql = (
            f"SELECT {COLUMNS} FROM posts WHERE org_id = ? AND {open_posts()} AND kind = ? AND item_key = ?"  # noqa: S608
            " AND place_key = ? AND unit = ? AND created_at > ? ORDER BY id DESC LIMIT 20"
        )
        params = [org_id, to_iso(now), kind.value, item_key, place_key, unit, to_iso(since)]
        return [post_from_row(row) for row in self.db.execute(sql, params).fetchall()]

    def update_terms(
        self, post_id: int, *, quantity: int, urgency: Urgency, deadline: datetime | None, notes: str
    ) -> bool:
        """Set an open post's quantity (what is pledged stays pledged), urgency, deadline and notes.

        False, and nothing changed, if the post is no longer open or more than ``quantity`` is pledged.
        """
        cursor = self.db.execute(
            "UPDATE posts SET remaining = remaining + ? - quantity, quantity = ?, urgency = ?, urgency_rank = ?,"
            " deadline = ?, notes = ? WHERE id = ? AND status = 'open' AND quantity - remaining <= ?",
            [quantity, quantity, urgency.value, urgency.rank, to_iso(deadline) if deadline else None, notes,
             post_id, quantity],
        )  # fmt: skip
        return cursor.rowcount == 1

    def posted_since(self, user_id: int, since: datetime) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM posts WHERE posted_by = ? AND created_at > ?", [user_id, to_iso(since)]
        ).fetchone()
        return int(row[0])

    def lock(self, *post_ids: int) -> None:
        """Hold these posts until the transaction ends, so what is read of them next stays true while it decides.

        Locked in id order, so two transactions that lock overlapping posts wait for each other, never deadlock.
        On SQLite a write transaction already excludes every other writer.
        """
        locking = self.db.locking()
        if locking:
            marks = ", ".join("?" for _ in post_ids)
            self.db.execute(
                f"SELECT id FROM posts WHERE id IN ({marks}) ORDER BY id{locking}",  # noqa: S608 - placeholders only
                list(post_ids),
            ).fetchall()

    def reserve(self, post_id: int, quantity: int) -> bool:
        """Take ``quantity`` off the remainder; False (and nothing changed) if not that much is left."""
        cursor = self.db.execute(
            "UPDATE posts SET remaining = remaining - ? WHERE id = ? AND remaining >= ?", [quantity, post_id, quantity]
        )
        return cursor.rowcount == 1

    def release(self, post_id: int, quantity: int) -> None:
        """Give a cancelled commitment back to the remainder."""
        self.db.execute("UPDATE posts SET remaining = LEAST(quantity, remaining + ?) WHERE id = ?", [quantity, post_id])

    def set_status(self, post_id: int, status: PostStatus, now: datetime) -> None:
        closed_at = None if status is PostStatus.OPEN else to_iso(now)
        self.db.execute("UPDATE posts SET status = ?, closed_at = ? WHERE id = ?", [status.value, closed_at, post_id])

    def due_for_widening(
        self,
        now: datetime,
        steps: Mapping[Urgency, Sequence[tuple[int, timedelta]]],
        *,
        max_level: int,
        pressing: timedelta,
        limit: int,
    ) -> list[tuple[int, str, datetime, datetime | None, int]]:
        """(id, urgency, created_at, deadline, reach_level) of open posts with something left whose reach should grow.

        ``steps`` lists, by urgency, (level, how long after posting a post at that level is due); a post is also due
        when its deadline is ``pressing``.
        """
        clauses, params = [], []
        for urgency, levels in steps.items():
            for level, after in levels:
                clauses.append("(urgency = ? AND reach_level = ? AND created_at <= ?)")
                params += [urgency.value, level, to_iso(now - after)]
        rows = self.db.execute(
            f"SELECT id, urgency, created_at, deadline, reach_level FROM posts {self.db.indexed_by('posts_reaching')}"  # noqa: S608
            f" WHERE reach_level < ? AND status = 'open' AND remaining > 0 AND urgency != 'critical'"
            f" AND ({' OR '.join(clauses)} OR (deadline IS NOT NULL AND deadline <= ?)) ORDER BY created_at LIMIT ?",
            [max_level, *params, to_iso(now + pressing), limit],
        ).fetchall()
        return [(row[0], row[1], from_iso(row[2]), from_iso(row[3]), row[4]) for row in rows]  # type: ignore[misc]

    def set_reach_level(self, post_id: int, level: int) -> None:
        self.db.execute("UPDATE posts SET reach_level = ? WHERE id = ?", [level, post_id])

    def next_widening(
        self, steps: Mapping[Urgency, Sequence[tuple[int, timedelta]]], *, max_level: int, pressing: timedelta
    ) -> datetime | None:
        """When the next open post's reach grows (for a timer to sleep until); ``steps`` as for due_for_widening."""
        moments = []
        for urgency, levels in steps.items():
            for level, after in levels:
                row = self.db.execute(
                    f"SELECT MIN(created_at) FROM posts {self.db.indexed_by('posts_reaching')} WHERE reach_level = ?"  # noqa: S608
                    " AND status = 'open' AND remaining > 0 AND urgency = ?",
                    [level, urgency.value],
                ).fetchone()
                if row and row[0]:
                    moments.append(from_iso(row[0]) + after)  # type: ignore[operator]
        row = self.db.execute(
            f"SELECT MIN(deadline) FROM posts {self.db.indexed_by('posts_reaching')} WHERE reach_level < ?"  # noqa: S608
            " AND status = 'open' AND remaining > 0 AND urgency != 'critical' AND deadline IS NOT NULL",
            [max_level],
        ).fetchone()
        if row and row[0]:
            moments.append(from_iso(row[0]) - pressing)  # type: ignore[operator]
        return min(moments) if moments else None

    def set_quantity(self, post_id: int, quantity: int) -> bool:
        """A new total; what is already committed or delivered stays covered. False if below that."""
        cursor = self.db.execute(
            "UPDATE posts SET remaining = ? - (quantity - remaining), quantity = ?"
            " WHERE id = ? AND ? >= quantity - remaining",
            [quantity, quantity, post_id, quantity],
        )
        return cursor.rowcount == 1

    def next_deadline(self) -> datetime | None:
        """The soonest deadline among open posts (through the ``posts_open_deadline`` index)."""
        row = self.db.execute(
            "SELECT MIN(deadline) FROM posts WHERE status = 'open' AND deadline IS NOT NULL"
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def due_for_expiry(self, now: datetime, *, limit: int = 500) -> list[Post]:
        """Open posts whose deadline has passed (through the ``posts_open_deadline`` index)."""
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM posts WHERE status = 'open' AND deadline IS NOT NULL AND deadline <= ?"  # noqa: S608
            " ORDER BY deadline LIMIT ?",
            [to_iso(now), limit],
        ).fetchall()
        return [post_from_row(row) for row in rows]
