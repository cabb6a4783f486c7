"""An event opening: a DM to the coordinators of each verified org nearby, once, and a notice in every server."""

from __future__ import annotations

from tests.conftest import assert_refused
from tests.e2e.federation_helpers import Server, configure, federate, register, server

OPENED = "opened"


def dms(member) -> list[str]:
    channel = member.user.dm_channel
    return [m.content for m in channel.history()] if channel is not None else []


def event_dms(member, name: str = "Hurricane Delta") -> list[str]:
    return [text for text in dms(member) if f"**{name}** {OPENED}" in text]


async def orgs_near_and_far(world):
    """alice's org in Houston, bob's in Baytown (35 km away), carol's in Dallas (360 km away); dave's pending."""
    place = server_of(world)
    await configure(place)
    await register(place, world.alice, "Houston Food Bank", "Houston", "a@example.org")
    await register(place, world.bob, "Baytown Relief", "Baytown", "b@example.org")
    await register(place, world.carol, "Dallas Aid", "Dallas", "c@example.org")
    await register(place, world.dave, "Pending Pantry", "Houston", "d@example.org", verify=False)


def server_of(world) -> Server:
    return Server(world.guild, world.general, world.channels, world.admin)


async def test_opening_an_event_dms_the_coordinators_of_verified_orgs_within_its_radius(world):
    await orgs_near_and_far(world)

    await world.admin.slash(world.general, "event open", name="Hurricane Delta", location="Houston", radius_km=100)

    [to_alice] = event_dms(world.alice)
    assert "0 km from Houston Food Bank" in to_alice and "/need post" in to_alice and "/offer post" in to_alice
    [to_bob] = event_dms(world.bob)
    assert "km from Baytown Relief" in to_bob
    assert event_dms(world.carol) == [] and event_dms(world.dave) == []


async def test_an_org_that_turned_alerts_off_gets_no_dm(world):
    await orgs_near_and_far(world)

    turned_off = await world.bob.slash(world.general, "org alerts", state="off")
    await world.admin.slash(world.general, "event open", name="Hurricane Delta", location="Houston", radius_km=100)

    assert turned_off.ephemeral and "no longer" in turned_off.response.content
    assert len(event_dms(world.alice)) == 1 and event_dms(world.bob) == []
    await world.bob.slash(world.general, "org alerts", state="on")
    await world.admin.slash(world.general, "event open", name="Tropical Storm Echo", location="Baytown", radius_km=100)
    assert len(event_dms(world.bob, "Tropical Storm Echo")) == 1


async def test_opening_the_same_event_again_sends_no_second_dm(world):
    await orgs_near_and_far(world)
    await world.admin.slash(world.general, "event open", name="Hurricane Delta", location="Houston", radius_km=100)

    again = await world.admin.slash(world.general, "event open", name="Hurricane Delta", location="Houston")
    await world.admin.slash(world.general, "event close", event="Hurricane Delta")
    reopened = await world.admin.slash(world.general, "event open", name="hurricane  delta", location="Houston")

    assert_refused(world.env, again, "already exists")
    assert not reopened.ephemeral
    assert len(event_dms(world.alice)) == 1 and len(event_dms(world.bob)) == 1


async def test_an_event_without_a_place_dms_nobody(world):
    await orgs_near_and_far(world)

    await world.admin.slash(world.general, "event open", name="Hurricane Delta")

    assert event_dms(world.alice) == [] and event_dms(world.bob) == []
    assert "Event opened: **Hurricane Delta**" in world.channels["alerts"].last_message.content


async def test_every_member_servers_alerts_channel_announces_the_event(simcord_env):
    env = simcord_env
    a, b, c = server(env, "Houston Hub"), server(env, "Baytown Base"), server(env, "Corpus Camp")
    bob = b.guild.add_member(env.create_user("bob"))
    for place in (a, b, c):
        await configure(place)
    await federate(a, b)
    await register(b, bob, "Baytown Relief", "Baytown", "b@example.org")

    await a.admin.slash(a.general, "event open", name="Hurricane Delta", location="Houston", radius_km=100)

    for place in (a, b):
        assert "Event opened: **Hurricane Delta**" in place.channels["alerts"].last_message.content
    assert c.channels["alerts"].last_message is None
    [to_bob] = event_dms(bob)
    assert "Baytown Relief" in to_bob
