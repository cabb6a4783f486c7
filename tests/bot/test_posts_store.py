"""The posts store and the post service's checks: bounded candidate reads, ids, public-text rules."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.matching import cell_of
from bot.models import PostKind, Urgency
from bot.services import personal_data, post_lifecycle, posts
from bot.store import Store
from bot.store.post_rows import NewPost
from tests.e2e.matching_helpers import core_world


@pytest.fixture
def w(new_database):
    world = core_world(new_database("coalesce"))
    world.add_org("Houston Food Bank", 11)
    world.add_org("Baytown Relief", 12, location="Baytown")
    return world


def bulk_offers(w, count: int, *, item_key: str = "bottled_water", place: str = "Baytown", org: str = "Baytown Relief"):
    """Insert many open offers straight through the store (the service would rate-limit a real person)."""
    spot = w.core.gazetteer.resolve(place)
    event = w.core.store.events.list(1)[0]
    with w.core.store.atomic():
        for i in range(count):
            w.core.store.posts.insert(
                NewPost(
                    kind=PostKind.OFFER, coalition_id=1, event_id=event.id, org_id=w.orgs[org].id, sector="wash",
                    item_key=item_key, item_label=item_key, quantity=1 + i % 500, unit="bottles", place_key=spot.key,
                    place_label=spot.label, lat=spot.lat, lon=spot.lon, urgency=Urgency.NORMAL, deadline=None,
                    notes="", posted_by=12, cell=cell_of(spot.lat, spot.lon, event.radius_km),
                ),
                w.clock.now,
            )  # fmt: skip


def water_need(w):
    """A small low-urgency need for water in Houston, in bottles, by the food bank."""
    return posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="water", quantity=5, location="Houston",
        urgency="low", unit="bottles",
    )  # fmt: skip


def test_candidates_stay_bounded_when_thousands_of_offers_share_an_item_and_a_city(w):
    bulk_offers(w, 3000)
    need = posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="bottled water", quantity=400,
        location="Houston", urgency="high",
    )  # fmt: skip

    found = w.core.store.posts.candidates(need.post, limits={"bottled_water": 6}, radius_km=250.0, now=w.clock.now)

    remaining = [p.remaining for p in found]
    assert len(found) == 6
    assert remaining == sorted(remaining, reverse=True) and min(remaining) >= 499  # the largest first
    assert not {p.id for p in found} & {c.offer.id for c in need.proposals}  # proposed pairs are skipped
    assert len(need.proposals) == w.core.settings.proposals_per_post


@pytest.mark.sqlite_only
def test_candidate_query_uses_the_matching_index(w):
    plan = w.core.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM posts WHERE event_id = 1 AND kind = 'offer' AND item_key = 'x' AND cell = 1"
        " AND status = 'open' AND remaining > 0 AND (deadline IS NULL OR deadline > '') AND org_id != 1"
        " ORDER BY urgency_rank, remaining DESC LIMIT 6"
    ).fetchall()

    detail = " ".join(str(row[-1]) for row in plan)
    assert "posts_match_candidates" in detail
    assert "TEMP B-TREE" not in detail  # rows come out in order: the LIMIT stops the read


INDEXES = ("match_", "near_", "family_", "near_family_")


@pytest.mark.sqlite_only
def test_every_candidate_probe_is_answered_in_order_by_an_index_alone(w):
    bulk_offers(w, 2)
    need = water_need(w)
    db = w.core.store.db
    ran: list[str] = []
    db.on_statement(ran.append)
    try:
        w.core.store.posts.candidates(
            need.post, limits={"bottled_water": 6}, families={"water": 6}, radius_km=250.0, now=w.clock.now
        )
    finally:
        db.on_statement(None)

    probes = [sql for sql in ran if sql.startswith("SELECT") and "ORDER BY urgency_rank" in sql]
    assert len(probes) > 4 and any("family = " in sql for sql in probes)  # both grids, the item and its family
    for sql in probes:
        plan = " ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
        # No row lookup per candidate, and the rows come out in order: the LIMIT stops the read.
        assert any(f"COVERING INDEX posts_{grid}candidates" in plan for grid in INDEXES), plan
        assert "TEMP B-TREE" not in plan


def test_a_family_read_finds_the_siblings_and_the_parent_but_not_the_item_itself(w):
    bulk_offers(w, 3, item_key="water_trucking")  # a sibling of bottled water
    bulk_offers(w, 2, item_key="water")  # the parent, at the top of its family
    bulk_offers(w, 2, item_key="bottled_water")  # the item itself: read on its own, not by the family
    need = posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="bottled water", quantity=5,
        location="Houston", urgency="low",
    )  # fmt: skip
    w.core.store.db.execute("DELETE FROM matches")

    found = w.core.store.posts.candidates(need.post, limits={}, families={"water": 6}, radius_km=250.0, now=w.clock.now)

    assert sorted(c.item_key for c in found) == ["water"] * 2 + ["water_trucking"] * 3


def test_a_store_opening_gives_each_post_its_item_s_family_in_today_s_catalogue(w):
    bulk_offers(w, 2, item_key="water_trucking")
    db = w.core.store.db
    assert {row[0] for row in db.execute("SELECT family FROM posts").fetchall()} == {"water"}
    db.execute("UPDATE posts SET family = 'shelter'")  # as if the catalogue had moved the item since
    path = w.core.store.database
    w.core.store.close()

    reopened = Store(path)

    assert {row[0] for row in reopened.db.execute("SELECT family FROM posts").fetchall()} == {"water"}
    assert reopened.posts.refresh_families() == 0  # nothing left to move
    reopened.close()


def test_candidates_skip_other_orgs_pairs_already_proposed(w):
    bulk_offers(w, 2)
    need = water_need(w)
    assert len(need.proposals) == 2

    again = w.core.store.posts.candidates(
        need.post, limits={"bottled_water": 6, "water": 6}, radius_km=250.0, now=w.clock.now
    )

    assert again == []


def test_a_post_just_stored_reads_the_same_candidates_without_searching_the_matches(w):
    bulk_offers(w, 40)
    bulk_offers(w, 5, item_key="water_trucking")
    houston = w.core.gazetteer.resolve("Houston")
    event = w.core.store.events.list(1)[0]
    seen: list[str] = []
    with w.core.store.atomic():
        need = w.core.store.posts.insert(
            NewPost(
                kind=PostKind.NEED, coalition_id=1, event_id=event.id, org_id=w.orgs["Houston Food Bank"].id,
                sector="wash", item_key="bottled_water", item_label="Bottled water", quantity=300, unit="bottles",
                place_key=houston.key, place_label=houston.label, lat=houston.lat, lon=houston.lon,
                urgency=Urgency.HIGH, deadline=None, notes="", posted_by=11,
                cell=cell_of(houston.lat, houston.lon, event.radius_km),
            ),
            w.clock.now,
        )  # fmt: skip
        read = {"limits": {"bottled_water": 6}, "families": {"water": 3}, "radius_km": 250.0, "now": w.clock.now}
        w.core.store.db.on_statement(seen.append)
        fresh = w.core.store.posts.candidates(need, just_stored=True, **read)
        w.core.store.db.on_statement(None)
        general = w.core.store.posts.candidates(need, **read)

    assert fresh == general
    assert {c.item_key for c in fresh} == {"bottled_water", "water_trucking"}
    assert seen and not [sql for sql in seen if "matches" in sql]


@pytest.mark.parametrize(
    ("notes", "kind"),
    [
        ("Call +44 20 7946 0958 after 6pm", "phone number"),
        ("ring (713) 555-0100", "phone number"),
        ("whatsapp 713.555.0100", "phone number"),
        ("07700900123 for the warehouse", "phone number"),
        ("write to logistics@relief.example.org", "e-mail"),
        ("pick up at 1200 Main Street", "street address"),
        ("deliver to 45 Rue de Rivoli", "street address"),
        ("we are at 5 W 5th Ave", "street address"),
    ],
)
def test_notes_that_look_like_personal_data_are_refused(notes, kind):
    with pytest.raises(InvalidInput, match=kind) as refused:
        personal_data.refuse_personal_data(notes, "notes")
    assert "shared privately" in refused.value.message


@pytest.mark.parametrize(
    "notes",
    [
        "500 bottles, 1.5 litre each, on 3 pallets",
        "needed by 2026-12-03 18:00 for 2,000 families",
        "3 pallets on the road from Dallas",
        "for the shelter at the high school gym",
        "batch 1234-5678",
    ],
)
def test_ordinary_notes_pass(notes):
    personal_data.refuse_personal_data(notes, "notes")


@pytest.mark.parametrize(("text", "kind", "expected"), [("N-12", PostKind.NEED, 12), ("n12", PostKind.NEED, 12),
                                                          ("#7", PostKind.OFFER, 7), (" O-7 ", PostKind.OFFER, 7),
                                                          ("42", PostKind.OFFER, 42)])  # fmt: skip
def test_post_refs_parse(text, kind, expected):
    assert post_lifecycle.parse_ref(text, kind) == expected


@pytest.mark.parametrize("text", ["O-3", "N-", "twelve", ""])
def test_bad_need_refs_are_refused(text):
    with pytest.raises(InvalidInput):
        post_lifecycle.parse_ref(text, PostKind.NEED)


@pytest.mark.parametrize("quantity", [0, -5, 1_000_000_001])
def test_quantities_outside_the_range_are_refused(w, quantity):
    with pytest.raises(InvalidInput, match="1 to 1,000,000,000"):
        posts.post_offer(
            w.core, w.coordinators["Baytown Relief"], sector="wash", item="soap", quantity=quantity, location="Baytown"
        )


def test_item_text_with_a_mention_is_refused(w):
    with pytest.raises(InvalidInput, match="mentions"):
        posts.post_offer(
            w.core, w.coordinators["Baytown Relief"], sector="wash", item="soap @everyone", quantity=3,
            location="Baytown",
        )  # fmt: skip


def test_every_change_is_audited(w):
    posted = posts.post_offer(
        w.core, w.coordinators["Baytown Relief"], sector="wash", item="soap", quantity=3, location="Baytown"
    )
    post_lifecycle.close_post(w.core, w.coordinators["Baytown Relief"], PostKind.OFFER, posted.post.ref)

    actions = [e.action for e in w.core.store.audit.recent(1, limit=5)]
    assert actions[:2] == ["offer.withdrawn", "offer.post"]
