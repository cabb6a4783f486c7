"""Shared fixtures: a fresh database per test, and the bot built only through ``create_bot``.

``--backend`` chooses where the backend-independent tests (tests/bot, through the
``database`` fixture there) run: ``sqlite``, ``postgresql`` (a throwaway server,
see tests/pg_server.py) or ``both``, the default. Everything else runs on SQLite.
"""

from __future__ import annotations

import sys
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


BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=(*BACKENDS, "both"),
        default="both",
        help="where the backend-independent tests run: sqlite, postgresql or both (default: both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of SQLite itself (its file, pragmas, backup API)")
    config.addinivalue_line("markers", "postgresql_only: several connections writing at once, as only PostgreSQL lets")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_each = "tests/bot/" in metafunc.definition.path.as_posix()
    if "backend" not in metafunc.fixturenames or not (
        on_each or metafunc.definition.get_closest_marker("postgresql_only")
    ):
        return
    chosen = metafunc.config.getoption("backend")
    backends = list(BACKENDS) if chosen == "both" else [chosen]
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = ["sqlite"]
    if metafunc.definition.get_closest_marker("postgresql_only"):
        backends = [b for b in backends if b == "postgresql"]
    metafunc.parametrize("backend", backends)


@pytest.fixture(scope="session")
def postgres_server():
    from tests.pg_server import Server

    server = Server()
    try:
        server.migrate_template()
        yield server
    finally:
        server.stop()


@pytest.fixture
def backend() -> str:
    """SQLite, unless the test is one that runs on each backend (then ``pytest_generate_tests`` chooses)."""
    return "sqlite"


@pytest.fixture
def new_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path):
    """Makes databases on the test's backend: ``new_database("name")`` is a fresh SQLite path or PostgreSQL URL."""
    made: list[str] = []

    def make(name: str = "coalesce") -> Path | str:
        if backend == "sqlite":
            return tmp_path / f"{name}.db"
        url = request.getfixturevalue("postgres_server").create_database()
        made.append(url)
        return url

    yield make
    for url in made:
        request.getfixturevalue("postgres_server").drop_database(url)


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
    confine_store(bot)
    yield bot
    # simcord detaches the bot without closing it: its database connections would stay open until the
    # process ends, and a long run would hit the descriptor limit (select() fails past 1,024).
    strays = bot.core.store.strays
    bot.core.close()
    assert not strays, f"store used off its thread: {strays}"


def confine_store(bot) -> None:
    """From here on, a store statement the bot makes from any thread but its store thread is a test failure.

    A test's own statements (arranging or reading the database between steps) are excused: the bot is
    settled then, and they are not the bot's.
    """
    bot.core.store_thread.submit(bot.core.store.confine_to_current_thread, excused=called_by_a_test).result()


TESTS = str(Path(__file__).resolve().parent)


def called_by_a_test() -> bool:
    """True when a test module's own code (not a bot task it started) is on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(TESTS) and frame.f_code.co_filename != __file__:
            return True
        frame = frame.f_back
    return False


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
    return build_world(simcord_env)


def build_world(env, **guild_options) -> World:
    """The demo server in ``env`` (``guild_options`` go to ``create_guild``, e.g. ``shard_id``)."""
    guild = env.create_guild("Gulf Coast Relief", **guild_options)
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
