"""Follow-through in the core, on a real SQLite file: time-outs, hand-offs, receipts, freshness steps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import Forbidden, InvalidInput
from bot.models import MatchStatus, PostKind
from bot.services import delivery, freshness, matches, posts, timeouts
from tests.e2e.matching_helpers import core_world


@pytest.fixture
def world(new_database):
    world = core_world(new_database("coalesce"), proposals_per_post=1)
    for name, user_id, place in (
        ("Food Bank", 11, "Houston"),
        ("Baytown", 12, "Baytown"),
        ("Galveston", 13, "Galveston"),
    ):
        world.add_org(name, user_id, location=place)
    yield world
    world.core.store.close()


def need(world, quantity=300, urgency="critical"):
    return posts.post_need(
        world.core, world.coordinators["Food Bank"], sector="wash", item="bottled water", quantity=quantity,
        location="Houston", urgency=urgency,
    ).post  # fmt: skip


def offer(world, org, quantity=300, place="Baytown"):
    return posts.post_offer(
        world.core, world.coordinators[org], sector="wash", item="bottled water", quantity=quantity, location=place
    ).post


def commit(world, match_id):
    card = matches.match_card(world.core, match_id)
    for org in ("Food Bank", "Baytown", "Galveston"):
        if world.orgs[org].id in (card.need_org.id, card.offer_org.id):
            matches.accept_match(world.core, world.coordinators[org], match_id)
    return matches.match_card(world.core, match_id)


def sweep_after(world, hours):
    world.clock.now += timedelta(hours=hours)
    return timeouts.sweep(world.core, world.clock.now)


def balance(world, post_id):
    post = world.core.store.posts.get(post_id)
    store = world.core.store.matches
    return post.quantity - post.remaining - store.committed_total(post_id) - store.delivered_total(post_id)


def test_a_stalled_critical_commitment_is_handed_off_and_the_need_is_never_covered_twice(world):
    wanted = need(world)
    first = offer(world, "Baytown")
    stalled = commit(world, 1)
    assert stalled.match.status is MatchStatus.COMMITTED
    # Posted once the need was covered: on standby, never paired with it, so free to take the hand-off.
    second = offer(world, "Galveston", place="Galveston")

    assert sweep_after(world, 6).nudged == 1
    assert sweep_after(world, 6).escalated == 1

    hand_off = world.core.store.matches.replacing(1)
    assert len(hand_off) == 1 and hand_off[0].offer_id == second.id
    assert world.core.store.posts.get(wanted.id).remaining == 0  # still reserved by the stalled commitment
    card = commit(world, hand_off[0].id)
    assert card.match.status is MatchStatus.COMMITTED and card.match.quantity == 300
    assert world.core.store.matches.get(1).status is MatchStatus.CANCELLED
    assert world.core.store.posts.get(first.id).remaining == 300
    assert all(balance(world, p.id) == 0 for p in (wanted, first, second))


def test_a_hand_off_lapses_when_the_stalled_delivery_arrives_first(world):
    wanted = need(world)
    offer(world, "Baytown")
    commit(world, 1)
    offer(world, "Galveston", place="Galveston")
    sweep_after(world, 6)
    sweep_after(world, 6)
    delivery.receive(world.core, world.coordinators["Food Bank"], 1)

    late = commit(world, world.core.store.matches.replacing(1)[0].id)

    assert late.match.status is MatchStatus.LAPSED
    assert world.core.store.matches.get(1).status is MatchStatus.DELIVERED
    assert balance(world, wanted.id) == 0


@pytest.mark.parametrize("received", [1, 120, 299, 300])
def test_receiving_less_returns_exactly_the_difference_to_both_posts(world, received):
    wanted, given = need(world, urgency="high"), offer(world, "Baytown")
    commit(world, 1)
    delivery.report_delivered(world.core, world.coordinators["Baytown"], 1)

    done = delivery.receive(world.core, world.coordinators["Food Bank"], 1, str(received))

    assert done.match.status is MatchStatus.DELIVERED and done.match.quantity == received
    assert world.core.store.posts.get(wanted.id).remaining == 300 - received
    assert world.core.store.posts.get(given.id).remaining == 300 - received
    assert balance(world, wanted.id) == balance(world, given.id) == 0


@pytest.mark.parametrize("text", ["0", "301", "-5", "many", "1e3"])
def test_a_received_quantity_out_of_range_is_refused_and_changes_nothing(world, text):
    need(world, urgency="high")
    offer(world, "Baytown")
    commit(world, 1)

    with pytest.raises(InvalidInput):
        delivery.receive(world.core, world.coordinators["Food Bank"], 1, text)

    assert world.core.store.matches.get(1).status is MatchStatus.COMMITTED


def test_only_the_receiving_side_confirms_receipt(world):
    need(world, urgency="high")
    offer(world, "Baytown")
    commit(world, 1)

    with pytest.raises(Forbidden):
        delivery.receive(world.core, world.coordinators["Baytown"], 1)


def test_an_unanswered_proposal_expires_after_its_window_by_urgency(world):
    need(world, urgency="normal")
    offer(world, "Baytown")

    assert sweep_after(world, 23).expired == 0
    assert sweep_after(world, 1).expired == 1
    assert world.core.store.matches.get(1).status is MatchStatus.LAPSED


def test_freshness_asks_then_marks_unconfirmed_and_confirming_restores(world):
    post = need(world, urgency="high")
    world.clock.now += timedelta(hours=24)
    asked = freshness.sweep(world.core, world.clock.now)
    assert asked.asked == 1 and asked.prompts == 1
    world.clock.now += timedelta(hours=24)
    assert freshness.sweep(world.core, world.clock.now).unconfirmed == 1
    assert world.core.store.posts.get(post.id).unconfirmed_since == world.clock.now

    freshness.confirm_post(world.core, world.coordinators["Food Bank"], PostKind.NEED, post.id)

    assert world.core.store.posts.get(post.id).unconfirmed_since is None


def test_a_quantity_below_what_is_pledged_is_refused(world):
    wanted = need(world, urgency="high")
    offer(world, "Baytown", quantity=200)
    commit(world, 1)

    with pytest.raises(InvalidInput):
        freshness.change_quantity(world.core, world.coordinators["Food Bank"], PostKind.NEED, wanted.id, "150")
    changed = freshness.change_quantity(world.core, world.coordinators["Food Bank"], PostKind.NEED, wanted.id, "250")

    assert (changed.quantity, changed.remaining) == (250, 50)


def test_admins_set_freshness_windows_within_bounds(world):
    from tests.e2e.matching_helpers import ADMIN

    windows = freshness.set_freshness_windows(world.core, ADMIN, {"critical": 6, "low": None})
    assert windows.hours[next(u for u in windows.hours if u.value == "critical")] == 6
    with pytest.raises(InvalidInput):
        freshness.set_freshness_windows(world.core, ADMIN, {"high": 0})
    with pytest.raises(Forbidden):
        freshness.set_freshness_windows(world.core, world.coordinators["Food Bank"], {"high": 3})
