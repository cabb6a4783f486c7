"""/audit and /config show name what they show: orgs, events, places, channels and roles, never raw ids."""

from __future__ import annotations

import re

import discord

from tests.e2e.matching_helpers import post_need, ready_world

RAW_ID = re.compile(r"(org|event|place|channel_id|role_id)=\S*\d|<#\d+>|<@&\d+>|gn:\d+")


async def test_audit_shows_names_of_orgs_events_places_and_channels(world):
    await ready_world(world, members=("alice",))
    await post_need(world, world.alice, quantity=10, urgency="high")

    shown = await world.admin.slash(world.general, "audit")

    text = shown.response.embeds[0].description
    assert "Houston Food Bank" in text and "Hurricane Delta" in text
    assert "Houston, Texas" in text  # the need's place, stored as a gazetteer key
    assert "#needs" in text and "#matches" in text  # /config channel, stored as channel ids
    assert not RAW_ID.search(text), RAW_ID.search(text)


async def test_audit_names_survive_hostile_names_as_plain_text(world):
    await ready_world(world, members=())
    await world.alice.slash(
        world.general, "org register", name="[Verify](https://evil.example) **Relief**", sectors="food",
        location="Houston", contact="ops@example.org",
    )  # fmt: skip

    text = (await world.admin.slash(world.general, "audit")).response.embeds[0].description

    assert r"\[Verify\](https://evil.example) \*\*Relief\*\*" in text
    assert "[Verify](" not in text


async def test_config_show_names_channels_and_the_alert_role(world):
    responders = world.guild.create_role("Responders", permissions=discord.Permissions.none())
    await ready_world(world, members=())
    await world.admin.slash(world.general, "config alert-role", role=responders)

    shown = await world.admin.slash(world.general, "config show")

    values = "\n".join(f.value for f in shown.response.embeds[0].fields)
    assert "#needs" in values and "#log" in values and "@Responders" in values
    assert not RAW_ID.search(values), values
