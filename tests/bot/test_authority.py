"""The core's side of authority at the moment of action: who may act, who learns a contact, what a closed event ends."""

from __future__ import annotations

import pytest

from bot.errors import Conflict, Forbidden
from bot.models import Actor, MatchStatus
from bot.services import events, matches, post_lifecycle, posts
from tests.e2e.matching_helpers import ADMIN, core_world


@pytest.fixture
def w(new_database):
    world = core_world(new_database("coalesce"))
    world.add_org("Houston Food Bank", 11)
    world.add_org("Baytown Relief", 12, location="Baytown")
    return world


def propose(w) -> int:
    posts.post_need(
        w.core, w.coordinators["Houston Food Bank"], sector="wash", item="bottled water", quantity=100,
        location="Houston", urgency="high",
    )  # fmt: skip
    found = posts.post_offer(
        w.core, w.coordinators["Baytown Relief"], sector="wash", item="bottled water", quantity=60, location="Baytown"
    )
    return found.proposals[0].match.id


def commit(w) -> int:
    match_id = propose(w)
    matches.accept_match(w.core, w.coordinators["Houston Food Bank"], match_id)
    matches.accept_match(w.core, w.coordinators["Baytown Relief"], match_id)
    return match_id


def reveal(w, match_id: int, *, in_server: bool = True):
    """What Houston's coordinator (user 11) would be sent of Baytown's contact."""
    baytown = w.orgs["Baytown Relief"].id
    return matches.contact_reveal(w.core, match_id, baytown, recipient_id=11, in_server=in_server)


def withheld_reasons(w) -> list[str]:
    return [e.detail["reason"] for e in w.core.store.audit.recent(1, limit=50) if e.action == "contact.withheld"]


@pytest.mark.parametrize("guild_id", [0, -1])
def test_an_actor_without_a_server_forms_no_coalition(w, guild_id):
    before = w.core.store.coalitions.all()
    stray = Actor(user_id=99, guild_id=guild_id, name="stray", is_admin=True)

    for act in (
        lambda: w.core.coalition_of(stray),
        lambda: events.open_event(w.core, stray, name="Storm"),
        lambda: post_lifecycle.list_posts(w.core, stray, posts.PostKind.NEED),
    ):
        with pytest.raises(Forbidden, match="server channel"):
            act()
    assert w.core.store.coalitions.all() == before


def test_the_contact_leaves_for_a_recipient_who_still_qualifies(w):
    match_id = commit(w)

    sent = reveal(w, match_id)

    assert sent is not None and sent.partner.name == "Baytown Relief" and withheld_reasons(w) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda w, m: None, "left_server"),
        (lambda w, m: w.core.store.orgs.remove_member(w.orgs["Houston Food Bank"].id, 11), "left_org"),
        (
            lambda w, m: w.core.store.db.execute(
                "UPDATE orgs SET status = 'pending' WHERE id = ?", [w.orgs["Houston Food Bank"].id]
            ),
            "org_not_verified",
        ),
        (lambda w, m: events.close_event(w.core, ADMIN, None), "event_closed"),
        (lambda w, m: matches.cancel_match(w.core, w.coordinators["Baytown Relief"], m), "match_ended"),
    ],
    ids=["left_server", "left_org", "org_not_verified", "event_closed", "match_ended"],
)
def test_the_contact_is_withheld_once_the_recipient_no_longer_qualifies(w, change, reason):
    match_id = commit(w)
    change(w, match_id)

    assert reveal(w, match_id, in_server=reason != "left_server") is None
    assert withheld_reasons(w) == [reason]


def test_a_closed_event_ends_every_open_proposal_and_none_can_commit(w):
    match_id = propose(w)
    matches.accept_match(w.core, w.coordinators["Houston Food Bank"], match_id)

    events.close_event(w.core, ADMIN, None)

    assert w.core.store.matches.get(match_id).status is MatchStatus.LAPSED
    with pytest.raises(Conflict):
        matches.accept_match(w.core, w.coordinators["Baytown Relief"], match_id)
    assert w.core.store.posts.get(1).remaining == 100
    assert not list(w.core.store.db.query("SELECT * FROM outbox WHERE kind = 'contact_reveal'"))


def test_a_proposal_of_an_event_closed_under_it_cannot_commit(w):
    # The race the lapse closes: an event closed by a path that left a proposal open.
    match_id = propose(w)
    w.core.store.events.close(1, 1, w.clock())

    with pytest.raises(Conflict, match="closed"):
        matches.accept_match(w.core, w.coordinators["Houston Food Bank"], match_id)
    assert w.core.store.matches.get(match_id).need_accepted_by is None


def test_a_coordinator_of_an_org_no_longer_verified_acts_for_nobody(w):
    match_id = propose(w)
    w.core.store.db.execute("UPDATE orgs SET status = 'pending' WHERE id = ?", [w.orgs["Houston Food Bank"].id])

    with pytest.raises(Forbidden, match="verified"):
        matches.accept_match(w.core, w.coordinators["Houston Food Bank"], match_id)
