"""The matching engine: which pairs are proposed, in what order, and never twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.matching import (
    MAX_REACH_LEVEL,
    best_proposals,
    cell_of,
    deadline_pressure,
    evaluate,
    reach_km,
    reach_level,
    search_cells,
)
from bot.models import MatchStatus, PostKind, PostStatus, Urgency
from bot.services import matches, post_lifecycle, posts, proposals
from bot.store.matches import NewMatch
from bot.taxonomy import default_taxonomy
from tests.e2e.matching_helpers import core_world


@pytest.fixture
def w(new_database):
    world = core_world(new_database("coalesce"))
    world.add_org("Houston Food Bank", 11)
    world.add_org("Baytown Relief", 12, location="Baytown")
    world.add_org("Galveston Aid", 13, location="Galveston")
    world.add_org("Dallas Shelter", 14, location="Dallas")
    return world


def need(w, org="Houston Food Bank", *, item="bottled water", quantity=100, urgency="normal", **options):
    options.setdefault("location", "Houston")
    return posts.post_need(
        w.core, w.coordinators[org], sector="wash", item=item, quantity=quantity, urgency=urgency, **options
    )


def offer(w, org="Baytown Relief", *, item="bottled water", quantity=100, **options):
    options.setdefault("location", "Baytown")
    return posts.post_offer(w.core, w.coordinators[org], sector="wash", item=item, quantity=quantity, **options)


def test_an_offer_of_a_synonym_is_proposed_to_the_need(w):
    posted = need(w, item="bottled water")

    found = offer(w, item="drinking water")  # a synonym of bottled water

    assert [(c.need.id, c.match.status) for c in found.proposals] == [(posted.post.id, MatchStatus.PROPOSED)]
    assert found.proposals[0].need.item_key == found.proposals[0].offer.item_key == "bottled_water"


def test_a_parent_item_matches_with_a_lower_score_than_the_same_item(w):
    need(w, item="bottled water", quantity=100, unit="bottles of 1 L")
    parent = offer(w, item="water", quantity=100)  # water is bottled water's parent, counted in litres
    same = offer(w, "Galveston Aid", item="bottled water", quantity=100, location="Baytown", unit="bottles of 1 L")

    assert parent.proposals and same.proposals
    assert parent.proposals[0].match.score < same.proposals[0].match.score


def test_unrelated_items_never_match(w):
    need(w, item="bottled water")

    assert offer(w, item="tarpaulin").proposals == []


def test_posts_beyond_the_event_radius_are_not_matched(w):
    need(w, quantity=100, urgency="critical")  # Houston; the event's radius is 250 km, all of it reached at once

    far = offer(w, "Dallas Shelter", location="Dallas")  # about 360 km away
    near = offer(w, "Galveston Aid", location="Galveston")  # about 75 km away

    assert far.proposals == []
    assert len(near.proposals) == 1


def test_a_need_that_is_not_critical_is_matched_near_first_and_reaches_farther_after_its_hold(w):
    waiting = need(w, quantity=100, urgency="normal")  # Houston
    farther = offer(w, "Galveston Aid", location="Galveston")  # about 75 km: beyond the 40 km a normal need reaches

    assert farther.proposals == []
    w.clock.now += timedelta(hours=5, minutes=59)
    assert proposals.widen_due(w.core, w.clock.now) == 0

    w.clock.now += timedelta(minutes=1)  # six hours: the hold of a normal need
    widened = proposals.widen_due(w.core, w.clock.now)

    assert widened == 2  # the need and the offer both waited: each now reaches 80 km
    found = matches.list_matches(w.core, w.coordinators["Houston Food Bank"], mine=True)
    assert [(c.need.id, c.offer.id) for c in found] == [(waiting.post.id, farther.post.id)]
    assert proposals.widen_due(w.core, w.clock.now) == 0  # once per step of reach


def test_a_near_offer_is_proposed_at_once_whatever_the_urgency(w):
    need(w, quantity=100, urgency="low")  # Houston

    near = offer(w, location="Baytown")  # about 35 km

    assert len(near.proposals) == 1


def test_the_next_widening_is_when_the_oldest_waiting_post_has_waited_its_hold(w):
    assert proposals.next_widening(w.core) is None
    posted = need(w, quantity=100, urgency="high")

    assert proposals.next_widening(w.core) == posted.post.created_at + timedelta(hours=1)
    w.clock.now += timedelta(hours=1)
    proposals.widen_due(w.core, w.clock.now)
    assert proposals.next_widening(w.core) == posted.post.created_at + timedelta(hours=2)


@pytest.mark.parametrize(
    ("urgency", "hours", "reach"),
    [
        ("normal", 0, 40.0), ("normal", 5.9, 40.0), ("normal", 6, 80.0), ("normal", 12, 160.0), ("normal", 18, 250.0),
        ("high", 0, 60.0), ("high", 1, 120.0), ("high", 2, 240.0), ("high", 3, 250.0),
        ("low", 11, 40.0), ("low", 12, 80.0), ("low", 36, 250.0), ("critical", 0, 250.0),
    ],
)  # fmt: skip
def test_reach_doubles_with_each_hold_waited_up_to_the_whole_event(urgency, hours, reach):
    start = datetime(2026, 12, 1, tzinfo=UTC)
    level = reach_level(Urgency(urgency), start, None, start + timedelta(hours=hours))

    assert reach_km(Urgency(urgency), level=level, radius_km=250.0) == reach


def test_a_deadline_a_day_away_reaches_the_whole_event_at_once():
    start = datetime(2026, 12, 1, tzinfo=UTC)

    assert reach_level(Urgency.LOW, start, start + timedelta(hours=23), start) == MAX_REACH_LEVEL
    assert reach_level(Urgency.LOW, start, start + timedelta(days=3), start) == 0


def test_radius_cut_off_is_exact_at_the_boundary(w):
    posted = need(w, urgency="critical").post
    distant = replace(posted, id=999, kind=PostKind.OFFER, org_id=999, lat=posted.lat + 2.0)
    taxonomy = default_taxonomy()

    assert evaluate(posted, distant, taxonomy=taxonomy, radius_km=223.0, now=w.clock.now) is not None
    assert evaluate(posted, distant, taxonomy=taxonomy, radius_km=222.0, now=w.clock.now) is None


@pytest.mark.parametrize(("urgency", "near_km"), [("high", 60.0), ("normal", 40.0), ("low", 40.0)])
def test_near_reach_is_exact_at_its_boundary_until_either_side_has_waited(w, urgency, near_km):
    posted = need(w, urgency=urgency).post
    km_per_degree = 111.19492664455873
    inside = replace(
        posted, id=998, kind=PostKind.OFFER, org_id=998, urgency=Urgency.NORMAL,
        lat=posted.lat + (near_km - 0.5) / km_per_degree,
    )  # fmt: skip
    outside = replace(inside, id=999, lat=posted.lat + (near_km + 0.5) / km_per_degree)
    taxonomy, now = default_taxonomy(), w.clock.now

    assert evaluate(posted, inside, taxonomy=taxonomy, radius_km=250.0, now=now) is not None
    assert evaluate(posted, outside, taxonomy=taxonomy, radius_km=250.0, now=now) is None
    waited_offer = replace(outside, created_at=now - timedelta(hours=6))
    assert evaluate(posted, waited_offer, taxonomy=taxonomy, radius_km=250.0, now=now) is not None


def test_a_new_offer_goes_to_the_most_urgent_need_first(w):
    low = need(w, "Houston Food Bank", urgency="low").post
    critical = need(w, "Galveston Aid", urgency="critical", location="Houston").post
    normal = need(w, "Dallas Shelter", urgency="normal", location="Houston").post

    proposed = offer(w, quantity=100).proposals

    assert [c.need.id for c in proposed] == [critical.id, normal.id, low.id]
    assert proposed[0].match.score > proposed[1].match.score > proposed[2].match.score


def test_a_nearer_deadline_ranks_higher(w):
    later = need(w, "Houston Food Bank", needed_by="2026-12-20").post
    sooner = need(w, "Galveston Aid", needed_by="2026-12-02", location="Houston").post

    proposed = offer(w).proposals

    assert [c.need.id for c in proposed] == [sooner.id, later.id]
    assert deadline_pressure(None, w.clock.now) == 0.0
    assert deadline_pressure(w.clock.now + timedelta(hours=3), w.clock.now) == 1.0


def test_at_most_proposals_per_post_are_made(w):
    for name in ("Houston Food Bank", "Galveston Aid", "Dallas Shelter"):
        need(w, name, location="Houston")
    w.add_org("Pasadena Pantry", 15, location="Pasadena, Texas, US")
    need(w, "Pasadena Pantry", location="Pasadena, Texas, US")

    proposed = offer(w).proposals

    assert len(proposed) == w.core.settings.proposals_per_post == 3


def test_an_org_is_never_matched_with_itself(w):
    need(w, "Baytown Relief", location="Baytown")

    assert offer(w, "Baytown Relief").proposals == []


def test_expired_posts_stop_matching_at_once_and_the_sweep_closes_them(w):
    posted = need(w, needed_by="2026-12-02").post
    w.clock.now += timedelta(days=2)

    assert offer(w).proposals == []
    # The offer's command did not retire the need: that is housekeeping's, off any command's path.
    assert w.core.store.posts.get(posted.id).status is PostStatus.OPEN
    assert [p.id for p in post_lifecycle.expire_due(w.core)] == [posted.id]
    expired = w.core.store.posts.get(posted.id)
    assert expired.status is PostStatus.EXPIRED
    notices = w.core.store.outbox.due(w.clock.now, limit=100)
    assert any(m.target == f"user:{posted.posted_by}" and "expired" in str(m.payload) for m in notices)


def test_expire_due_lapses_proposals_and_rematches_the_partner(w):
    first = need(w, needed_by="2026-12-02").post
    o = offer(w).post
    [proposal] = w.core.store.matches.live_for_post(o.id)
    second = need(w, "Galveston Aid", location="Houston").post  # no room: the offer is proposed once already
    w.clock.now += timedelta(days=2)

    expired = post_lifecycle.expire_due(w.core)

    assert [p.id for p in expired] == [first.id] and expired[0].status is PostStatus.EXPIRED
    assert w.core.store.matches.get(proposal.id).status is MatchStatus.LAPSED
    live = w.core.store.matches.live_for_post(o.id)
    assert [m.need_id for m in live if m.status is MatchStatus.PROPOSED] == [second.id]
    assert post_lifecycle.expire_due(w.core) == []


def test_the_same_pair_is_never_proposed_twice(w):
    n = need(w).post
    o = offer(w).post
    [match] = w.core.store.matches.live_for_post(n.id)
    matches.decline_match(w.core, w.coordinators["Houston Food Bank"], match.id)

    again = matches.propose_for(w.core, n.id, w.clock.now)

    assert again == []
    rows = w.core.store.db.execute("SELECT COUNT(*) FROM matches WHERE need_id = ? AND offer_id = ?", [n.id, o.id])
    assert rows.fetchone()[0] == 1


def test_proposals_stored_together_keep_their_order_and_leave_out_a_pair_proposed_before(w):
    n = need(w, quantity=500).post
    first = offer(w, quantity=10).post  # proposed to the need at once
    later = [
        offer(w, org, quantity=20 + i, location=place).post
        for i, (org, place) in enumerate((("Galveston Aid", "Galveston"), ("Dallas Shelter", "Dallas")))
    ]
    due = w.clock.now + timedelta(hours=4)
    new = [
        NewMatch(need_id=n.id, offer_id=o.id, score=0.5 + i / 10, distance_km=10.0 * i, quantity=o.quantity,
                 offer_quantity=o.quantity, due_at=due, replaces_id=None)
        for i, o in enumerate([later[1], first, later[0]])
    ]  # fmt: skip

    with w.core.store.atomic():
        stored = w.core.store.matches.propose(1, n.event_id, new, w.clock.now)

    assert [(m.offer_id, m.score, m.distance_km, m.quantity) for m in stored] == [
        (later[1].id, 0.5, 0.0, 21),
        (later[0].id, 0.7, 20.0, 20),
    ]
    assert all(m.status is MatchStatus.PROPOSED and m.due_at == due and m.created_at == w.clock.now for m in stored)
    assert w.core.store.matches.get_many(m.id for m in stored) == {m.id: m for m in stored}


def test_partial_fulfilment_leaves_the_remainder_matchable(w):
    n = need(w, quantity=500, urgency="critical").post
    first = offer(w, quantity=300).proposals[0].match
    matches.accept_match(w.core, w.coordinators["Houston Food Bank"], first.id)
    card = matches.accept_match(w.core, w.coordinators["Baytown Relief"], first.id)
    assert (card.match.status, card.match.quantity, card.need.remaining) == (MatchStatus.COMMITTED, 300, 200)

    second = offer(w, "Galveston Aid", quantity=250, location="Galveston").proposals

    assert [(c.need.id, c.live_quantity) for c in second] == [(n.id, 200)]


def test_committing_everything_lapses_the_posts_other_proposals(w):
    need(w, quantity=100)
    need(w, "Galveston Aid", quantity=100, location="Houston")
    o = offer(w, quantity=100).post
    first, second = w.core.store.matches.live_for_post(o.id)

    matches.accept_match(w.core, w.coordinators["Houston Food Bank"], first.id)
    matches.accept_match(w.core, w.coordinators["Baytown Relief"], first.id)

    assert w.core.store.matches.get(second.id).status is MatchStatus.LAPSED


def test_best_proposals_skips_excluded_and_duplicate_candidates(w):
    n = need(w).post
    o = offer(w).post
    taxonomy = default_taxonomy()

    assert best_proposals(n, [o, o], taxonomy=taxonomy, radius_km=250, now=w.clock.now, limit=5)[0].offer.id == o.id
    assert len(best_proposals(n, [o, o], taxonomy=taxonomy, radius_km=250, now=w.clock.now, limit=5)) == 1
    excluded = best_proposals(
        n, [o], taxonomy=taxonomy, radius_km=250, now=w.clock.now, limit=5, exclude=frozenset({o.id})
    )
    assert excluded == []


def test_search_cells_cover_every_point_within_the_radius():
    for lat, lon, radius in [(29.76, -95.36, 250.0), (-33.9, 151.2, 40.0), (64.1, -21.9, 120.0), (0.0, 0.0, 5.0)]:
        cells = set(search_cells(lat, lon, radius) or [])
        for dlat, dlon in [(0.9, 0.0), (-0.9, 0.0), (0.0, 0.9), (0.0, -0.9), (0.6, 0.6), (-0.6, -0.6)]:
            km_lat = radius / 111.2
            point = (lat + dlat * km_lat, lon + dlon * km_lat)
            assert cell_of(*point, radius) in cells


def test_search_cells_fall_back_near_the_poles_and_antimeridian():
    assert search_cells(89.5, 10.0, 100.0) is None
    assert search_cells(0.0, 179.9, 100.0) is None


def test_what_a_partial_commitment_leaves_is_proposed_again_at_once(new_database):
    w = core_world(new_database("one"), proposals_per_post=1)
    w.add_org("Houston Food Bank", 11)
    w.add_org("Baytown Relief", 12, location="Baytown")
    w.add_org("Galveston Aid", 13, location="Galveston")
    offer(w, "Baytown Relief", quantity=300)
    second = offer(w, "Galveston Aid", quantity=250, location="Galveston")
    posted = need(w, quantity=500, urgency="critical")
    (first,) = posted.proposals

    matches.accept_match(w.core, w.coordinators["Houston Food Bank"], first.match.id)
    committed = matches.accept_match(w.core, w.coordinators[first.offer_org.name], first.match.id)

    assert committed.match.status is MatchStatus.COMMITTED
    live = w.core.store.matches.live_for_post(posted.post.id)
    again = [m for m in live if m.status is MatchStatus.PROPOSED]
    assert len(again) == 1 and again[0].offer_id in {second.post.id, first.offer.id} - {first.offer.id}
