"""Joining and leaving on a real SQLite file: every record moves or stays whole, and a clash changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core import Core
from bot.errors import Conflict
from bot.models import Actor
from bot.services import coalitions, digests, orgs
from bot.settings import Settings
from bot.store import Store

A = Actor(user_id=1, guild_id=500, name="ann", is_admin=True, guild_name="Houston Hub")
B = Actor(user_id=2, guild_id=600, name="ben", is_admin=True, guild_name="Baytown Base")
VOLUNTEER_A = Actor(user_id=9, guild_id=500, name="vic", guild_name="Houston Hub")
VOLUNTEER_B = Actor(user_id=9, guild_id=600, name="vic", guild_name="Baytown Base")


@dataclass
class Clock:
    now: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def core(tmp_path: Path, new_database):
    made = Core(store=Store(new_database("c")), settings=Settings(), clock=Clock())
    yield made
    made.store.close()


def join(core: Core) -> coalitions.Joined:
    return coalitions.join(core, B, coalitions.invite(core, A).code)


def rows(core: Core, table: str) -> list[tuple]:
    return sorted(core.store.db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)  # noqa: S608 - fixed names


def test_a_table_added_later_moves_with_the_join_too(core):
    core.coalition_of(A)
    b = core.coalition_of(B)
    core.store.db.execute("CREATE TABLE later_records (coalition_id INTEGER, note TEXT)")
    core.store.db.execute("INSERT INTO later_records (coalition_id, note) VALUES (?, 'kept')", [b.id])

    joined = join(core)

    assert rows(core, "later_records") == [(joined.coalition.id, "kept")]
    assert joined.moved.rows["later_records"] == 1


def test_a_clash_no_rule_settles_refuses_the_join_and_changes_nothing(core):
    a, b = core.coalition_of(A), core.coalition_of(B)
    orgs.register_org(core, VOLUNTEER_B, name="Baytown Relief", sectors="food", location="Baytown", contact="x")
    core.store.db.execute("CREATE TABLE ledgers (coalition_id INTEGER, code TEXT, UNIQUE (coalition_id, code))")
    core.store.db.execute("INSERT INTO ledgers VALUES (?, 'L1'), (?, 'L1')", [a.id, b.id])
    code = coalitions.invite(core, A).code
    before = {t: rows(core, t) for t in ("orgs", "guild_links", "ledgers", "coalition_invites")}

    with pytest.raises(Conflict, match="ledgers clash"):
        coalitions.join(core, B, code)

    assert {t: rows(core, t) for t in before} == before
    assert core.coalition_of(B).id == b.id
    core.store.db.execute("DELETE FROM ledgers WHERE coalition_id = ?", [b.id])
    assert coalitions.join(core, B, code).coalition.id == a.id  # the refusal did not spend the code


def test_names_the_coalition_uses_are_renamed_once_each(core):
    orgs.register_org(core, VOLUNTEER_A, name="Relief Now", sectors="food", location="Houston", contact="x")
    orgs.register_org(core, VOLUNTEER_A, name="Relief Now (Baytown Base)", sectors="food", location="Houston",
                      contact="x")  # fmt: skip
    orgs.register_org(core, VOLUNTEER_B, name="relief  now", sectors="food", location="Baytown", contact="y")

    joined = join(core)

    assert joined.moved.renamed_orgs == [("relief now", "relief now (Baytown Base 2)")]
    names = sorted(o.name for o in orgs.list_orgs(core, A))
    assert names == ["Relief Now", "Relief Now (Baytown Base)", "relief now (Baytown Base 2)"]


def test_a_volunteer_subscribed_on_both_sides_keeps_the_coalitions_subscription(core):
    digests.subscribe(core, VOLUNTEER_A, sectors="food")
    digests.subscribe(core, VOLUNTEER_B, sectors="wash")
    former = core.coalition_of(B).id

    joined = join(core)

    kept = core.store.digests.subscription(joined.coalition.id, 9)
    assert kept is not None and kept.filter.sectors == frozenset({"food"})
    assert core.store.digests.subscription(former, 9) is not None, "the other stays, unused, not deleted"


def test_the_last_server_cannot_leave_and_a_lead_that_leaves_hands_the_lead_on(core):
    with pytest.raises(Conflict, match="nothing to leave"):
        coalitions.leave(core, A)
    coalitions.create_coalition(core, A, "Gulf Coast VOAD")
    join(core)

    left = coalitions.leave(core, A)

    assert left.former.lead_guild_id == B.guild_id and left.own.lead_guild_id == A.guild_id
    assert core.coalition_of(B).name == "Gulf Coast VOAD" and core.coalition_of(A).name == "Houston Hub"


def test_export_without_a_coalition_named_finds_the_one_left_after_a_join(core, tmp_path):
    from bot.interop.export import export_dir

    orgs.register_org(core, VOLUNTEER_B, name="Baytown Relief", sectors="food", location="Baytown", contact="x")
    joined = join(core)

    written = export_dir(core.store.database, tmp_path / "out", gazetteer=core.gazetteer)

    assert written["orgs"] == 1
    assert "Baytown Relief" in (tmp_path / "out" / "orgs.csv").read_text()
    assert joined.coalition.id == core.coalition_of(A).id
