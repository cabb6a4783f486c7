"""Export -> import into a fresh database -> export: the same files, after matches of every outcome."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from bot.core import Core
from bot.interop import export_dir, import_dir
from bot.models import MatchStatus
from bot.services import post_lifecycle, posts
from bot.services.matches import accept_match, decline_match, deliver_match
from bot.store import Store
from tests.e2e.matching_helpers import Clock, core_world

FILES = ("events", "orgs", "needs", "offers", "matches", "3w")


def lived_in(path: Path):
    """A coalition after a few days: committed, delivered, declined and expired matches, open and closed posts."""
    world = core_world(path)
    core, clock = world.core, world.clock
    food = world.add_org("Houston Food Bank", 11)
    water = world.add_org("Gulf Water", 12, location="Galveston")
    tarps = world.add_org("Tarps For All", 13, location="Beaumont")
    need = posts.post_need(core, food, sector="wash", item="bottled water", quantity=500, location="Houston",
                           urgency="critical", notes="=for the shelter")  # fmt: skip
    offer = posts.post_offer(core, water, sector="wash", item="bottled water", quantity=300, location="Galveston")
    [delivered] = offer.proposals
    accept_match(core, food, delivered.match.id)
    accept_match(core, water, delivered.match.id)
    clock.now += timedelta(hours=5)
    deliver_match(core, water, delivered.match.id)
    second = posts.post_offer(core, tarps, sector="wash", item="bottled water", quantity=100, location="Beaumont")
    [committed] = second.proposals
    accept_match(core, food, committed.match.id)
    accept_match(core, tarps, committed.match.id)
    shelter = posts.post_need(core, water, sector="shelter", item="tarpaulin", quantity=40, location="Galveston",
                              urgency="critical", needed_by="2026-12-03")  # fmt: skip
    tarp_offer = posts.post_offer(core, tarps, sector="shelter", item="tarp", quantity=25, location="Beaumont")
    [declined] = tarp_offer.proposals
    decline_match(core, water, declined.match.id)
    gallons = posts.post_need(core, food, sector="wash", item="water", quantity=100, unit="gallons",
                              location="Houston", urgency="critical")  # fmt: skip
    litres = posts.post_offer(core, water, sector="wash", item="water", quantity=200, unit="litres",
                              location="Galveston")  # fmt: skip
    [converted] = [c for c in litres.proposals if c.match.need_id == gallons.post.id]
    accept_match(core, food, converted.match.id)
    accept_match(core, water, converted.match.id)
    deliver_match(core, water, converted.match.id)
    clock.now += timedelta(days=3)
    post_lifecycle.expire_due(core)
    posts.post_need(core, tarps, sector="food", item="rice", quantity=20, unit="kg", location="Beaumont")
    statuses = {m.status for m in core.store.matches.list(1, statuses=tuple(MatchStatus), limit=100)}
    assert {MatchStatus.DELIVERED, MatchStatus.COMMITTED, MatchStatus.DECLINED} <= statuses
    assert core.store.posts.get(shelter.post.id).status.value == "expired"
    assert need.post.id == 1
    moved = core.store.matches.get(converted.match.id)
    assert moved.quantity != moved.offer_quantity, "a match across units credits and gives different numbers"
    return core, clock


def rows(folder: Path) -> dict[str, list[list[str]]]:
    found = {}
    for name in FILES:
        with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            found[name] = list(csv.reader(handle))
    return found


def test_export_import_into_a_fresh_database_exports_the_same_files(tmp_path, new_database):
    core, clock = lived_in(new_database("live"))
    export_dir(core.store.database, tmp_path / "first", include_contacts=True, gazetteer=core.gazetteer)
    fresh = Core(store=Store(new_database("fresh")), settings=core.settings, clock=Clock(clock.now))

    summary = import_dir(fresh, tmp_path / "first")

    assert summary.created_coalition and summary.renumbered == []
    export_dir(fresh.store.database, tmp_path / "second", include_contacts=True, gazetteer=fresh.gazetteer)
    first, second = rows(tmp_path / "first"), rows(tmp_path / "second")
    for name in FILES:
        assert second[name] == first[name], name
    assert summary.imported["matches"] == len(first["matches"]) - 2


def test_importing_the_same_export_twice_changes_nothing(tmp_path, new_database):
    core, clock = lived_in(new_database("live"))
    export_dir(core.store.database, tmp_path / "out", include_contacts=True, gazetteer=core.gazetteer)
    fresh = Core(store=Store(new_database("fresh")), settings=core.settings, clock=Clock(clock.now))
    import_dir(fresh, tmp_path / "out")
    tables = ("events", "orgs", "org_members", "posts", "matches", "outbox")
    before = {t: fresh.store.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}  # noqa: S608

    again = import_dir(fresh, tmp_path / "out")

    assert sum(again.imported.values()) == 0 and again.proposals == 0
    assert again.already_here == {"events": 1, "orgs": 3, "needs": 4, "offers": 4, "matches": 4}
    after = {t: fresh.store.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}  # noqa: S608
    assert after == before


def test_importing_back_into_the_source_database_is_a_no_op(tmp_path, new_database):
    core, _ = lived_in(new_database("live"))
    export_dir(core.store.database, tmp_path / "out", include_contacts=True, gazetteer=core.gazetteer)
    before = core.store.db.execute("SELECT * FROM posts ORDER BY id").fetchall()

    summary = import_dir(core, tmp_path / "out")

    assert sum(summary.imported.values()) == 0
    assert core.store.db.execute("SELECT * FROM posts ORDER BY id").fetchall() == before


def test_ids_taken_in_the_target_are_renumbered_reported_and_matches_follow_their_posts(tmp_path, new_database):
    core, clock = lived_in(new_database("live"))
    export_dir(core.store.database, tmp_path / "out", include_contacts=True, gazetteer=core.gazetteer)
    other = core_world(new_database("other"))
    other.clock.now = clock.now
    local = other.add_org("Bayou Kitchens", 40)
    posts.post_need(other.core, local, sector="food", item="rice", quantity=7, location="Houston")

    summary = import_dir(other.core, tmp_path / "out")

    assert "org 1 -> org 2" in summary.renumbered and "N-1 -> N-2" in summary.renumbered
    assert not [r for r in summary.renumbered if r.startswith("M-")], "match ids were free here"
    assert "Ids taken here were renumbered: org 1 -> org 2, org 2 -> org 3" in "\n".join(summary.lines())
    store = other.core.store
    assert store.posts.get(1).item_key == "rice" and store.posts.get(1).quantity == 7, "the target's own post stays"
    moved = [m for m in store.matches.list(1, statuses=tuple(MatchStatus), limit=100)]
    assert len(moved) == 4
    for match in moved:
        need, offer = store.posts.get(match.need_id), store.posts.get(match.offer_id)
        assert need.kind.value == "need" and offer.kind.value == "offer"
        assert need.item_key == offer.item_key or {need.item_key, offer.item_key} <= {"tarpaulin", "tarp"}
        assert store.orgs.get(need.org_id).name != "Bayou Kitchens"
    again = import_dir(other.core, tmp_path / "out")
    assert sum(again.imported.values()) == 0, "renumbered records are found again, not duplicated"
