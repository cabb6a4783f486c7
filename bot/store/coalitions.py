"""Coalitions, the servers linked to them, and each server's configured channels."""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_iso, to_iso
from bot.models import ChannelKind, Coalition
from bot.store.backend import Backend


class Coalitions:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def for_guild(
        self, guild_id: int, guild_name: str, now: datetime, *, timezone: str, digest_times: str
    ) -> Coalition:
        """The guild's coalition; a guild seen for the first time forms its own."""
        row = self._linked(guild_id)
        if row is None:
            with self.db.atomic():
                coalition_id = self.db.execute(
                    "INSERT INTO coalitions (name, timezone, digest_times, created_at, lead_guild_id)"
                    " VALUES (?, ?, ?, ?, ?) RETURNING id",
                    [guild_name or f"Server {guild_id}", timezone, digest_times, to_iso(now), guild_id],
                ).fetchone()[0]
                self.db.execute(
                    "INSERT INTO guild_links (guild_id, coalition_id, guild_name, linked_at) VALUES (?, ?, ?, ?)",
                    [guild_id, coalition_id, guild_name, to_iso(now)],
                )
            row = self._linked(guild_id)
            assert row is not None  # noqa: S101 - inserted just above, in this transaction
        return _coalition(row)

    def get(self, coalition_id: int) -> Coalition:
        # A plain query: sqlite-utils' Table.get introspects the schema on every call (a third of a post's time).
        row = next(self.db.query("SELECT * FROM coalitions WHERE id = ?", [coalition_id]), None)
        if row is None:
            raise LookupError(f"no coalition {coalition_id}")
        return _coalition(row)

    def ids(self) -> list[int]:
        return [row["id"] for row in self.db.query("SELECT id FROM coalitions ORDER BY id")]

    def all(self) -> list[Coalition]:
        return [_coalition(row) for row in self.db.query("SELECT * FROM coalitions ORDER BY id")]

    def guild_ids(self, coalition_id: int) -> list[int]:
        return [
            row["guild_id"]
            for row in self.db.query(
                "SELECT guild_id FROM guild_links WHERE coalition_id = ? ORDER BY guild_id", [coalition_id]
            )
        ]

    def set_digest_schedule(self, coalition_id: int, *, times: str, timezone: str) -> None:
        self.db.execute(
            "UPDATE coalitions SET digest_times = ?, timezone = ? WHERE id = ?", [times, timezone, coalition_id]
        )

    def set_channel(self, guild_id: int, kind: ChannelKind, channel_id: int, set_by: int, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO channels (guild_id, kind, channel_id, set_by, set_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id, kind) DO UPDATE SET channel_id = excluded.channel_id,"
            " set_by = excluded.set_by, set_at = excluded.set_at",
            [guild_id, kind.value, channel_id, set_by, to_iso(now)],
        )

    def channels(self, guild_id: int) -> dict[ChannelKind, int]:
        return {
            ChannelKind(row["kind"]): row["channel_id"]
            for row in self.db.query("SELECT kind, channel_id FROM channels WHERE guild_id = ?", [guild_id])
        }

    def channel_targets(self, coalition_id: int, kind: ChannelKind) -> list[int]:
        """Every linked server's channel of this kind: where a coalition-wide notice goes."""
        return [
            row["channel_id"]
            for row in self.db.query(
                "SELECT c.channel_id FROM channels c JOIN guild_links g ON g.guild_id = c.guild_id"
                " WHERE g.coalition_id = ? AND c.kind = ? ORDER BY c.guild_id",
                [coalition_id, kind.value],
            )
        ]

    def set_alert_role(self, guild_id: int, role_id: int | None, set_by: int, now: datetime) -> None:
        """The role this server's alerts ping; None stops the pings."""
        if role_id is None:
            self.db.execute("DELETE FROM alert_roles WHERE guild_id = ?", [guild_id])
            return
        self.db.execute(
            "INSERT INTO alert_roles (guild_id, role_id, set_by, set_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET role_id = excluded.role_id, set_by = excluded.set_by,"
            " set_at = excluded.set_at",
            [guild_id, role_id, set_by, to_iso(now)],
        )

    def alert_role(self, guild_id: int) -> int | None:
        row = self.db.execute("SELECT role_id FROM alert_roles WHERE guild_id = ?", [guild_id]).fetchone()
        return int(row[0]) if row else None

    def alert_targets(self, coalition_id: int) -> list[tuple[int, int | None]]:
        """Each linked server's alerts channel, with the role its alerts ping (if one is set)."""
        return [
            (row[0], row[1])
            for row in self.db.execute(
                "SELECT c.channel_id, r.role_id FROM channels c JOIN guild_links g ON g.guild_id = c.guild_id"
                " LEFT JOIN alert_roles r ON r.guild_id = c.guild_id"
                " WHERE g.coalition_id = ? AND c.kind = 'alerts' ORDER BY c.guild_id",
                [coalition_id],
            ).fetchall()
        ]

    def _linked(self, guild_id: int) -> dict | None:
        rows = list(
            self.db.query(
                "SELECT c.* FROM coalitions c JOIN guild_links g ON g.coalition_id = c.id WHERE g.guild_id = ?",
                [guild_id],
            )
        )
        return rows[0] if rows else None


def _coalition(row: dict) -> Coalition:
    return Coalition(
        id=row["id"],
        name=row["name"],
        timezone=row["timezone"],
        digest_times=tuple(t for t in row["digest_times"].split(",") if t),
        created_at=from_iso(row["created_at"]),  # type: ignore[arg-type]
        lead_guild_id=row.get("lead_guild_id"),
    )
