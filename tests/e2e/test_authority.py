"""Authority is checked when a click or command arrives, not when the proposal was sent.

A coordinator who left the server or the org acts for nobody and learns no
contact; a closed event commits nothing; a crafted request (a button the message
never carried, a guild-only command sent from a DM) is refused by the bot itself,
names no other coalition's orgs, and creates nothing.
"""

from __future__ import annotations

import logging

import discord
import pytest

from bot.app import is_guild_only
from bot.models import MatchStatus
from cogs.dispatcher import dispatcher_of
from cogs.dispatcher_policy import backoff_seconds
from tests.conftest import assert_refused
from tests.e2e.forgery import forged_click, forged_dm_command, leaf_paths
from tests.e2e.matching_helpers import ACCEPT, ORGS, button, match_message, post_need, post_offer, ready_world

CONTACTS = {name: contact for name, (_, _, contact) in ORGS.items()}


def core_of(world):
    return world.env.bot.core


def match_status(world, match_id: int = 1) -> MatchStatus:
    return core_of(world).store.matches.get(match_id).status


def contact_dms(world, member) -> list[str]:
    return [m.content for m in member.user.dm_channel.history() if "Contact for" in m.content]


async def proposed_by_dm(world):
    """Alice's need and Bob's offer, proposed to both by DM (no matches channel)."""
    await ready_world(world, members=("alice", "bob"))
    core_of(world).store.db.execute("DELETE FROM channels WHERE kind = 'matches'")
    await post_need(world, world.alice, quantity=100, urgency="high")
    await post_offer(world, world.bob, quantity=100, location="Baytown")
    return world.alice.user.dm_channel.last_message, world.bob.user.dm_channel.last_message


async def proposed_in_channel(world):
    await ready_world(world, members=("alice", "bob"))
    await post_need(world, world.alice, quantity=100, urgency="high")
    await post_offer(world, world.bob, quantity=100, location="Baytown")
    return match_message(world, "M-1")


# --- at the moment of the click -----------------------------------------------------------------------------


async def test_a_coordinator_removed_from_the_server_cannot_accept_by_dm_nor_get_the_contact(world):
    alice_dm, bob_dm = await proposed_by_dm(world)
    await world.bob.user.click(bob_dm, custom_id=button(1, ACCEPT))
    world.guild.remove_member(world.alice)

    refused = await world.alice.user.click(alice_dm, custom_id=button(1, ACCEPT))

    assert refused.ephemeral and "no longer in a server" in refused.response.content
    assert match_status(world) is MatchStatus.PROPOSED
    assert contact_dms(world, world.alice) == [] and contact_dms(world, world.bob) == []


async def test_a_coordinator_still_in_the_server_accepts_by_dm(world):
    alice_dm, bob_dm = await proposed_by_dm(world)
    await world.bob.user.click(bob_dm, custom_id=button(1, ACCEPT))

    accepted = await world.alice.user.click(alice_dm, custom_id=button(1, ACCEPT))

    assert "committed" in accepted.response.content
    assert CONTACTS["bob"] in contact_dms(world, world.alice)[0]


@pytest.mark.parametrize("where", ["channel", "dm"])
async def test_a_coordinator_removed_from_the_org_cannot_accept(world, where):
    if where == "dm":
        message, _ = await proposed_by_dm(world)
        click = world.alice.user.click
    else:
        message = await proposed_in_channel(world)
        click = world.alice.click
    org = core_of(world).store.orgs.by_name(1, ORGS["alice"][0])
    core_of(world).store.orgs.remove_member(org.id, world.alice.id)

    refused = await click(message, custom_id=button(1, ACCEPT))

    assert refused.ephemeral and "Only coordinators of" in refused.response.content
    assert core_of(world).store.matches.get(1).need_accepted_by is None


async def test_a_contact_queued_for_someone_who_then_left_the_server_is_withheld(world, clock):
    message = await proposed_in_channel(world)
    await world.alice.slash(world.general, "org add-member", member=world.carol)
    carol_dm = world.carol.user.dm_channel
    world.env.inject_error("POST", f"/channels/{carol_dm.id}/messages", status=503, times=1)
    await world.alice.click(message, custom_id=button(1, ACCEPT))
    await world.bob.click(match_message(world, "M-1"), custom_id=button(1, ACCEPT))
    assert CONTACTS["bob"] in contact_dms(world, world.alice)[0]
    assert contact_dms(world, world.carol) == []  # the first try failed; the row waits for its retry

    world.guild.remove_member(world.carol)
    clock.advance(seconds=backoff_seconds(0))
    await dispatcher_of(world.env.bot).deliver_due()
    await world.env.settle()

    assert contact_dms(world, world.carol) == []
    withheld = list(core_of(world).store.db.query("SELECT * FROM audit_log WHERE action = 'contact.withheld'"))
    assert [row["subject"] for row in withheld] == ["match:1"]
    assert '"left_server"' in withheld[0]["detail"]
    pending = core_of(world).store.db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()
    assert pending[0] == 0


async def test_closing_an_event_ends_its_open_proposals_and_nothing_of_it_commits(world):
    message = await proposed_in_channel(world)
    await world.alice.click(message, custom_id=button(1, ACCEPT))
    event = core_of(world).store.events.open_by_name(1, "Hurricane Delta")

    closed = await world.admin.slash(world.general, "event close", event=str(event.id))

    assert not closed.ephemeral
    assert match_status(world) is MatchStatus.LAPSED
    shown = match_message(world, "M-1")
    assert "lapsed" in shown.embeds[0].title and not shown.components
    late = await forged_click(world.bob, shown, button(1, ACCEPT))
    assert late.ephemeral
    assert match_status(world) is MatchStatus.LAPSED
    assert contact_dms(world, world.alice) == [] and contact_dms(world, world.bob) == []
    assert core_of(world).store.posts.get(1).remaining == 100


# --- forged requests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "custom_id",
    [
        "coalesce:match:2:accept",  # a real-looking id of a match the message does not show
        "coalesce:match:99999999999999999999:accept",
        f"coalesce:match:{2**63}:accept",
        "coalesce:match:²:accept",
        "coalesce:match:٣:decline",
        "coalesce:match:-1:accept",
        "coalesce:match:1:deliver",  # an action the proposal does not offer
    ],
)
async def test_a_button_the_message_never_carried_is_refused_and_changes_nothing(world, caplog, custom_id):
    message = await proposed_in_channel(world)
    caplog.set_level(logging.INFO)

    refused = await forged_click(world.alice, message, custom_id)

    assert refused.ephemeral and "not on this message" in refused.response.content
    assert match_status(world) is MatchStatus.PROPOSED
    assert core_of(world).store.matches.get(1).need_accepted_by is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("outcome=refused reason=forged_button" in r.getMessage() for r in caplog.records)


async def test_a_dm_click_on_another_coalitions_match_names_none_of_its_orgs(world):
    # Coalition A (the world's server) has a DM proposal for Alice; coalition B's match M-2 is another server's.
    alice_dm, _ = await proposed_by_dm(world)
    other = world.env.create_guild("Bayou Mutual Aid")
    room = other.create_text_channel("general")
    admins = other.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    boss = other.add_member(world.env.create_user("boss"), roles=[admins])
    erin, frank = (other.add_member(world.env.create_user(name)) for name in ("erin", "frank"))
    for member, name, place in ((erin, "Bayou Kitchen", "Lake Charles"), (frank, "Cajun Navy Depot", "Lafayette")):
        await member.slash(room, "org register", name=name, sectors="wash", location=place, contact="x@example.org")
        await boss.slash(room, "org verify", org=name)
    await boss.slash(room, "event open", name="Flood Echo", location="Lake Charles")
    await erin.slash(room, "need post", sector="wash", item="bottled water", quantity=5, location="Lake Charles",
                     urgency="critical")  # fmt: skip
    await frank.slash(room, "offer post", sector="wash", item="bottled water", quantity=5, location="Lafayette")
    store = core_of(world).store
    foreign_match = store.matches.get(2)
    assert foreign_match is not None and foreign_match.coalition_id != store.matches.get(1).coalition_id

    for custom_id in (button(2, ACCEPT), button(2, "decline"), button(1, "decline") + "x"):
        refused = await forged_click(world.alice.user, alice_dm, custom_id)
        assert refused.ephemeral, custom_id
        assert "Bayou" not in refused.response.content and "Cajun" not in refused.response.content
    assert match_status(world, 2) is MatchStatus.PROPOSED and match_status(world, 1) is MatchStatus.PROPOSED


async def test_every_guild_only_command_sent_from_a_dm_is_refused_and_forms_no_coalition(world):
    await ready_world(world, members=("alice",))
    store = core_of(world).store
    coalitions = store.coalitions.all()
    stranger = world.env.create_user("stranger")
    paths = leaf_paths(world.env.bot)
    assert ("audit",) in paths and ("status",) in paths and ("org", "register") in paths

    for path in paths:
        for user in (world.alice.user, world.admin.user, stranger):
            refused = await forged_dm_command(world.env, user, path)
            assert_refused(world.env, refused, "server channel")

    assert store.coalitions.all() == coalitions
    assert not any(c.name.startswith("Server ") for c in store.coalitions.all())


def test_every_command_is_declared_for_servers_only(simcord_bot):
    for command in simcord_bot.tree.walk_commands():
        assert is_guild_only(command), command.qualified_name


async def test_refusals_and_clicks_are_logged_with_a_reason_code_and_no_personal_data(world, caplog):
    message = await proposed_in_channel(world)
    caplog.set_level(logging.INFO, logger="coalesce")

    await world.dave.click(message, custom_id=button(1, ACCEPT))
    await world.alice.click(message, custom_id=button(1, ACCEPT))
    for typed in ("Nowhere [x](https://evil.example) Relief", "99999999999999999999", "²"):
        assert_refused(world.env, await world.dave.slash(world.general, "org info", org=typed), "No organisation")

    lines = [r.getMessage() for r in caplog.records if "outcome=" in r.getMessage()]
    assert any("button=match.accept" in line and "outcome=refused reason=forbidden" in line for line in lines)
    assert any("button=match.accept" in line and "outcome=ok reason=ok" in line for line in lines)
    assert sum("command=org info" in line and "outcome=refused reason=not_found" in line for line in lines) == 3
    for line in lines:
        for secret in (str(world.dave.id), str(world.alice.id), "evil.example", *CONTACTS.values()):
            assert secret not in line
