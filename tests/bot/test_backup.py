"""Online backup: a consistent copy taken while the bot may be writing, and it restores the same state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.core import Core
from bot.models import Actor, ChannelKind
from bot.services import coalition_config, events, orgs
from bot.store import Store
from bot.store.backup import backup_database, row_counts
from tests.conftest import FakeClock

ADMIN = Actor(user_id=1, guild_id=500, name="admin", is_admin=True, guild_name="Gulf Coast Relief")


def seeded(path: Path) -> Core:
    core = Core(store=Store(path), clock=FakeClock())
    coalition_config.set_channel(core, ADMIN, ChannelKind.LOG, 900)
    for n, city in enumerate(("Houston", "Dallas", "Austin")):
        member = Actor(user_id=10 + n, guild_id=500, name=f"m{n}")
        orgs.register_org(core, member, name=f"Org {n}", sectors="food, wash", location=city, contact=f"c{n}@x.org")
    orgs.verify_org(core, ADMIN, "Org 0")
    events.open_event(core, ADMIN, name="Hurricane Delta", location="Houston")
    return core


def dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        tables = row_counts(conn)
        return {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall() for name in tables}  # noqa: S608
    finally:
        conn.close()


def test_backup_restores_the_same_rows_and_content(tmp_path):
    core = seeded(tmp_path / "live.db")

    counts = backup_database(core.store.database, tmp_path / "copy.db")

    assert counts["orgs"] == 3 and counts["events"] == 1 and counts["outbox"] >= 3
    core.store.close()
    assert dump(tmp_path / "copy.db") == dump(tmp_path / "live.db")
    assert counts == {name: len(rows) for name, rows in dump(tmp_path / "live.db").items()}


def test_a_restored_backup_opens_as_a_sound_store_with_nothing_to_migrate(tmp_path):
    core = seeded(tmp_path / "live.db")
    backup_database(core.store.database, tmp_path / "copy.db")

    restored = Store(tmp_path / "copy.db")

    assert restored.integrity_problems() == []
    assert restored.pending_migrations() == []
    assert restored.applied_migrations() == core.store.applied_migrations()
    assert [o.name for o in restored.orgs.list(1)] == ["Org 0", "Org 1", "Org 2"]
    restored.close()


def test_backup_while_a_write_is_in_flight_holds_only_committed_rows(tmp_path):
    core = seeded(tmp_path / "live.db")
    writer = sqlite3.connect(core.store.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE orgs SET name = 'half-made' WHERE id = 1")
    writer.execute("DELETE FROM org_members WHERE org_id = 2")

    counts = backup_database(core.store.database, tmp_path / "copy.db")  # does not wait for the writer

    writer.execute("COMMIT")
    writer.close()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT name FROM orgs WHERE id = 1").fetchone() == ("Org 0",)
    assert counts["org_members"] == 3
    copy.close()
    assert core.store.orgs.get(1).name == "half-made"  # the live database went on undisturbed


def test_backup_of_a_closed_database_works_and_leaves_no_partial_file(tmp_path):
    core = seeded(tmp_path / "live.db")
    core.store.close()  # no -wal or -shm beside it any more

    backup_database(tmp_path / "live.db", tmp_path / "out" / "copy.db")

    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["copy.db"]


def test_backup_refuses_to_overwrite_the_database_itself(tmp_path):
    core = seeded(tmp_path / "live.db")
    with pytest.raises(ValueError, match="another file"):
        backup_database(core.store.database, core.store.database)
    with pytest.raises(FileNotFoundError):
        backup_database(tmp_path / "missing.db", tmp_path / "copy.db")
    assert core.store.integrity_problems() == []


def test_a_second_backup_replaces_the_first(tmp_path):
    core = seeded(tmp_path / "live.db")
    backup_database(core.store.database, tmp_path / "copy.db")
    orgs.register_org(
        core, Actor(user_id=99, guild_id=500), name="Late Org", sectors="health", location="Houston", contact="x"
    )

    counts = backup_database(core.store.database, tmp_path / "copy.db")

    assert counts["orgs"] == 4
