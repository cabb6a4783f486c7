"""The duplicate warning's core: what counts as alike, who may decide, and that a decision is made once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import Conflict, Forbidden, NotFound
from bot.services import duplicates, events, matches, posts
from bot.services.duplicates import DuplicateWarning, similar
from bot.services.posts import PostResult
from tests.e2e.matching_helpers import ADMIN, core_world


@pytest.fixture
def w(new_database):
    world = core_world(new_database("coalesce"))
    world.add_org("Houston Food Bank", 11)
    world.add_org("Baytown Relief", 12, location="Baytown")
    return world


def need(w, quantity, *, who="Houston Food Bank", **options):
    options.setdefault("location", "Houston")
    return posts.post_need(
        w.core, w.coordinators[who], sector="wash", item="soap", quantity=quantity, urgency="normal", **options
    )


@given(a=st.integers(1, 10**9), b=st.integers(1, 10**9))
def test_similar_quantities_are_within_a_factor_of_two_either_way(a, b):
    assert similar(a, b) == similar(b, a) == (max(a, b) <= 2 * min(a, b))


def test_a_held_post_is_decided_once_and_only_by_its_poster(w):
    need(w, 40)
    held = need(w, 45)
    assert isinstance(held, DuplicateWarning) and held.existing.ref == "N-1"

    other = w.add_org("Galveston Aid", 13, location="Galveston")
    with pytest.raises(Forbidden):
        posts.post_held(w.core, other, held.pending_id)
    with pytest.raises(Forbidden):
        duplicates.update_from_pending(w.core, other, held.pending_id)
    posted = posts.post_held(w.core, w.coordinators["Houston Food Bank"], held.pending_id)
    assert isinstance(posted, PostResult) and posted.post.ref == "N-2" and posted.post.quantity == 45
    with pytest.raises(NotFound):
        posts.post_held(w.core, w.coordinators["Houston Food Bank"], held.pending_id)
    with pytest.raises(NotFound):
        duplicates.update_from_pending(w.core, w.coordinators["Houston Food Bank"], 10**6)


def test_authority_and_the_event_are_checked_when_the_click_arrives(w):
    need(w, 40)
    held = need(w, 45)
    events.close_event(w.core, ADMIN, "Hurricane Delta")

    with pytest.raises(NotFound, match="No open event"):
        posts.post_held(w.core, w.coordinators["Houston Food Bank"], held.pending_id)

    assert w.core.store.pending.get(held.pending_id) is not None  # nothing changed: the choice stays open
    assert w.core.store.posts.get(2) is None


def test_update_keeps_what_is_pledged_and_refuses_less(w):
    alice, bob = w.coordinators["Houston Food Bank"], w.coordinators["Baytown Relief"]
    need(w, 100)
    posts.post_offer(w.core, bob, sector="wash", item="soap", quantity=60, location="Baytown")
    matches.accept_match(w.core, alice, 1)
    matches.accept_match(w.core, bob, 1)  # 60 of N-1 pledged, 40 left

    held = need(w, 80)
    with pytest.raises(Conflict, match="already pledged"):
        duplicates.update_from_pending(w.core, alice, need(w, 50).pending_id)
    updated = duplicates.update_from_pending(w.core, alice, held.pending_id)

    assert (updated.post.quantity, updated.post.remaining) == (80, 20)
    assert updated.changes[0].startswith("quantity 100 → 80")


def test_a_refused_update_leaves_the_choice_open(w):
    need(w, 100)
    held = need(w, 60)
    w.core.store.posts.reserve(1, 70)  # pledged since the warning: 70 of 100

    with pytest.raises(Conflict):
        duplicates.update_from_pending(w.core, w.coordinators["Houston Food Bank"], held.pending_id)

    assert w.core.store.pending.get(held.pending_id) is not None
    assert w.core.store.posts.get(1).quantity == 100
    assert posts.post_held(w.core, w.coordinators["Houston Food Bank"], held.pending_id).post.ref == "N-2"
