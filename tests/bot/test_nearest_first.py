"""Nearest first: a post's partners in its own town are always read, and in a busy area a post looks there first."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.geo import distance_km
from bot.grid import LOCAL_KM, cell_of, local_cell_of, local_cells
from bot.matching import HOLD, LOCAL_LEVEL, MAX_REACH_LEVEL, NEAR_LEVEL, level_steps, reach_km, reach_level
from bot.models import MatchStatus, PostKind, Urgency
from bot.services import matches, posts, proposals
from bot.store import Store
from bot.store.post_rows import NewPost
from tests.e2e.matching_helpers import core_world

START = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def w(new_database):
    world = core_world(new_database("coalesce"))
    for user_id, (name, place) in enumerate(
        [("Houston Food Bank", "Houston"), ("Baytown Relief", "Baytown"), ("Galveston Aid", "Galveston"),
         ("Dallas Shelter", "Dallas"), ("Conroe Church", "Conroe")],
        start=11,
    ):  # fmt: skip
        world.add_org(name, user_id, location=place)
    return world


def need(w, org="Houston Food Bank", *, item="bottled water", quantity=100, urgency="normal", location="Houston"):
    sector = "shelter" if item == "tarpaulin" else "wash"
    return posts.post_need(
        w.core, w.coordinators[org], sector=sector, item=item, quantity=quantity, urgency=urgency, location=location
    )


def offer(w, org="Baytown Relief", *, item="bottled water", quantity=100, location="Baytown"):
    sector = "shelter" if item == "tarpaulin" else "wash"
    return posts.post_offer(w.core, w.coordinators[org], sector=sector, item=item, quantity=quantity, location=location)


# --- reach: the town, then near, doubling per hold ------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "hours", "reach"),
    [
        ("normal", 0, 15.0), ("normal", 2.9, 15.0), ("normal", 3, 40.0), ("normal", 6, 80.0), ("normal", 18, 250.0),
        ("high", 0, 15.0), ("high", 0.5, 60.0), ("high", 1, 120.0), ("high", 3, 250.0),
        ("low", 5.9, 15.0), ("low", 6, 40.0), ("low", 12, 80.0), ("critical", 0, 250.0),
    ],
)  # fmt: skip
def test_a_post_that_starts_in_its_town_is_near_after_half_its_hold_then_doubles_as_before(urgency, hours, reach):
    level = reach_level(Urgency(urgency), START, None, START + timedelta(hours=hours), start=LOCAL_LEVEL)

    assert reach_km(Urgency(urgency), level=level, radius_km=250.0) == reach


def test_time_only_widens_a_post_and_a_day_to_its_deadline_reaches_everything():
    later = START + timedelta(hours=1)

    assert reach_level(Urgency.NORMAL, START, None, later, start=NEAR_LEVEL) == NEAR_LEVEL
    assert reach_level(Urgency.NORMAL, START, None, later, start=2) == 2
    assert reach_level(Urgency.NORMAL, START, START + timedelta(hours=20), later, start=LOCAL_LEVEL) == MAX_REACH_LEVEL


@pytest.mark.parametrize("urgency", [Urgency.HIGH, Urgency.NORMAL, Urgency.LOW])
def test_the_sweep_steps_are_half_a_hold_for_the_town_then_one_hold_per_doubling(urgency):
    hold = HOLD[urgency]

    assert level_steps(urgency) == [(-1, hold / 2), (0, hold), (1, 2 * hold), (2, 3 * hold)]


# --- the local grid ---------------------------------------------------------------------------------------------

points = st.tuples(st.floats(-70, 70), st.floats(-178, 178))


@given(origin=points, bearing=st.floats(0, 2 * math.pi), share=st.floats(0, 1))
def test_every_point_within_the_local_reach_lies_in_one_of_the_few_local_cells_read(origin, bearing, share):
    lat, lon = origin
    km = LOCAL_KM * share
    # A small step along the bearing; checked with the real distance below.
    point = (
        lat + math.degrees(km / 6371.0088) * math.cos(bearing),
        lon + math.degrees(km / 6371.0088) * math.sin(bearing) / math.cos(math.radians(lat)),
    )
    cells = local_cells(lat, lon)

    assert cells is not None and 1 <= len(cells) <= (6 if abs(lat) <= 55 else 8)  # a handful of probes
    if distance_km(lat, lon, *point) <= LOCAL_KM:
        assert local_cell_of(*point) in cells


def test_no_local_cells_where_a_degree_of_longitude_wraps_or_vanishes():
    assert local_cells(89.95, 10.0) is None
    assert local_cells(10.0, 179.99) is None


# --- the candidate read: the town's partners are never crowded out ----------------------------------------------


def insert_offer(w, *, org: str, lat: float, lon: float, quantity: int) -> int:
    event = w.core.store.events.list(1)[0]
    return w.core.store.posts.insert(
        NewPost(
            kind=PostKind.OFFER, coalition_id=1, event_id=event.id, org_id=w.orgs[org].id, sector="wash",
            item_key="bottled_water", item_label="Bottled water", quantity=quantity, unit="bottles", place_key="x",
            place_label="x", lat=lat, lon=lon, urgency=Urgency.NORMAL, deadline=None, notes="", posted_by=12,
            cell=cell_of(lat, lon, event.radius_km),
        ),
        w.clock.now,
    ).id  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    near=st.lists(st.tuples(st.floats(0, LOCAL_KM - 0.1), st.floats(0, 2 * math.pi)), min_size=1, max_size=5),
    far=st.lists(st.tuples(st.floats(60, 240), st.floats(0, 2 * math.pi)), max_size=40),
)
def test_every_partner_in_the_town_is_read_however_many_larger_posts_lie_beyond_its_cells(w, near, far):
    # The town's cells reach at most 15 km + a cell's diagonal (42 km) from the post: larger posts beyond 60 km
    # can never share a cell with a partner in the town. Within its cells, the 6 most urgent, largest are read.
    w.core.store.db.execute("DELETE FROM matches")
    w.core.store.db.execute("DELETE FROM posts")
    houston = w.core.gazetteer.resolve("Houston")

    def at(km: float, bearing: float) -> tuple[float, float]:
        step = math.degrees(km / 6371.0088)
        return houston.lat + step * math.cos(bearing), houston.lon + step * math.sin(bearing) / 0.868

    with w.core.store.atomic():
        local = set()
        for km, bearing in near:
            lat, lon = at(km, bearing)
            local.add(insert_offer(w, org="Baytown Relief", lat=lat, lon=lon, quantity=5))
        for km, bearing in far:
            lat, lon = at(km, bearing)
            insert_offer(w, org="Galveston Aid", lat=lat, lon=lon, quantity=5000)
    need_post = posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="bottled water", quantity=1,
        location="Houston", urgency="critical",
    ).post  # fmt: skip
    w.core.store.db.execute("DELETE FROM matches")

    found = w.core.store.posts.candidates(need_post, limits={"bottled_water": 6}, radius_km=250.0, now=w.clock.now)

    assert local <= {c.id for c in found}


@pytest.mark.sqlite_only
def test_the_local_reads_use_their_indexes_in_order(w):
    plan = w.core.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM posts WHERE event_id = 1 AND kind = 'offer' AND item_key = 'x'"
        " AND near_cell = 1 AND status = 'open' AND remaining > 0 AND (deadline IS NULL OR deadline > '')"
        " AND org_id != 1 ORDER BY urgency_rank, remaining DESC LIMIT 6"
    ).fetchall()

    busy = w.core.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT lat, lon FROM posts WHERE event_id = 1 AND near_cell IN (1, 2, 3, 4)"
        " AND created_at > '' AND org_id != 1 AND lat BETWEEN 1 AND 2 AND lon BETWEEN 1 AND 2 LIMIT 16"
    ).fetchall()

    detail = " ".join(str(row[-1]) for row in plan)
    assert "posts_near_candidates" in detail and "TEMP B-TREE" not in detail
    recent = " ".join(str(row[-1]) for row in busy)
    # The LIMIT ends the read, and the index answers it alone: no row lookup per recent post.
    assert "COVERING INDEX posts_near_recent" in recent and "TEMP B-TREE" not in recent


def test_a_critical_need_in_houston_gets_the_houston_offer_not_the_bigger_ones_farther_away(w):
    far = [("Conroe Church", "Conroe"), ("Galveston Aid", "Texas City"), ("Galveston Aid", "Galveston"),
           ("Conroe Church", "Huntsville, Texas, US"), ("Baytown Relief", "Katy"), ("Baytown Relief", "Brenham"),
           ("Galveston Aid", "Lake Jackson")]  # fmt: skip
    for org, place in far:
        offer(w, org, quantity=500, location=place)
    houston = offer(w, "Dallas Shelter", quantity=60, location="Houston").post

    proposed = need(w, quantity=100, urgency="critical").proposals

    assert proposed[0].offer.id == houston.id and proposed[0].live_quantity == 60
    assert [c.match.distance_km for c in proposed] == sorted(c.match.distance_km for c in proposed)


# --- town first where it is busy --------------------------------------------------------------------------------


def busy(w, *places: str) -> None:
    """Other organisations post something unrelated in these towns (shelter, not water)."""
    for place in places:
        need(w, "Dallas Shelter", item="tarpaulin", quantity=5, location=place)


def test_in_a_busy_area_a_need_waits_half_its_hold_for_a_partner_in_its_own_town(w):
    busy(w, "Houston", "Baytown", "Pasadena, Texas, US")
    offer(w, "Baytown Relief")  # about 37 km from Houston
    waiting = need(w, quantity=100)

    assert waiting.proposals == [] and waiting.farther == 1
    assert w.core.store.posts.get(waiting.post.id).reach_level == LOCAL_LEVEL
    w.clock.now += timedelta(hours=1)
    assert offer(w, "Conroe Church", location="Pasadena, Texas, US").proposals == []  # about 17 km: not yet
    own = offer(w, "Galveston Aid", location="Houston")

    assert [(c.need.id, c.offer.id) for c in own.proposals] == [(waiting.post.id, own.post.id)]


def test_after_half_its_hold_the_sweep_proposes_the_partner_beyond_its_town(w):
    busy(w, "Houston", "Baytown")
    baytown = offer(w, "Baytown Relief").post
    waiting = need(w, quantity=100).post

    assert proposals.next_widening(w.core) == baytown.created_at + timedelta(hours=3)
    w.clock.now += timedelta(hours=2, minutes=59)
    assert proposals.widen_due(w.core, w.clock.now) == 0
    w.clock.now += timedelta(minutes=1)

    assert proposals.widen_due(w.core, w.clock.now) == 2
    found = matches.list_matches(w.core, w.coordinators["Houston Food Bank"], mine=True)
    assert [(c.need.id, c.offer.id, c.match.status) for c in found] == [(waiting.id, baytown.id, MatchStatus.PROPOSED)]
    assert w.core.store.posts.get(waiting.id).reach_level == NEAR_LEVEL


@pytest.mark.parametrize(
    ("others", "label"),
    [((), "nobody posted near"), (("Dallas",), "others posted far away"), (("Houston",), "only the post's own org")],
)
def test_in_a_quiet_area_a_post_reaches_near_at_once(w, others, label):
    for place in others:
        poster = "Houston Food Bank" if label == "only the post's own org" else "Dallas Shelter"
        need(w, poster, item="tarpaulin", quantity=5, location=place)
    baytown = offer(w, "Baytown Relief").post

    posted = need(w, quantity=100)

    assert [c.offer.id for c in posted.proposals] == [baytown.id], label
    assert w.core.store.posts.get(posted.post.id).reach_level == NEAR_LEVEL


def test_what_made_an_area_busy_counts_only_for_half_a_hold(w):
    busy(w, "Houston", "Baytown")
    offer(w, "Baytown Relief")
    w.clock.now += timedelta(hours=3, minutes=1)  # the tarpaulin posts are older than half a normal hold

    posted = need(w, quantity=100)

    assert len(posted.proposals) == 1


def test_a_critical_need_in_a_busy_area_still_reaches_the_whole_event_at_once(w):
    busy(w, "Houston", "Galveston")
    galveston = offer(w, "Galveston Aid", location="Galveston").post

    posted = need(w, quantity=100, urgency="critical")

    assert [c.offer.id for c in posted.proposals] == [galveston.id]


# --- existing databases -----------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_posts_stored_before_the_local_grid_are_read_by_it_after_the_migration(w, tmp_path):
    houston_offer = offer(w, "Dallas Shelter", location="Houston").post
    db = w.core.store.db
    # As before 0020: no local grid, and the old event-wide cells (the event's radius across).
    db.execute("DROP INDEX posts_near_candidates")
    db.execute("DROP INDEX posts_near_recent")
    db.execute("DROP INDEX posts_near_family_candidates")  # a later migration's, on the same column
    db.execute("ALTER TABLE posts DROP COLUMN near_cell")
    db.execute("UPDATE posts SET cell = 7")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0020_nearest_first'")
    w.core.store.close()

    reopened = Store(tmp_path / "coalesce.db")

    assert reopened.pending_migrations() == []
    spot = w.core.gazetteer.resolve("Houston")
    row = reopened.db.execute("SELECT cell, near_cell FROM posts WHERE id = ?", [houston_offer.id]).fetchone()
    assert tuple(row) == (cell_of(spot.lat, spot.lon, 250.0), local_cell_of(spot.lat, spot.lon))
    reopened.close()
