"""One meaning of *open*: lists, digests, autocomplete and matching agree on which posts are open."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.matching import is_matchable
from bot.models import PostKind
from bot.services import matches, post_lifecycle, posts
from bot.store.digests import Digests
from tests.e2e.matching_helpers import core_world


@pytest.fixture
def w(new_database):
    world = core_world(new_database("coalesce"), post_rate_limit=1000)
    world.add_org("Houston Food Bank", 11)
    world.add_org("Baytown Relief", 12, location="Baytown")
    return world


def _need(w, quantity=100, **options):
    return posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="soap", quantity=quantity,
        location="Houston", urgency="high", **options,
    ).post  # fmt: skip


def _board(w):
    """Which needs each reader calls open, read at the same moment."""
    actor = w.coordinators["Houston Food Bank"]
    now = w.clock.now
    digest = {need.id for need in Digests(w.core.store.db).snapshot(1, now - timedelta(days=1), now).open_needs}
    completed = {p.id for p in post_lifecycle.my_open_posts(w.core, actor, PostKind.NEED, "")}
    every = [w.core.store.posts.get(row[0]) for row in w.core.store.db.execute("SELECT id FROM posts").fetchall()]
    matchable = {p.id for p in every if p.kind is PostKind.NEED and is_matchable(p, now)}
    listed = {
        line.post.id for line in post_lifecycle.list_posts(w.core, actor, PostKind.NEED)
    }  # last: it sweeps expiry
    return listed, digest, completed, matchable


def test_a_need_fully_pledged_is_open_nowhere_and_one_with_something_left_everywhere(w):
    pledged = _need(w, quantity=100)
    partly = _need(w, quantity=300)
    untouched = _need(w, quantity=40)
    offer = posts.post_offer(
        w.core, w.coordinators["Baytown Relief"], sector="wash", item="soap", quantity=150, location="Baytown"
    )
    by_need = {card.need.id: card.match.id for card in offer.proposals}
    for need_id in (pledged.id, partly.id):
        for org in ("Houston Food Bank", "Baytown Relief"):
            matches.accept_match(w.core, w.coordinators[org], by_need[need_id])

    boards = _board(w)

    left = {p: w.core.store.posts.get(p).remaining for p in (pledged.id, partly.id, untouched.id)}
    assert left[pledged.id] == 0 and 0 < left[partly.id] < 300
    assert all(board == {partly.id, untouched.id} for board in boards), boards


def test_a_need_past_its_date_is_open_nowhere_even_before_the_sweep_closes_it(w):
    dated = _need(w, needed_by=(w.clock.now + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"))
    lasting = _need(w, quantity=500)  # not similar to the first, so no duplicate warning

    w.clock.now += timedelta(hours=3)  # the expiry sweep has not run yet
    assert w.core.store.posts.get(dated.id).status.value == "open"

    assert all(board == {lasting.id} for board in _board(w))  # no reader calls it open


def test_closed_needs_are_open_nowhere(w):
    closed = _need(w)
    kept = _need(w, quantity=7)
    post_lifecycle.close_post(w.core, w.coordinators["Houston Food Bank"], PostKind.NEED, closed.ref)

    assert all(board == {kept.id} for board in _board(w))
