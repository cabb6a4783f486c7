"""Servers joining and leaving a coalition: invites, and moving a joining server's records across.

Every id in the database is global (an org, post or match keeps its number in any
coalition), so a joining server's records move by changing their ``coalition_id``:
nothing is copied, nothing is renumbered. Two things can clash, and are settled
here: an org or open event whose name the coalition already uses is renamed with
the joining server's name, and a volunteer subscribed on both sides keeps the
coalition's subscription (the other stays, inactive, with the former coalition).
Any other clash refuses the join, and the transaction leaves everything as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import ChannelKind
from bot.store.backend import Backend, IntegrityError
from bot.store.orgs import name_key

# Where the former coalition's delivery bookkeeping and settings stay: the coalition's own apply after a join.
STAYS_BEHIND = frozenset(
    {"coalitions", "digest_runs", "digest_plans", "coalition_invites", "hazard_areas", "hazard_feeds"}
)
# Rows a join moves unless the coalition already has their twin (then they stay behind, intact).
# Each by the key that makes two rows twins (its primary key without the coalition).
MOVED_UNLESS_TWIN = {
    "subscriptions": ("user_id",),
    "hazard_alerts": ("hazard_id",),
    "event_alerts": ("event_key", "org_id"),
}
MAX_NAME = 80


class JoinClash(Exception):
    """Records of the joining server's coalition that cannot sit beside the coalition's; nothing changed."""

    def __init__(self, table: str, detail: str) -> None:
        super().__init__(f"{table}: {detail}")
        self.table = table
        self.detail = detail


@dataclass(frozen=True, slots=True)
class GuildLink:
    guild_id: int
    guild_name: str
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class Invite:
    coalition_id: int
    guild_id: int
    created_by: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Moved:
    """What a join brought along, by table, and what it had to rename."""

    rows: dict[str, int]
    renamed_orgs: list[tuple[str, str]]
    renamed_events: list[tuple[str, str]]


class Federation:
    def __init__(self, db: Backend) -> None:
        self.db = db

    # --- membership ---------------------------------------------------------------------------------

    def links(self, coalition_id: int) -> list[GuildLink]:
        return [
            GuildLink(row["guild_id"], row["guild_name"], from_iso(row["linked_at"]))  # type: ignore[arg-type]
            for row in self.db.query(
                "SELECT * FROM guild_links WHERE coalition_id = ? ORDER BY linked_at, guild_id", [coalition_id]
            )
        ]

    def is_linked(self, coalition_id: int, guild_id: int | None) -> bool:
        if guild_id is None:
            return False
        row = self.db.execute(
            "SELECT 1 FROM guild_links WHERE guild_id = ? AND coalition_id = ?", [guild_id, coalition_id]
        ).fetchone()
        return row is not None

    def home_channel(self, coalition_id: int, home_guild_id: int | None, kind: ChannelKind) -> int | None:
        """The channel of this kind in an org's home server, in one statement.

        The home server while it is linked to the coalition; else the lead server while linked; else the
        linked server with the lowest id. None when that server has no such channel (no fall-through to
        another server's) or the coalition has no server at all.
        """
        row = self.db.execute(
            "SELECT c.channel_id FROM ("
            " SELECT g.guild_id FROM guild_links g JOIN coalitions co ON co.id = g.coalition_id"
            " WHERE g.coalition_id = ?"
            " ORDER BY CASE WHEN g.guild_id = ? THEN 0 WHEN g.guild_id = co.lead_guild_id THEN 1 ELSE 2 END,"
            " g.guild_id LIMIT 1"
            ") chosen LEFT JOIN channels c ON c.guild_id = chosen.guild_id AND c.kind = ?",
            [coalition_id, home_guild_id, kind.value],
        ).fetchone()
        return row[0] if row else None

    def rename(self, coalition_id: int, name: str, lead_guild_id: int) -> None:
        self.db.execute(
            "UPDATE coalitions SET name = ?, lead_guild_id = ? WHERE id = ?", [name, lead_guild_id, coalition_id]
        )

    def set_lead(self, coalition_id: int, guild_id: int | None) -> None:
        self.db.execute("UPDATE coalitions SET lead_guild_id = ? WHERE id = ?", [guild_id, coalition_id])

    def relink(self, guild_id: int, coalition_id: int, guild_name: str, now: datetime) -> None:
        """Point the server at another coalition (its channels and alert role, keyed by server, go with it)."""
        self.db.execute(
            "UPDATE guild_links SET coalition_id = ?, guild_name = ?, linked_at = ? WHERE guild_id = ?",
            [coalition_id, guild_name, to_iso(now), guild_id],
        )

    def new_coalition(self, name: str, *, timezone: str, digest_times: str, lead_guild_id: int, now: datetime) -> int:
        cursor = self.db.execute(
            "INSERT INTO coalitions (name, timezone, digest_times, created_at, lead_guild_id) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            [name, timezone, digest_times, to_iso(now), lead_guild_id],
        )
        return int(cursor.fetchone()[0])

    # --- invites ------------------------------------------------------------------------------------

    def add_invite(
        self, code_hash: str, coalition_id: int, guild_id: int, created_by: int, now: datetime, expires: datetime
    ) -> None:
        self.db.execute(
            "INSERT INTO coalition_invites (code_hash, coalition_id, guild_id, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [code_hash, coalition_id, guild_id, created_by, to_iso(now), to_iso(expires)],
        )

    def invite(self, code_hash: str) -> tuple[Invite, bool] | None:
        """The invite and whether it was already used; None when no invite has this code."""
        row = self.db.execute(
            "SELECT coalition_id, guild_id, created_by, expires_at, used_at FROM coalition_invites WHERE code_hash = ?",
            [code_hash],
        ).fetchone()
        if row is None:
            return None
        return Invite(row[0], row[1], row[2], from_iso(row[3])), row[4] is not None  # type: ignore[arg-type]

    def use_invite(self, code_hash: str, guild_id: int, now: datetime) -> bool:
        """Mark the invite used; False if it already was (two joins racing for one code: one wins)."""
        cursor = self.db.execute(
            "UPDATE coalition_invites SET used_by_guild = ?, used_at = ? WHERE code_hash = ? AND used_at IS NULL",
            [guild_id, to_iso(now), code_hash],
        )
        return cursor.rowcount == 1

    def expire_invites(self, coalition_id: int, now: datetime) -> None:
        self.db.execute(
            "UPDATE coalition_invites SET expires_at = ? WHERE coalition_id = ? AND used_at IS NULL AND expires_at > ?",
            [to_iso(now), coalition_id, to_iso(now)],
        )

    # --- joining --------------------------------------------------------------------------------------

    def move_records(self, source: int, target: int, *, guild_id: int, guild_name: str) -> Moved:
        """Move every record of coalition ``source`` (one server's) into ``target``; call inside a transaction.

        Raises :class:`JoinClash` when a record cannot move; the caller's transaction then undoes the rest.
        """
        renamed_orgs = self._rename_clashes("orgs", source, target, guild_name, where="1 = 1", other="1 = 1")
        renamed_events = self._rename_clashes(
            "events", source, target, guild_name, where="status = 'open'", other="status = 'open'"
        )
        # The former coalition had this one server: its rows came from it.
        self.db.execute("UPDATE audit_log SET guild_id = ? WHERE coalition_id = ? AND guild_id IS NULL"
                        " AND actor_id != 0", [guild_id, source])  # fmt: skip
        self.db.execute("UPDATE orgs SET home_guild_id = ? WHERE coalition_id = ? AND home_guild_id IS NULL",
                        [guild_id, source])  # fmt: skip
        moved: dict[str, int] = {}
        for table in self._tables_with_coalition():
            if table in STAYS_BEHIND:
                continue
            sql, params = f"UPDATE {table} SET coalition_id = ? WHERE coalition_id = ?", [target, source]  # noqa: S608
            if table in MOVED_UNLESS_TWIN:
                same = " AND ".join(f"twin.{c} = {table}.{c}" for c in MOVED_UNLESS_TWIN[table])
                sql += f" AND NOT EXISTS (SELECT 1 FROM {table} twin WHERE twin.coalition_id = ? AND {same})"  # noqa: S608
                params.append(target)
            try:
                # A savepoint: on PostgreSQL a failed statement would otherwise spoil the whole transaction.
                with self.db.atomic():
                    cursor = self.db.execute(sql, params)
            except IntegrityError as exc:
                raise JoinClash(table, str(exc)) from None
            if cursor.rowcount:
                moved[table] = cursor.rowcount
        return Moved(moved, renamed_orgs, renamed_events)

    def count_records(self, coalition_id: int) -> dict[str, int]:
        """Rows per table that belong to the coalition (what a join would bring along)."""
        counts = {}
        for table in self._tables_with_coalition():
            if table in STAYS_BEHIND:
                continue
            n = self.db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE coalition_id = ?",  # noqa: S608 - names from schema
                [coalition_id],
            ).fetchone()[0]
            if n:
                counts[table] = int(n)
        return counts

    def _tables_with_coalition(self) -> list[str]:
        """Every table with a ``coalition_id`` column, read from the schema: tables added later move too."""
        return self.db.tables_with_column("coalition_id")

    def _rename_clashes(
        self, table: str, source: int, target: int, guild_name: str, *, where: str, other: str
    ) -> list[tuple[str, str]]:
        taken = {
            row[0]
            for row in self.db.execute(
                f"SELECT name_key FROM {table} WHERE coalition_id = ? AND {other}",  # noqa: S608 - fixed fragments
                [target],
            )
        }
        renamed = []
        rows = self.db.execute(
            f"SELECT id, name, name_key FROM {table} WHERE coalition_id = ? AND {where} ORDER BY id",  # noqa: S608
            [source],
        ).fetchall()
        for row_id, name, key in rows:
            if key not in taken:
                continue
            new_name = _suffixed(name, guild_name, taken)
            self.db.execute(
                f"UPDATE {table} SET name = ?, name_key = ? WHERE id = ?",  # noqa: S608 - fixed table names
                [new_name, name_key(new_name), row_id],
            )
            taken.add(name_key(new_name))
            renamed.append((name, new_name))
        return renamed


def _suffixed(name: str, guild_name: str, taken: set[str]) -> str:
    """``name (Server)``, or ``name (Server 2)`` ... : the first that the coalition does not use yet."""
    server = (guild_name or "joined server").strip()[:30]
    for n in range(1, 1000):
        suffix = f" ({server})" if n == 1 else f" ({server} {n})"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if name_key(candidate) not in taken:
            return candidate
    raise JoinClash("names", f"no free name for {name}")
