"""Who may post, close and answer a match, and what a post may say."""

from __future__ import annotations

import asyncio
import threading

import discord
import pytest

from tests.conftest import assert_refused
from tests.e2e.matching_helpers import ACCEPT, button, match_message, post_need, post_offer, ready_world


async def test_a_member_of_a_pending_org_cannot_post(world):
    await ready_world(world, members=("alice",))
    await world.dave.slash(
        world.general, "org register", name="Pending Org", sectors="wash", location="Houston", contact="x@example.org"
    )

    refused = await world.dave.slash(
        world.general, "need post", sector="wash", item="soap", quantity=5, location="Houston", urgency="low"
    )

    assert_refused(world.env, refused, "pending verification")
    listed = await world.dave.slash(world.general, "need list")
    assert "No open needs" in listed.response.embeds[0].description


async def test_someone_in_no_org_cannot_post(world):
    await ready_world(world, members=("alice",))

    refused = await world.dave.slash(
        world.general, "offer post", sector="wash", item="soap", quantity=5, location="Houston"
    )

    assert_refused(world.env, refused, "not a member", "/org register")


async def test_another_org_cannot_close_a_need(world):
    await ready_world(world, members=("alice", "bob"))
    await post_need(world, world.alice, quantity=10)

    refused = await world.bob.slash(world.general, "need close", id="N-1")

    assert_refused(world.env, refused, "Only coordinators of Houston Food Bank")
    closed = await world.alice.slash(world.general, "need close", id="N-1")
    assert "Closed need **N-1**" in closed.response.content


async def test_an_outsider_cannot_accept_a_match_for_an_org(world):
    await ready_world(world)
    await post_need(world, world.alice, quantity=10)
    await post_offer(world, world.bob, quantity=10, location="Baytown")

    outsider = await world.carol.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    assert outsider.ephemeral and "Only coordinators of" in outsider.response.content
    assert "Waiting for Houston Food Bank and Baytown Relief" in str(match_message(world, "M-1").embeds[0].to_dict())
    assert world.carol.user.dm_channel is None or "committed" not in world.carol.user.dm_channel.last_message.content


async def test_one_side_cannot_accept_twice_to_commit_alone(world):
    await ready_world(world)
    await post_need(world, world.alice, quantity=10)
    await post_offer(world, world.bob, quantity=10, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    again = await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    assert again.ephemeral and "already accepted" in again.response.content
    assert "proposed" in match_message(world, "M-1").embeds[0].title


async def test_notes_with_contact_details_are_refused(world):
    await ready_world(world, members=("alice",))

    refused = await world.alice.slash(
        world.general, "need post", sector="wash", item="soap", quantity=5, location="Houston", urgency="low",
        notes="Call me on +1 713 555 0100",
    )  # fmt: skip

    assert_refused(world.env, refused, "phone number", "shared privately")


async def test_a_need_for_another_kind_of_id_points_to_the_right_command(world):
    await ready_world(world, members=("alice", "bob"))
    await post_offer(world, world.bob, quantity=10, location="Baytown")

    refused = await world.bob.slash(world.general, "need close", id="O-1")

    assert_refused(world.env, refused, "/offer withdraw")


async def test_posting_too_fast_is_rate_limited(world, database, clock):
    from bot.app import create_bot

    await world.env.restart_bot(create_bot(database, clock=clock, scheduler=False, post_rate_limit=2, ops_port=0))
    await ready_world(world, members=("alice",))
    # Quantities far apart, so none looks like a duplicate of another.
    await post_need(world, world.alice, quantity=1)
    await post_need(world, world.alice, quantity=10)

    refused = await world.alice.slash(
        world.general, "need post", sector="wash", item="soap", quantity=3, location="Houston", urgency="low"
    )

    assert_refused(world.env, refused, "wait a few minutes")
    clock.advance(minutes=11)
    await post_need(world, world.alice, quantity=100)


@pytest.mark.parametrize("command", ["need post", "offer post"])
async def test_a_post_that_queued_behind_a_burst_is_acknowledged_at_once_and_answered_publicly(
    world, monkeypatch, command
):
    from tests.e2e.matching_helpers import ready_world

    await ready_world(world, members=("alice", "bob"))
    # As if the command had waited in a queue longer than the threshold: every post now counts as late.
    monkeypatch.setattr("cogs.common.BEHIND_S", -1.0)
    options = {"urgency": "high"} if command == "need post" else {}

    result = await world.alice.slash(
        world.general, command, sector="wash", item="soap", quantity=40, location="Houston", **options
    )

    assert result.deferred or result.acknowledged
    assert not result.ephemeral, "the confirmation is public under a burst as when idle"
    assert "Posted" in result.response.content
    assert result.response.message in world.general.history(), "everyone in the channel sees it"


@pytest.mark.parametrize("command", ["need post", "offer post"])
async def test_a_post_that_would_wait_behind_other_store_work_is_acknowledged_before_that_work_ends(world, command):
    """The store thread is held by earlier work (as under a burst, or a slow database): the post cannot know how
    long it will wait there, so it acknowledges at once and its confirmation follows, public as ever."""
    await ready_world(world, members=("alice", "bob"))
    core = world.env.bot.core
    released = threading.Event()
    holding = asyncio.ensure_future(core.run(released.wait))
    seen = len(world.env.http_requests)
    started = discord.utils.utcnow()
    options = {"urgency": "high"} if command == "need post" else {}
    posting = asyncio.ensure_future(
        world.alice.slash(
            world.general, command, sector="wash", item="soap", quantity=40, location="Houston", **options
        )
    )
    try:
        # The acknowledgement reaches Discord while the store thread is still held: nothing else could send it.
        while not any(r.path.endswith("/callback") for r in world.env.http_requests[seen:]):
            assert not posting.done()
            await asyncio.sleep(0)
        callback = next(r for r in world.env.http_requests[seen:] if r.path.endswith("/callback"))
        assert callback.json["type"] == 5, "a deferred answer (thinking), sent before the post was stored"
        assert not callback.json.get("data", {}).get("flags"), "not ephemeral: the post's confirmation is public"
        assert discord.utils.utcnow() == started, "at once, not when a timer ran out"
    finally:
        released.set()
    result = await posting
    await holding

    assert not result.ephemeral
    assert "Posted" in result.response.content
    assert result.response.message in world.general.history(), "everyone in the channel sees it"
    assert not world.env.errors


@pytest.mark.parametrize("behind_s", [-1.0, 10.0])
async def test_a_refusal_stays_private_with_or_without_an_early_acknowledgement(world, monkeypatch, behind_s):
    from tests.e2e.matching_helpers import ready_world

    await ready_world(world, members=("alice",))
    monkeypatch.setattr("cogs.common.BEHIND_S", behind_s)
    before = len(world.general.history())

    result = await world.dave.slash(
        world.general, "need post", sector="wash", item="soap", quantity=40, location="Houston", urgency="high"
    )

    answer = result.followups[-1] if result.followups else result.response
    assert answer.ephemeral and "not a member" in answer.content
    assert len(world.general.history()) == before, "no public trace: not even the acknowledgement"
    assert not world.env.errors
