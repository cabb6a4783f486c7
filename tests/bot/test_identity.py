"""Names are unique by what a reader sees: look-alikes are refused, and keys stored before are migrated."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import Conflict
from bot.services import events, orgs
from bot.store import Store
from bot.text import identity_key
from tests.e2e.matching_helpers import ADMIN, core_world

LOOK_ALIKES = [
    "Houston Food Bank\u200b",
    "Houston\u200c Food Bank",
    "Houston Food\u200d Bank",
    "Hou\u00adston Food Bank",
    "\ufeffHouston Food Bank",
    "Ｈｏｕｓｔｏｎ Ｆｏｏｄ Ｂａｎｋ",
    "houston FOOD bank",
    "Houston\u00a0Food Bank",
    "Houston\u3000Food\u2003Bank",
    "Houston Food Bank\u2060",
    "Houston Food Bank\u3164",
]


@pytest.fixture
def world(new_database):
    made = core_world(new_database("coalesce"))
    made.add_org("Houston Food Bank", 11)
    return made


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_of_a_registered_org_is_refused(world, name):
    actor = world.coordinators["Houston Food Bank"]
    with pytest.raises(Conflict, match="already registered"):
        orgs.register_org(world.core, actor, name=name, sectors="food", location="Houston", contact="x@example.org")
    assert len(world.core.store.orgs.list(1)) == 1


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_names_the_registered_org(world, name):
    found = orgs.resolve_org(world.core, world.core.store.coalitions.get(1), name)
    assert found.id == world.orgs["Houston Food Bank"].id


@pytest.mark.parametrize("name", ["Hurricane Delta\u200b", "ＨＵＲＲＩＣＡＮＥ DELTA", "Hurricane\u00adDelta"])
def test_a_look_alike_of_an_open_event_is_refused(world, name):
    refused = name != "Hurricane\u00adDelta"  # a soft hyphen joins the words: "HurricaneDelta" is another name
    if refused:
        with pytest.raises(Conflict):
            events.open_event(world.core, ADMIN, name=name)
    else:
        events.open_event(world.core, ADMIN, name=name)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(st.sampled_from(["\u200b", "\u00ad", "\ufeff", "\u2060", "\u200d"]), min_size=1, max_size=3))
def test_no_mix_of_invisible_characters_makes_a_second_org(world, marks):
    name = "Houston Food Bank" + "".join(marks)
    with pytest.raises(Conflict):
        orgs.register_org(
            world.core, world.coordinators["Houston Food Bank"], name=name, sectors="food", location="Houston",
            contact="x@example.org",
        )  # fmt: skip


def test_keys_stored_before_are_recomputed_and_old_look_alikes_keep_a_key_of_their_own(tmp_path):
    path = tmp_path / "old.db"
    store = Store(path)
    store.db.execute(
        "INSERT INTO coalitions (name, timezone, digest_times, created_at)"
        " VALUES ('C', 'UTC', '', '2026-01-01T00:00:00+00:00')"
    )
    for name, old_key in [
        ("Houston Food Bank", "houston food bank"),
        ("Houston Food Bank\u200b", "houston food bank\u200b"),
        ("Ｂａｙｔｏｗｎ", "ｂａｙｔｏｗｎ"),
    ]:
        store.db.execute(
            "INSERT INTO orgs (coalition_id, name, name_key, sectors, place_key, place_label, lat, lon, contact,"
            " registered_by, created_at) VALUES (1, ?, ?, 'food', 'p', 'P', 0, 0, '', 1, '2026-01-01T00:00:00+00:00')",
            [name, old_key],
        )
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0013_identity'")
    store.db.conn.commit()
    store.close()

    reopened = Store(path)
    keys = [row[0] for row in reopened.db.execute("SELECT name_key FROM orgs ORDER BY id")]
    assert keys == ["houston food bank", "houston food bank #2", "baytown"]
    assert reopened.orgs.by_name(1, "Houston Food Bank\u2060").id == 1
    assert reopened.orgs.by_name(1, "BAYTOWN").id == 3
    assert reopened.pending_migrations() == []
    reopened.close()


def test_identity_key_is_what_the_store_compares():
    assert identity_key("  Ｂａｙｔｏｗｎ\u200b  Relief ") == "baytown relief"
