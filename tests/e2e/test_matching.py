"""A need meets an offer: proposal, acceptance by both sides, contacts by DM, delivery."""

from __future__ import annotations

from tests.e2e.matching_helpers import (
    ACCEPT,
    DELIVERED,
    ORGS,
    button,
    buttons,
    match_message,
    post_need,
    post_offer,
    ready_world,
)

CONTACTS = {name: contact for name, (_, _, contact) in ORGS.items()}


async def test_need_and_offer_match_commit_reveal_contacts_and_deliver(world):
    await ready_world(world)
    need = await post_need(world, world.alice, quantity=500, urgency="critical")
    assert "N-1" in need.response.content

    offer = await post_offer(world, world.bob, quantity=300, location="Baytown")

    assert "O-2" in offer.response.content
    proposal = match_message(world, "M-1")
    assert world.alice.mention in proposal.content and world.bob.mention in proposal.content
    assert {b.label for b in buttons(proposal)} == {"Accept", "Decline"}

    first = await world.alice.click(proposal, custom_id=button(1, ACCEPT))
    assert first.ephemeral and "commits as soon as" in first.response.content
    assert "waiting for Baytown Relief" in _status(match_message(world, "M-1"))

    second = await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    assert second.ephemeral and "committed" in second.response.content
    assert CONTACTS["bob"] in world.alice.user.dm_channel.last_message.content
    assert CONTACTS["alice"] in world.bob.user.dm_channel.last_message.content
    committed = match_message(world, "M-1")
    assert "committed" in committed.embeds[0].title
    assert {b.label for b in buttons(committed)} == {"Delivered", "Cancel"}
    listed = await world.dave.slash(world.general, "need list")
    assert "200 left" in listed.response.embeds[0].description

    await post_offer(world, world.carol, quantity=250, location="Galveston")

    rematch = match_message(world, "M-2")
    assert "N-1" in rematch.embeds[0].fields[0].name and "200 bottles" in rematch.embeds[0].fields[2].value

    reported = await world.bob.click(match_message(world, "M-1"), custom_id=button(1, DELIVERED))

    assert reported.ephemeral and "reported delivered" in reported.response.content
    assert {b.label for b in buttons(match_message(world, "M-1"))} == {"Received", "Cancel"}
    form = await world.alice.click(match_message(world, "M-1"), custom_id="coalesce:received:1")
    done = await world.alice.submit_modal(form, {"quantity": "300"})

    assert done.ephemeral and "delivered" in done.response.content
    delivered = match_message(world, "M-1")
    assert "delivered" in delivered.embeds[0].title and not buttons(delivered)


async def test_contacts_never_appear_in_a_channel(world):
    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="high")
    await post_offer(world, world.bob, quantity=100, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    for channel in [world.general, *world.channels.values()]:
        for message in channel.history():
            rendered = message.content + str([e.to_dict() for e in message.embeds])
            assert not any(contact in rendered for contact in CONTACTS.values())


async def test_new_posts_are_announced_with_the_city_only(world):
    await ready_world(world)

    await post_need(world, world.alice, quantity=500, urgency="critical", notes="Shelter at the high school")

    announced = world.channels["needs"].last_message.embeds[0]
    assert announced.title.startswith("N-1 · Need: Bottled water")
    assert "Houston, Texas, US" in announced.description
    assert CONTACTS["alice"] not in str(announced.to_dict())
    assert "N-1" in world.channels["alerts"].last_message.content


async def test_buttons_keep_working_after_a_restart(world, make_bot):
    await ready_world(world)
    await post_need(world, world.alice, quantity=80, urgency="normal")
    await post_offer(world, world.bob, quantity=50, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    await world.env.restart_bot(make_bot())

    result = await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    assert result.ephemeral and "committed" in result.response.content
    assert "committed" in match_message(world, "M-1").embeds[0].title
    assert CONTACTS["alice"] in world.bob.user.dm_channel.last_message.content


async def test_decline_ends_the_proposal_and_the_need_is_matched_again(world):
    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="critical")  # reaches Galveston at once
    await post_offer(world, world.bob, quantity=100, location="Baytown")
    await post_offer(world, world.carol, quantity=100, location="Galveston")
    # The need had one proposal per offer; declining Baytown's leaves Galveston's standing.

    declined = await world.alice.click(match_message(world, "M-1"), custom_id=button(1, "decline"))

    assert declined.ephemeral and "declined" in declined.response.content
    assert "declined" in match_message(world, "M-1").embeds[0].title
    assert not buttons(match_message(world, "M-1"))
    assert "proposed" in match_message(world, "M-2").embeds[0].title


async def test_cancel_releases_the_reservation(world):
    await ready_world(world)
    await post_need(world, world.alice, quantity=100, urgency="normal")
    await post_offer(world, world.bob, quantity=60, location="Baytown")
    await world.alice.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))

    cancelled = await world.alice.click(match_message(world, "M-1"), custom_id=button(1, "cancel"))

    assert cancelled.ephemeral and "cancelled" in cancelled.response.content
    listed = await world.dave.slash(world.general, "need list")
    assert "100 bottles" in listed.response.embeds[0].description
    assert "left" not in listed.response.embeds[0].description
    assert "cancelled" in world.bob.user.dm_channel.last_message.content


def _status(message) -> str:
    return next(f.value for f in message.embeds[0].fields if f.name == "Status")


async def test_without_a_matches_channel_proposals_reach_both_sides_by_dm_and_work_there(world):
    await ready_world(world, members=("alice", "bob"))
    # A server that never set a matches channel: the row is gone, as if /config channel had not been run.
    world.env.bot.core.store.db.execute("DELETE FROM channels WHERE kind = 'matches'")
    await post_need(world, world.alice, quantity=100, urgency="high")

    offered = await post_offer(world, world.bob, quantity=100, location="Baytown")

    assert "on the proposal sent to them by DM" in offered.response.content
    alice_dm = world.alice.user.dm_channel.last_message
    bob_dm = world.bob.user.dm_channel.last_message
    assert "**M-1**" in alice_dm.content and "**M-1**" in bob_dm.content
    await world.alice.user.click(alice_dm, custom_id=button(1, ACCEPT))
    accepted = await world.bob.user.click(bob_dm, custom_id=button(1, ACCEPT))

    assert "committed" in accepted.response.content
    proposal_now = next(m for m in world.alice.user.dm_channel.history() if "**M-1**" in m.content)
    assert "committed" in proposal_now.embeds[0].title
    assert ORGS["bob"][2] in world.alice.user.dm_channel.last_message.content


async def test_a_need_past_its_date_expires_on_the_sweep_and_its_poster_hears_of_it(world, clock):
    await ready_world(world, members=("alice", "bob"))
    await post_need(world, world.alice, quantity=100, urgency="high", needed_by="2026-12-02")
    clock.advance(days=2)

    swept = await world.env.bot.get_cog("Housekeeping").sweep()
    await world.env.settle()

    assert swept.expired == 1
    assert "expired" in world.alice.user.dm_channel.last_message.content
    listed = await world.dave.slash(world.general, "need list")
    assert "N-1" not in (listed.response.embeds[0].description or "")
