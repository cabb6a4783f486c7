"""Shared fixtures: a fresh SQLite file per test, and the bot built only through ``create_bot``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest

from bot.app import create_bot


@dataclass
class FakeClock:
    """A clock the test moves by hand; the core and scheduler read the same one."""

    now: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "coalesce.db"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_bot(database: Path, clock: FakeClock):
    def build():
        return create_bot(database, clock=clock, scheduler=False, ops_port=0)

    return build


@pytest.fixture
def simcord_bot(make_bot):
    bot = make_bot()
    yield bot
    # simcord detaches the bot without closing it: its database connections would stay open until the
    # process ends, and a long run would hit the descriptor limit (select() fails past 1,024).
    bot.core.store.close()


@dataclass
class World:
    """A demo server: an admin, three coordinators, a bystander, and the configured channels."""

    env: object
    guild: object
    general: object
    channels: dict[str, object]
    admin: object
    alice: object
    bob: object
    carol: object
    dave: object


@pytest.fixture
def world(simcord_env) -> World:
    env = simcord_env
    guild = env.create_guild("Gulf Coast Relief")
    general = guild.create_text_channel("general")
    channels = {
        kind: guild.create_text_channel(kind) for kind in ("needs", "offers", "matches", "digest", "alerts", "log")
    }
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    admin = guild.add_member(env.create_user("admin"), roles=[admins])
    members = {name: guild.add_member(env.create_user(name)) for name in ("alice", "bob", "carol", "dave")}
    return World(env, guild, general, channels, admin, **members)


def assert_refused(env, result, *words: str) -> str:
    """The command was answered privately with a message naming ``words``, and the bot saw no error."""
    assert result.ephemeral, "a refusal must be ephemeral"
    content = result.response.content if result.response is not None else result.followups[-1].content
    for word in words:
        assert word.casefold() in content.casefold(), f"{word!r} not in {content!r}"
    assert not env.errors, "a refusal is a normal answer: no error reaches the tree's error handler"
    return content
