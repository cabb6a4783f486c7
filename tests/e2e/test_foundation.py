"""Setting a server up, as its admin and its coordinators would."""

from __future__ import annotations

from tests.conftest import assert_refused


async def configure_channels(world) -> None:
    for kind, channel in world.channels.items():
        result = await world.admin.slash(world.general, "config channel", kind=kind, channel=channel)
        assert result.ephemeral


async def test_admin_configures_channels_and_config_show_lists_them(world):
    await configure_channels(world)

    shown = await world.admin.slash(world.general, "config show")

    assert shown.ephemeral
    embed = shown.response.embeds[0]
    channels_field = next(f for f in embed.fields if f.name == "Channels")
    assert "**matches**: #matches" in channels_field.value  # names, not ids
    assert "**log**: #log" in channels_field.value


async def register(world, member, name="Houston Food Bank", **options):
    values = {
        "name": name,
        "sectors": "food, wash",
        "location": "Houston",
        "contact": "+1 713 555 0100, ops@example.org",
    }
    values.update(options)
    return await member.slash(world.general, "org register", **values)


async def test_coordinator_registers_org_and_it_starts_pending(world):
    result = await register(world, world.alice)

    assert result.ephemeral
    assert "pending" in result.response.content
    listed = await world.bob.slash(world.general, "org list")
    assert "Houston Food Bank" in listed.response.embeds[0].description
    assert "⏳" in listed.response.embeds[0].description


async def test_non_admin_cannot_verify_an_org(world):
    await register(world, world.alice)

    refused = await world.bob.slash(world.general, "org verify", org="Houston Food Bank")

    assert_refused(world.env, refused, "Manage Server")
    listed = await world.bob.slash(world.general, "org list", status="verified")
    assert "Houston Food Bank" not in listed.response.embeds[0].description


async def test_admin_verifies_org_and_its_coordinator_hears_by_dm(world):
    await register(world, world.alice)

    result = await world.admin.slash(world.general, "org verify", org="Houston Food Bank")

    assert not result.ephemeral
    assert "verified" in result.response.content
    dm = world.alice.user.dm_channel.last_message
    assert "now verified" in dm.content


async def test_org_info_never_shows_the_contact(world):
    await register(world, world.alice)
    await world.admin.slash(world.general, "org verify", org="Houston Food Bank")

    info = await world.bob.slash(world.general, "org info", org="Houston Food Bank")

    rendered = str(info.response.embeds[0].to_dict())
    assert "Houston Food Bank" in rendered
    assert "555" not in rendered and "ops@example.org" not in rendered
    for channel in [world.general, *world.channels.values()]:
        for message in channel.history():
            assert "ops@example.org" not in message.content


async def test_config_survives_a_restart(world, make_bot):
    await world.admin.slash(world.general, "config channel", kind="digest", channel=world.channels["digest"])
    await world.admin.slash(world.general, "config digest", times="20:00, 7:30", timezone="America/Chicago")

    await world.env.restart_bot(make_bot())

    shown = await world.admin.slash(world.general, "config show")
    fields = {f.name: f.value for f in shown.response.embeds[0].fields}
    assert fields["Digests"] == "07:30, 20:00 (America/Chicago)"
    assert "**digest**: #digest" in fields["Channels"]


async def test_registration_is_announced_to_admins_in_the_log_channel(world):
    await world.admin.slash(world.general, "config channel", kind="log", channel=world.channels["log"])

    await register(world, world.alice)

    note = world.channels["log"].last_message
    assert "awaiting verification" in note.content and "Houston Food Bank" in note.content
    assert "ops@example.org" not in note.content


async def test_critical_needs_alert_the_role_admins_chose_and_ping_nobody_else(world):
    from tests.e2e.matching_helpers import post_need, ready_world

    await ready_world(world, members=("alice",))
    responders = world.guild.create_role("Responders")
    result = await world.admin.slash(world.general, "config alert-role", role=responders)
    assert result.ephemeral and f"<@&{responders.id}>" in result.response.content

    await post_need(world, world.alice, quantity=500, urgency="critical")

    alert = world.channels["alerts"].last_message
    assert alert.content.startswith(f"<@&{responders.id}>") and "Critical need N-1" in alert.content
    sent = [r for r in world.env.http_requests if r.path == f"/channels/{world.channels['alerts'].id}/messages"]
    mentions = sent[-1].json["allowed_mentions"]
    assert mentions["parse"] == [] and [int(r) for r in mentions["roles"]] == [responders.id]
    shown = await world.admin.slash(world.general, "config show")
    assert "@Responders" in str(shown.response.embeds[0].to_dict())


async def test_alerts_never_ping_everyone(world):
    refused = await world.admin.slash(world.general, "config alert-role", role=world.guild.default_role)

    assert_refused(world.env, refused, "never ping @everyone")
