"""Follow-through on the bot's own clock: freshness prompts, time-outs, nudges, two-party delivery, standby.

These bots run their timers (``scheduler=True``) and keep discord.py's clock, so
``env.advance_time`` moves every deadline and wakes the housekeeping timer the way
real time would.
"""

from __future__ import annotations

import pytest

from bot.app import create_bot
from cogs.dispatcher import dispatcher_of
from tests.e2e.matching_helpers import (
    ACCEPT,
    DELIVERED,
    button,
    buttons,
    match_message,
    post_need,
    post_offer,
    ready_world,
)

HOUR = 3600
# A simulated day is a few hundred timer steps; on a busy machine that can take longer than the default 5 s.
pytestmark = pytest.mark.simcord(settle_timeout=60)


@pytest.fixture
def make_bot(database):
    def build():
        return create_bot(database, scheduler=True)

    return build


@pytest.fixture(autouse=True)
def without_outbox_poll(simcord_env):
    """Stop the outbox's one-second retry poll: it would make each simulated hour 3,600 steps.

    Nothing here needs a retry, and every command, click and sweep starts delivery itself.
    """
    dispatcher_of(simcord_env.bot).poll.cancel()


async def restart(world, make_bot) -> None:
    await world.env.restart_bot(make_bot())
    dispatcher_of(world.env.bot).poll.cancel()


def dm_text(member) -> str:
    channel = member.user.dm_channel
    return channel.last_message.content if channel and channel.last_message else ""


def dms(member) -> list:
    channel = member.user.dm_channel
    return list(channel.history()) if channel else []


async def listing(world, kind: str = "need") -> str:
    result = await world.dave.slash(world.general, f"{kind} list")
    return result.response.embeds[0].description or ""


async def test_a_critical_need_unanswered_is_asked_then_unconfirmed_and_still_needed_restores_it(world):
    await ready_world(world, members=("alice",))
    await post_need(world, world.alice, quantity=500, urgency="critical")

    await world.env.advance_time(12 * HOUR - 60)
    assert "Do these still stand" not in dm_text(world.alice)
    await world.env.advance_time(60)

    prompt = world.alice.user.dm_channel.last_message
    assert "Do these still stand" in prompt.content and "N-1" in prompt.content
    assert [b.label for b in buttons(prompt)] == ["Still needed", "Change quantity", "Close"]
    assert "unconfirmed" not in await listing(world)

    await world.env.advance_time(12 * HOUR)

    assert "unconfirmed since" in await listing(world)
    answered = await world.alice.user.click(prompt, custom_id="coalesce:fresh:need:1:confirm")
    assert "confirmed" in answered.response.content
    assert "unconfirmed" not in await listing(world)


async def test_several_due_posts_share_one_prompt_and_prompts_come_at_most_hourly(world):
    await ready_world(world, members=("alice",))
    for quantity in (10, 30, 90):  # a factor of three apart: three needs, not duplicates of one
        await post_need(world, world.alice, quantity=quantity, urgency="critical")
    await world.env.advance_time(12 * HOUR)
    prompts = [m for m in dms(world.alice) if "Do these still stand" in m.content]
    assert len(prompts) == 1
    assert all(ref in prompts[0].content for ref in ("N-1", "N-2", "N-3"))
    assert len(buttons(prompts[0])) == 9

    await post_need(world, world.alice, quantity=270, urgency="critical")
    await world.env.advance_time(12 * HOUR - 30 * 60)  # N-4 falls due 30 min after the first prompt's hour is over
    await world.env.advance_time(30 * 60)
    later = [m for m in dms(world.alice) if "Do these still stand" in m.content]
    assert len(later) == 2 and "N-4" in later[1].content


async def test_change_quantity_from_the_prompt_confirms_and_keeps_what_is_pledged(world):
    await ready_world(world, members=("alice",))
    await post_need(world, world.alice, quantity=500, urgency="critical")
    await world.env.advance_time(12 * HOUR)
    prompt = world.alice.user.dm_channel.last_message

    form = await world.alice.user.click(prompt, custom_id="coalesce:fresh:need:1:quantity")
    refused = await world.alice.user.submit_modal(form, {"quantity": "zero"})
    assert refused.ephemeral and "whole number" in refused.response.content
    form = await world.alice.user.click(prompt, custom_id="coalesce:fresh:need:1:quantity")
    changed = await world.alice.user.submit_modal(form, {"quantity": "320"})

    assert "320" in changed.response.content
    assert "320 bottles" in await listing(world)


async def test_a_freshness_prompt_works_after_a_restart_and_the_grace_survives_it(world, make_bot):
    await ready_world(world, members=("alice",))
    await post_need(world, world.alice, quantity=500, urgency="critical")
    await world.env.advance_time(6 * HOUR)
    await restart(world, make_bot)  # mid-window: the timer is rebuilt from the database
    await world.env.advance_time(6 * HOUR)
    prompt = world.alice.user.dm_channel.last_message
    assert "Do these still stand" in prompt.content

    await restart(world, make_bot)  # mid-grace
    await world.env.advance_time(12 * HOUR)
    assert "unconfirmed since" in await listing(world)
    closed = await world.alice.user.click(prompt, custom_id="coalesce:fresh:need:1:close")
    assert "Closed N-1" in closed.response.content
    assert "N-1" not in await listing(world)


async def test_a_proposal_nobody_answers_for_two_hours_goes_to_the_next_best_offer(world, database):
    await ready_world(world)
    # One proposal at a time per post, so the next-best offer waits for its turn.
    await world.env.restart_bot(create_bot(database, scheduler=True, proposals_per_post=1))
    dispatcher_of(world.env.bot).poll.cancel()
    await post_offer(world, world.bob, quantity=300, location="Baytown")
    await post_offer(world, world.carol, quantity=300, location="Galveston")
    await post_need(world, world.alice, quantity=300, urgency="critical")
    assert "O-1" in str(match_message(world, "M-1").embeds[0].to_dict())
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    await world.env.advance_time(1 * HOUR)
    await world.env.restart_bot(create_bot(database, scheduler=True, proposals_per_post=1))  # mid-window
    dispatcher_of(world.env.bot).poll.cancel()
    await world.env.advance_time(1 * HOUR)

    assert "lapsed" in match_message(world, "M-1").embeds[0].title
    assert "expired" in dm_text(world.bob) and "M-1" in dm_text(world.bob)
    assert any("M-1" in m.content and "expired" in m.content for m in dms(world.alice))
    handed_on = match_message(world, "M-2")
    assert "O-2" in str(handed_on.embeds[0].to_dict()) and "proposed" in handed_on.embeds[0].title
    # Never proposed again: nothing else pairs Baytown's offer with the need.
    assert not [m for m in world.channels["matches"].history() if "**M-3**" in m.content]


async def test_a_committed_match_is_nudged_then_escalated_and_a_critical_need_is_handed_off(world, make_bot):
    await ready_world(world)
    await post_need(world, world.alice, quantity=300, urgency="critical")
    await post_offer(world, world.bob, quantity=300, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await post_offer(world, world.carol, quantity=300, location="Galveston")  # standby: the need is covered

    await world.env.advance_time(6 * HOUR)

    nudge = world.bob.user.dm_channel.last_message
    assert "has no delivery report" in nudge.content
    assert [b.label for b in buttons(nudge)] == ["Delivered", "Still on the way", "Cancel"]
    assert "has no delivery report" in dm_text(world.alice)

    await world.env.advance_time(3 * HOUR)
    await restart(world, make_bot)  # mid-window: the second lapse is still kept by the database
    await world.env.advance_time(3 * HOUR)

    log = world.channels["log"].last_message.content
    assert "M-1" in log and "no delivery report after a reminder" in log and "M-2" in log
    handoff = match_message(world, "M-2")
    assert (
        "300 bottles" in str(handoff.embeds[0].to_dict()) and "committed" in match_message(world, "M-1").embeds[0].title
    )
    await world.alice.click(handoff, custom_id=button(2, ACCEPT))
    await world.carol.click(match_message(world, "M-2"), custom_id=button(2, ACCEPT))

    assert "committed" in match_message(world, "M-2").embeds[0].title
    assert "cancelled" in match_message(world, "M-1").embeds[0].title


async def test_still_on_the_way_postpones_the_next_reminder_by_twelve_hours(world):
    await ready_world(world, members=("alice", "bob"))
    await post_need(world, world.alice, quantity=100, urgency="normal")
    await post_offer(world, world.bob, quantity=100, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.env.advance_time(24 * HOUR)
    nudge = world.bob.user.dm_channel.last_message

    await world.bob.user.click(nudge, custom_id="coalesce:onway:1")
    await world.env.advance_time(12 * HOUR - 60)
    assert not world.channels["log"].last_message or "M-1" not in world.channels["log"].last_message.content
    await world.env.advance_time(60)
    assert "has no delivery report" in world.bob.user.dm_channel.last_message.content


async def test_delivered_by_the_offer_side_is_reported_and_received_with_less_returns_the_rest(world):
    await ready_world(world, members=("alice", "bob"))
    await post_need(world, world.alice, quantity=300, urgency="high")
    await post_offer(world, world.bob, quantity=300, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, DELIVERED))

    assert "reported delivered" in match_message(world, "M-1").embeds[0].title
    report = world.alice.user.dm_channel.last_message
    assert "reports **M-1** delivered" in report.content
    assert [b.label for b in buttons(report)] == ["Received"]
    listed = await world.dave.slash(world.general, "match list")
    assert "reported delivered" in listed.response.embeds[0].description
    wrong_side = await world.bob.click(match_message(world, "M-1"), custom_id="coalesce:received:1")
    refused = await world.bob.submit_modal(wrong_side, {"quantity": "300"})
    assert "Only coordinators of Houston Food Bank" in refused.response.content

    form = await world.alice.user.click(report, custom_id="coalesce:received:1")
    done = await world.alice.user.submit_modal(form, {"quantity": "250"})

    assert "delivered" in done.response.content and "250" in done.response.content
    assert "delivered" in match_message(world, "M-1").embeds[0].title
    assert "50 bottles not received are open again on O-2" in dm_text(world.bob)
    needs = await listing(world)
    assert "50 left" in needs
    offers = await listing(world, "offer")
    assert "50 left" in offers


async def test_delivered_pressed_by_the_need_side_closes_it_at_once(world):
    await ready_world(world, members=("alice", "bob"))
    await post_need(world, world.alice, quantity=100, urgency="high")
    await post_offer(world, world.bob, quantity=100, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    done = await world.alice.click(match_message(world, "M-1"), custom_id=button(1, DELIVERED))

    assert "is delivered" in done.response.content
    assert "delivered" in match_message(world, "M-1").embeds[0].title


async def test_an_offer_nobody_needs_stands_by_unannounced_and_is_proposed_when_a_need_arrives(world):
    await ready_world(world, members=("alice", "bob"))

    offered = await post_offer(world, world.bob, quantity=200, location="Baytown")

    assert "standby" in offered.response.content and "please don't ship it unasked" in offered.response.content
    assert world.channels["offers"].last_message is None
    await post_need(world, world.alice, quantity=100, urgency="high")
    assert "O-1" in str(match_message(world, "M-1").embeds[0].to_dict())


async def test_the_digest_asks_donors_to_hold_what_is_offered_beyond_open_needs(world):
    await ready_world(world, members=("alice", "bob"))
    await post_offer(world, world.bob, quantity=200, location="Baytown")
    await post_need(world, world.alice, quantity=50, urgency="high")

    posted = await world.alice.slash(world.general, "digest now")

    assert not posted.ephemeral
    fields = {f.name: f.value for f in world.general.last_message.embeds[0].fields}
    hold = fields["Please don't send unless asked"]
    assert "Bottled water" in hold and "150 bottles more offered than needed" in hold
